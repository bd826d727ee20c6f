"""Lists of articles: language homes, sections and tags, paginated; the tag index."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from generator.deps import digest, joined, remembered_digest_with
from generator.model import Page, Site, quick_maker, url_to_output_path
from generator.render import Job
from generator.views import (
    NO_MARKUP,
    LazyMarkup,
    Link,
    ListingView,
    Pager,
    absolute,
    base_context,
    breadcrumbs,
    content_html,
    home_path,
    made,
    page_views,
    section_intro,
    section_path,
    section_title,
    tag_name,
    tag_path,
    term_name,
    term_path,
    url,
)


@dataclass(frozen=True, slots=True)
class Listing:
    """One paginated list in one language."""

    lang: str
    kind: str  # "home", "section" or "tag"
    key: str  # section or tag key; "" for a home
    title: str
    base_path: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TagCount:
    name: str
    url: str
    count: int


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    groups = _groups(site)
    size = site.config.paginate
    planned: list[tuple[tuple[str, ...], Job]] = []
    for listing in (item for group in groups.values() for item in group.values()):
        pages = _pages(listing.ids, size)
        siblings = {lang: (other.base_path, _page_count(other.ids, size))
                    for lang, other in _siblings(groups, listing).items()}
        for number, ids in enumerate(pages, 1):
            versions = {lang: _page_path(base, number)
                        for lang, (base, count) in siblings.items() if number <= count}
            planned.append((ids, _job(site, assets, listing, number, len(pages), ids, versions)))
    yield from _newest_first(site, planned)
    for lang in site.config.language_codes:
        yield _tag_index(site, assets, lang)


def _newest_first(site: Site, planned: list[tuple[tuple[str, ...], Job]]) -> list[Job]:
    """List pages in the order of the newest story each shows: a story's lists (its home,
    section and tags) are then rendered close together, and a render worker makes its
    view once, not once per list (``views.page_view`` keeps only the newest made)."""
    def newest(ids: tuple[str, ...]) -> float:
        date = site.pages[ids[0]].date if ids else None
        return -date.timestamp() if date is not None else math.inf

    return [job for _ids, job in sorted(planned, key=lambda item: newest(item[0]))]


def showing(site: Site, assets: Mapping[str, str], pages: tuple[Page, ...]) -> Iterator[Job]:
    """The list pages the edited pages are on (``generator.delta``), as ``plan`` makes
    them: found by position in each list, nothing else planned."""
    ids = [page.id for page in pages]
    size = site.config.paginate
    shown = languages_listing(site, {page.lang for page in pages})
    for group in _groups(site).values():
        for listing in group.values():
            if listing.lang not in shown:
                continue  # (a look through its list: 20,000 ids a language at 100,000)
            numbers = sorted({listing.ids.index(pid) // size + 1 for pid in ids
                              if pid in listing.ids})
            if not numbers:
                continue
            siblings = {lang: (other.base_path, _page_count(other.ids, size))
                        for lang, other in group.items()}
            total = _page_count(listing.ids, size)
            for number in numbers:
                versions = {lang: _page_path(base, number)
                            for lang, (base, count) in siblings.items() if number <= count}
                yield _job(site, assets, listing, number, total,
                           listing.ids[(number - 1) * size:number * size], versions)


def languages_listing(site: Site, langs: set[str]) -> set[str]:
    """The languages whose lists may hold stories of ``langs``: theirs, and those that
    fall back to one of them (``link._listed``)."""
    config = site.config
    return {code for code in config.language_codes
            if code in langs or not langs.isdisjoint(config.language(code).fallback)}


def listings_of(site: Site) -> list[Listing]:
    """Every listing of the site (page one of each), for the sitemap."""
    return [item for group in _groups(site).values() for item in group.values()]


def _groups(site: Site) -> dict[tuple[str, str], dict[str, Listing]]:
    """Listings keyed by (kind, key), then language: a group is one listing's translations."""
    config = site.config
    groups: dict[tuple[str, str], dict[str, Listing]] = {}

    def add(listing: Listing) -> None:
        groups.setdefault((listing.kind, listing.key), {})[listing.lang] = listing

    for lang in config.language_codes:
        language = config.language(lang)
        listed = site.listed.get(lang, {})
        add(Listing(lang, "home", "", language.title or config.title, home_path(config, lang),
                    listed.get("", ())))
        for section, ids in listed.items():
            if section:
                add(Listing(lang, "section", section, section_title(site, lang, section),
                            section_path(config, lang, section), ids))
        for tag, ids in site.tags.get(lang, {}).items():
            add(Listing(lang, "tag", tag, tag_name(config, tag, lang), tag_path(config, lang, tag),
                        ids))
        for taxonomy, terms in site.terms.get(lang, {}).items():
            for term, ids in terms.items():
                add(Listing(lang, "term", f"{taxonomy}/{term}",
                            term_name(config, taxonomy, term, lang),
                            term_path(config, lang, taxonomy, term), ids))
    return groups


def _siblings(groups: Mapping[tuple[str, str], Mapping[str, Listing]],
              listing: Listing) -> Mapping[str, Listing]:
    return groups[(listing.kind, listing.key)]


