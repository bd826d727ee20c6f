"""Articles and static pages: one HTML file per Markdown source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

from generator import imaging
from generator.deps import remembered_digest
from generator.model import Page, Site
from generator.render import Job
from generator.views import base_context, page_view, ref_path


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    for page in site.pages.values():
        if has_output(page):
            yield page_job(site, assets, page)


def has_output(page: Page) -> bool:
    """Whether the page has a file of its own (not an introduction, nor headless)."""
    return page.kind != "section" and page.render


def showing(site: Site, assets: Mapping[str, str], pages: tuple[Page, ...]) -> Iterator[Job]:
    """The edited pages' own outputs (``generator.delta``: the outputs that show them)."""
    for page in pages:
        if has_output(page):
            yield page_job(site, assets, page)


def page_job(site: Site, assets: Mapping[str, str], page: Page) -> Job:
    """The job of one page (the offline worker names the keys of those it saves)."""
    group = site.versions[page.translation_key]
    refs = tuple(ref_path(site, *ref) for ref in page.refs)  # where its links lead
    key = remembered_digest("page", site.frames[page.lang], site.keys[page.id], group,
                            imaging.pictures_key(site.config, page), refs)
    return Job(page.output_path, "page", page.lang, _template(page),
               partial(page_context, site, assets, page, group), key=key)


def page_context(site: Site, assets: Mapping[str, str], page: Page,
                 group: tuple[tuple[str, str], ...]) -> dict:
    versions = dict(group)
    context = base_context(site, assets, page.lang, title=page.title, description=page.summary,
                           site_path=page.path, versions=versions, page=page)
    context["page"] = page_view(site, page)
    if page.noindex:
        context["noindex"] = True
    return context


def _template(page: Page) -> str:
    return "article.html" if page.kind == "article" else "page.html"
