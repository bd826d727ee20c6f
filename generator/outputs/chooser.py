"""``/index.html``: a language chooser that works without JavaScript.

A tiny inline script, first in the page, sends a first-time visitor to the language
their browser prefers (or the one they chose before) before anything else is
requested: the stylesheet is added by that script only when the visitor stays (or by
``<noscript>``), and the logo loads lazily. Everyone else gets plain links under a
heading in every language of the site.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from generator.config import SiteConfig
from generator.deps import digest
from generator.model import Site
from generator.render import Job
from generator.views import base_context, home_path


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    lang = site.config.default_language
    if site.config.default_language_at_root:
        return  # the default language's home is at /: no chooser
    yield Job("index.html", "page", lang, "chooser.html", partial(_context, site, assets),
              key=digest("chooser", site.frames[lang]))


@dataclass(frozen=True, slots=True)
class Heading:
    """The chooser's heading in one language: the site's title there."""

    code: str
    direction: str
    name: str


def _context(site: Site, assets: Mapping[str, str]) -> dict:
    config = site.config
    default = config.language(config.default_language)
    versions = {code: home_path(config, code) for code in config.language_codes}
    context = base_context(site, assets, config.default_language, title=config.title,
                           description=config.description or default.description,
                           site_path="/", versions=versions)
    context["x_default"] = context["canonical"]
    context["targets"] = {alt.code: alt.url for alt in context["alternates"]}
    context["headings"] = headings(config)
    return context


def headings(config: SiteConfig) -> tuple[Heading, ...]:
    """The heading in every language, each once (a language without a title of its own
    shares the site's)."""
    found: dict[str, Heading] = {}
    for language in config.languages:
        name = language.title or config.title
        found.setdefault(name, Heading(language.code, language.direction, name))
    return tuple(found.values())
