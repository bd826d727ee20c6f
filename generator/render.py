"""Render phase: jobs become bytes, with one Jinja2 environment per language.

A job carries everything its template needs in its context; templates never
reach for data behind the engine's back, which is what makes the output
deterministic and lets renders run in parallel worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.ext import i18n as I18nExtension

from generator import i18n
from generator.config import SiteConfig
from generator.errors import Problem, error
from generator.model import EMPTY

PARALLEL_THRESHOLD = 400  # below this, forking costs more than it saves


@dataclass(frozen=True, slots=True)
class Job:
    """One output file: a template with its context, bytes, or a file to copy."""

    path: str  # relative to the output folder, '/'-separated
    kind: str
    lang: str | None = None
    template: str = ""
    context: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    data: bytes | None = None
    source: Path | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    path: str
    kind: str
    data: bytes


class Renderer:
    """Jinja2 environments for a theme, one per language (catalogs differ)."""

    def __init__(self, config: SiteConfig, filters: Mapping[str, Callable] = EMPTY) -> None:
        self.config = config
        self.templates = config.theme_dir / "templates"
        self.filters = filters
        self._environments: dict[str, jinja2.Environment] = {}

    def environment(self, lang: str | None) -> jinja2.Environment:
        code = lang or self.config.default_language
        if code not in self._environments:
            self._environments[code] = self._make_environment(code)
        return self._environments[code]

    def _make_environment(self, code: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.templates),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=[I18nExtension],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.install_gettext_translations(  # type: ignore[attr-defined]
            i18n.translations_for(self.config.locales_dir, code), newstyle=True
        )
        env.filters["date"] = lambda value, style="long": i18n.localised_date(value, code, style)
        env.filters["datetime"] = lambda value, style="long": i18n.localised_datetime(
            value, code, style)
        env.filters["number"] = lambda value: i18n.localised_number(value, code)
        env.filters.update(self.filters)
        return env

    def render(self, job: Job) -> bytes:
        if job.data is not None:
            return job.data
        if job.source is not None:
            return job.source.read_bytes()
        template = self.environment(job.lang).get_template(job.template)
        return template.render(job.context).encode("utf-8")


def render_all(renderer: Renderer, jobs: Sequence[Job],
               workers: int) -> tuple[list[Rendered], list[Problem]]:
    """Render every job, in worker processes when there are enough to pay for it."""
    if workers > 1 and len(jobs) >= PARALLEL_THRESHOLD and _can_fork():
        return _render_parallel(renderer, jobs, workers)
    return _render_range(renderer, jobs, 0, len(jobs))


def _render_range(renderer: Renderer, jobs: Sequence[Job], start: int,
                  stop: int) -> tuple[list[Rendered], list[Problem]]:
    rendered, problems = [], []
    for job in jobs[start:stop]:
        try:
            rendered.append(Rendered(job.path, job.kind, renderer.render(job)))
        except Exception as exc:
            problems.append(template_problem(renderer.templates, job, exc))
    return rendered, problems


_SHARED: tuple[Renderer, Sequence[Job]] | None = None


def _render_chunk(bounds: tuple[int, int]) -> tuple[list[Rendered], list[Problem]]:
    assert _SHARED is not None
    renderer, jobs = _SHARED
    return _render_range(renderer, jobs, *bounds)


def _render_parallel(renderer: Renderer, jobs: Sequence[Job],
                     workers: int) -> tuple[list[Rendered], list[Problem]]:
    global _SHARED
    _SHARED = (renderer, jobs)
    size = max(50, len(jobs) // (workers * 8))
    chunks = [(start, min(start + size, len(jobs))) for start in range(0, len(jobs), size)]
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_render_chunk, chunks)
    finally:
        _SHARED = None
    rendered = [item for part, _ in results for item in part]
    problems = [problem for _, part in results for problem in part]
    return rendered, problems


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and os.name == "posix"


def template_problem(templates: Path, job: Job, exc: Exception) -> Problem:
    """Name the template file and line that failed, not the generator's code."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = Path(exc.filename) if exc.filename else templates / (exc.name or job.template)
        return error(where, exc.lineno, f"template syntax error: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return error(templates / job.template, None,
                     f"template not found: {exc.name} (needed for {job.path})")
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(str(templates))]
    if frames:
        frame = frames[-1]
        return error(Path(frame.filename), frame.lineno,
                     f"{type(exc).__name__}: {exc} (rendering {job.path})")
    return error(templates / job.template if job.template else None, None,
                 f"{type(exc).__name__}: {exc} (rendering {job.path})")
