"""Articles and static pages: one HTML file per Markdown source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from generator.model import Page, Site
from generator.render import Job
from generator.views import base_context, page_view


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    for page in site.pages.values():
        context = page_context(site, assets, page)
        yield Job(page.output_path, "page", page.lang, _template(page), context)


def page_context(site: Site, assets: Mapping[str, str], page: Page) -> dict:
    versions = {other.lang: other.path for other in site.translations_of(page)}
    context = base_context(site, assets, page.lang, title=page.title, description=page.summary,
                           site_path=page.path, versions=versions)
    context["page"] = page_view(site, page)
    return context


def _template(page: Page) -> str:
    return "article.html" if page.kind == "article" else "page.html"
