"""The pipeline: load → link → plan → render → write, each phase timed.

An error in any phase before *write* stops the build with every problem found
in that phase, and leaves the previous output untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from generator import i18n
from generator.config import SiteConfig
from generator.errors import Problem, error, raise_if_errors
from generator.link import link_site
from generator.load import load_site
from generator.model import Site
from generator.outputs import KINDS
from generator.outputs.static import theme_assets
from generator.render import Job, Renderer, render_all
from generator.write import WriteStats, write_output


@dataclass(frozen=True, slots=True)
class BuildResult:
    site: Site
    stats: WriteStats
    counts: dict[str, int]
    warnings: tuple[Problem, ...]
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self, seconds: float, output: Path) -> str:
        per_lang = ", ".join(f"{lang} {len(self.site.articles.get(lang, ()))}"
                             for lang in self.site.config.language_codes)
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return (f"Built {len(self.site.pages)} pages (articles: {per_lang}); {kinds}; "
                f"{self.stats.written} written, {self.stats.unchanged} unchanged, "
                f"{self.stats.removed} removed in {seconds:.2f} s → {output}")


def build(config: SiteConfig, output: Path, *, jobs: int | None = None,
          log: Callable[[str], None] | None = None) -> BuildResult:
    """Build the site into ``output``; raise ``SiteError`` with every problem found."""
    timings: dict[str, float] = {}
    with _phase("load", timings):
        loaded = load_site(config)
        raise_if_errors(list(loaded.problems))
    with _phase("link", timings):
        site, problems = link_site(config, loaded.pages, loaded.assets)
        raise_if_errors(problems)
    with _phase("plan", timings):
        planned = plan(site)
    with _phase("render", timings):
        renderer = Renderer(config)
        rendered, problems = render_all(renderer, planned, jobs or os.cpu_count() or 1)
        raise_if_errors(problems)
    with _phase("write", timings):
        stats = write_output(rendered, output)
    counts: dict[str, int] = {}
    for job in planned:
        counts[job.kind] = counts.get(job.kind, 0) + 1
    warnings = (*loaded.problems, *i18n.missing_translations(config))
    if log:
        log(" ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items()))
    return BuildResult(site, stats, counts, tuple(warnings), timings)


def plan(site: Site) -> list[Job]:
    """Every output file of the site; two jobs claiming one path stop the build."""
    assets = theme_assets(site.config)
    jobs = [job for kind in KINDS for job in kind.plan(site, assets)]
    owners: dict[str, Job] = {}
    problems = []
    for job in jobs:
        other = owners.setdefault(job.path, job)
        if other is not job:
            problems.append(error(_job_source(site, job), 1,
                                  f"output {job.path} is produced twice ({other.kind} and "
                                  f"{job.kind}); rename the page, section or tag"))
    raise_if_errors(problems)
    return jobs


def _job_source(site: Site, job: Job) -> Path | None:
    if job.source is not None:
        return job.source
    page = job.context.get("page") if job.context else None
    if page is not None and page.id in site.pages:
        return site.pages[page.id].source
    return None


@contextmanager
def _phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start