def _pages(ids: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)] or [()]


def _page_count(ids: tuple[str, ...], size: int) -> int:
    return max(1, -(-len(ids) // size))


def _page_path(base_path: str, number: int) -> str:
    return base_path if number == 1 else f"{base_path}page/{number}/"


def _job(site: Site, assets: Mapping[str, str], listing: Listing, number: int, total: int,
         ids: tuple[str, ...], versions: Mapping[str, str]) -> Job:
    site_path = _page_path(listing.base_path, number)
    shown = joined(list(map(site.keys.__getitem__, ids)))  # each story's page_key
    key = remembered_digest_with(("listing", site.frames[listing.lang], listing.kind,
                                  listing.key, listing.title, number, total, len(listing.ids),
                                  len(ids), tuple(versions.items())), shown)
    context = partial(_listing_context, site, assets, listing, number, total, ids, versions)
    return _JOB(url_to_output_path(site_path), "listing", listing.lang, "list.html", context,
                key=key)


_JOB = quick_maker(Job)  # (a list page's job made a third as fast)


def _listing_context(site: Site, assets: Mapping[str, str], listing: Listing, number: int,
                     total: int, ids: tuple[str, ...], versions: Mapping[str, str]) -> dict:
    config = site.config
    site_path = _page_path(listing.base_path, number)
    intro = section_intro(site, listing.lang, listing.key) \
        if listing.kind in ("home", "section") else None
    description = (intro.description or intro.summary) if intro is not None else ""
    context = base_context(site, assets, listing.lang, title=listing.title,
                           description=description or config.language(listing.lang).description
                           or config.description,
                           site_path=site_path, versions=versions)
    if listing.kind == "home" and number == 1 and not config.default_language_at_root:
        context["x_default"] = absolute(config, "/")  # the language chooser
    items = page_views(site, ids)
    context["listing"] = ListingView(
        kind=listing.kind,
        title=listing.title,
        items=items,
        total=len(listing.ids),
        pager=_pager(site, listing.base_path, number, total),
        intro=LazyMarkup(partial(_intro_html, site, intro)) if intro is not None and number == 1
        else NO_MARKUP,
        description=intro.description if intro is not None else "",
        sections=_subsections(site, listing) if number == 1 and listing.kind in ("home", "section")
        else (),
        pages=_home_pages(site, listing) if listing.kind == "home" and not listing.ids else (),
        breadcrumbs=breadcrumbs(site, listing.lang, tuple(listing.key.split("/")[:-1]))
        if listing.kind == "section" and "/" in listing.key else (),
        dated=any(item.date for item in items) or listing.kind in ("tag", "term"),
    )
    return context


def _intro_html(site: Site, intro: Page) -> str:
    return content_html(site, intro)


def _subsections(site: Site, listing: Listing) -> tuple[Link, ...]:
    """A list's subsections (a home's: its top sections, when it has no dated story)."""
    if listing.kind == "home" and listing.ids:
        return ()
    config = site.config
    return tuple(Link(section_title(site, listing.lang, key, short=True),
                      url(config, section_path(config, listing.lang, key)))
                 for key in site.children.get(listing.lang, {}).get(listing.key, ()))


def _home_pages(site: Site, listing: Listing) -> tuple[Link, ...]:
    """A home's pages (about, contact…) when the site has no dated story to list."""
    return tuple(Link(page.link_title or page.title, url(site.config, page.path))
                 for page in (site.pages[pid] for pid in site.static_pages.get(listing.lang, ()))
                 if page.render)


def _pager(site: Site, base_path: str, number: int, total: int) -> Pager:
    """Previous/next plus a window of page links: first, last and two either side."""
    config = site.config
    shown = sorted({1, total, *range(max(1, number - 2), min(total, number + 2) + 1)})
    links = {n: url(config, _page_path(base_path, n)) for n in shown}  # (both neighbours too)
    return made(Pager, (
        number,
        total,
        links[number - 1] if number > 1 else "",  # previous_url
        links[number + 1] if number < total else "",  # next_url
        tuple(made(Link, (str(n), links[n], n == number, "")) for n in shown),  # pages
    ))


def _tag_index(site: Site, assets: Mapping[str, str], lang: str) -> Job:
    key = digest("tags", site.frames[lang],
                 tuple((tag, len(ids)) for tag, ids in site.tags.get(lang, {}).items()))
    return Job(f"{site.config.root_path(lang)}tags/index.html".lstrip("/"), "listing", lang,
               "tags.html",
               partial(_tag_index_context, site, assets, lang), key=key)


def _tag_index_context(site: Site, assets: Mapping[str, str], lang: str) -> dict:
    config = site.config
    site_path = f"{config.root_path(lang)}tags/"
    context = base_context(site, assets, lang, title="", description="", site_path=site_path,
                           versions={code: f"{config.root_path(code)}tags/"
                                     for code in config.language_codes})
    context["tags"] = tuple(
        TagCount(tag_name(config, tag, lang), url(config, tag_path(config, lang, tag)),
                 len(ids))
        for tag, ids in sorted(site.tags.get(lang, {}).items(),
                               key=lambda item: tag_name(config, item[0], lang).casefold())
    )
    return context
