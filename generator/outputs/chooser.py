"""``/index.html``: a language chooser that works without JavaScript.

A tiny inline script sends a first-time visitor to the language their browser
prefers (or the one they chose before); everyone else gets plain links.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

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


def _context(site: Site, assets: Mapping[str, str]) -> dict:
    config = site.config
    versions = {code: home_path(config, code) for code in config.language_codes}
    context = base_context(site, assets, config.default_language, title=config.title,
                           description=config.description, site_path="/", versions=versions)
    context["x_default"] = context["canonical"]
    context["targets"] = {alt.code: alt.url for alt in context["alternates"]}
    return context
