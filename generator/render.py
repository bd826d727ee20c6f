"""Render phase: jobs become bytes, with one Jinja2 environment per language.

A job carries everything its template needs in its context; templates never
reach for data behind the engine's back, which is what makes the output
deterministic and lets renders run in parallel worker processes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from jinja2.ext import i18n as I18nExtension

from generator import i18n
from generator.config import SiteConfig
from generator.errors import Problem, error
from generator.model import EMPTY
from generator.parallel import Progress, parallel_map

PARALLEL_THRESHOLD = 300  # below this, forking costs more than it saves


@dataclass(frozen=True, slots=True)
class Job:
    """One output file: a template with its context, bytes to make, or a file to copy.

    ``context`` may be a function, so planning costs nothing for outputs that turn out
    to be up to date; ``key`` digests everything the output depends on besides its
    template files and catalog (the build adds those), or is "" to always render.
    """

    path: str  # relative to the output folder, '/'-separated
    kind: str
    lang: str | None = None
    template: str = ""
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]] = field(
        default_factory=lambda: EMPTY)
    data: bytes | None = None
    source: Path | None = None
    produce: Callable[[], bytes] | None = None
    key: str = ""


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
        if job.produce is not None:
            return job.produce()
        if job.source is not None:
            return job.source.read_bytes()
        template = self.environment(job.lang).get_template(job.template)
        context = job.context() if callable(job.context) else job.context
        return template.render(context).encode("utf-8")


def render_all(renderer: Renderer, jobs: Sequence[Job], workers: int,
               progress: Progress | None = None) -> tuple[list[Rendered], list[Problem]]:
    """Render every job, in worker processes when there are enough to pay for it."""
    results = parallel_map(partial(_render_one, renderer), jobs, workers, PARALLEL_THRESHOLD,
                           progress)
    rendered = [item for item in results if isinstance(item, Rendered)]
    problems = [item for item in results if isinstance(item, Problem)]
    return rendered, problems


def _render_one(renderer: Renderer, job: Job) -> Rendered | Problem:
    try:
        return Rendered(job.path, job.kind, renderer.render(job))
    except Exception as exc:  # every failure becomes a reported problem
        return template_problem(renderer.templates, job, exc)


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
