"""A 404 page per language, and ``/404.html`` in the default language for static hosts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

from generator.deps import digest
from generator.model import Site
from generator.render import Job
from generator.views import base_context


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    config = site.config
    for lang in config.language_codes:
        yield _job(site, assets, lang, f"{config.root_path(lang)}404.html".lstrip("/"))
    if not config.default_language_at_root:  # else the default language's is at the root
        yield _job(site, assets, config.default_language, "404.html")


def _job(site: Site, assets: Mapping[str, str], lang: str, path: str) -> Job:
    return Job(path, "page", lang, "404.html", partial(_context, site, assets, lang),
               key=digest("404", site.frames[lang]))


def _context(site: Site, assets: Mapping[str, str], lang: str) -> dict:
    config = site.config
    versions = {code: f"{config.root_path(code)}404.html" for code in config.language_codes}
    context = base_context(site, assets, lang, title="", description="",
                           site_path=versions[lang], versions=versions)
    context["noindex"] = True
    return context
