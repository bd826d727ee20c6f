"""Articles and static pages: one HTML file per Markdown source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

from generator import imaging
from generator.deps import remembered_digest_of_repr
from generator.model import Page, Site, quick_maker, url_to_output_path
from generator.render import Job
from generator.views import base_context, derived, page_view, ref_path


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
    refs = tuple(ref_path(site, *ref) for ref in page.refs) if page.refs else ()
    # ``digest("page", frame, page_key, group, pictures, refs)`` (offline.json shows it),
    # its repr made with the group's, which the story's versions share (``_group_repr``)
    key = remembered_digest_of_repr(
        f"('page', {site.frames[page.lang]!r}, {site.keys[page.id]!r}, "
        f"{_group_repr(site, page.translation_key, group)}, "
        f"{imaging.pictures_key(site.config, page)!r}, {refs!r})")
    return _JOB(url_to_output_path(page.path), "page", page.lang, _template(page),
                partial(page_context, site, assets, page, group), key=key)


_JOB = quick_maker(Job)  # (a page's job made a third as fast)


def _group_repr(site: Site, translation_key: str, group: tuple[tuple[str, str], ...]) -> str:
    """``repr(group)``, made once for the story's versions."""
    made = derived(site, ("versions repr",), dict)
    found = made.get(translation_key)
    if found is None:
        found = made[translation_key] = repr(group)
    return found


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
