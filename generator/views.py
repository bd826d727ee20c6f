"""Read-only views handed to templates, built from the site's records.

Templates see only these: every value a page shows is here, so two builds with
the same views render the same bytes, and a view's digest says when to re-render.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache, partial
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

from babel.core import get_global
from markupsafe import Markup

from generator import i18n, imaging, shortcodes
from generator.config import Language, SiteConfig, _path_prefix
from generator.link import ref_target
from generator.model import Page, Site
from generator.sanitize import attribute


class Link(NamedTuple):
    """A labelled link; ``lang`` set when it leads to another language.

    The views a page's render makes are named tuples: immutable records like the
    frozen dataclasses elsewhere, made in C from their values (a frozen dataclass sets
    each field through ``object.__setattr__`` in Python: ~11 us for a page's view, a
    tenth of the views a page is given)."""

    name: str
    url: str
    current: bool = False
    lang: str = ""


class Alternate(NamedTuple):
    """One language version of the current page, for hreflang and the switcher."""

    code: str
    name: str
    url: str
    absolute: str
    direction: str
    current: bool


NO_MARKUP = Markup("")
# A named tuple made from a tuple of its values in C: its own ``__new__`` is a Python
# function (a page's render makes about fifteen: its alternates, share links, pager).
made = tuple.__new__
T = TypeVar("T")


class LazyMarkup:
    """Markup made the first time a template prints it: a listing hands its template
    a view of every item, and rarely shows their bodies or pictures."""

    __slots__ = ("_html", "_make")

    def __init__(self, make: Callable[[], str]) -> None:
        self._make: Callable[[], str] | None = make
        self._html = ""

    def __html__(self) -> str:
        if self._make is not None:
            self._html, self._make = self._make(), None
        return self._html

    __str__ = __html__

    def __bool__(self) -> bool:
        return bool(self.__html__())


class PageView(NamedTuple):
    id: str
    lang: str
    kind: str
    title: str
    url: str
    permalink: str
    date: datetime | None
    updated: datetime | None
    summary: str
    tags: tuple[Link, ...]
    section: Link | None
    content: Markup | LazyMarkup
    image_url: str
    image_alt: str
    image_width: int
    image_height: int
    draft: bool
    urgent: bool
    scheduled: bool = False
    hero: Markup | LazyMarkup = NO_MARKUP  # the front-matter image as a <picture>
    breadcrumbs: tuple[Link, ...] = ()  # the home and the sections the page is in
    link_title: str = ""  # the short title, for lists and menus
    params: Mapping[str, Any] | None = None  # the front matter newshub does not use itself
    appeal: bool = False  # an appeal for donations (``is_appeal``): its own look, a donate link


class Pager(NamedTuple):
    number: int
    total: int
    previous_url: str
    next_url: str
    pages: tuple[Link, ...]


class ListingView(NamedTuple):
    kind: str  # "home", "section" or "tag"
    title: str
    items: tuple[PageView, ...]
    total: int
    pager: Pager
    intro: Markup | LazyMarkup = NO_MARKUP  # the body of the section's _index.md
    description: str = ""
    sections: tuple[Link, ...] = ()  # its subsections (a home: the top sections)
    pages: tuple[Link, ...] = ()  # a home's pages when the site has no dated article
    breadcrumbs: tuple[Link, ...] = ()
    dated: bool = True  # whether its items are dated stories (then they are counted)


@dataclass(frozen=True, slots=True)
class SiteView:
    title: str
    description: str
    organisation: str
    logo_url: str
    logo_type: str  # the logo's media type, for the favicon link
    donate_url: str
    email: str
    social: tuple[Link, ...]
    brand_color: str
    base_url: str
    languages: tuple[Link, ...]


def url(config: SiteConfig, site_path: str) -> str:
    """A site path as a root-relative URL, with the base URL's prefix, percent-encoded."""
    return _url(config.base_url, site_path)


@lru_cache(maxsize=65536)
def _url(base_url: str, site_path: str) -> str:
    """``url()`` by the base URL (a site's ``path_prefix`` is a property made of it, a
    Python call for each of the ~15 addresses a page shows), remembered."""
    return _encoded(_path_prefix(base_url) + site_path)


def _encoded(path: str) -> str:
    return path if _URL_SAFE.fullmatch(path) else quote(path, safe="/#%:")


_URL_SAFE = re.compile(r"[A-Za-z0-9/._~#%:-]*")  # nothing to percent-encode


ROOT_RELATIVE = re.compile(r'(\s(?:href|src)=")/(?!/)')


def with_prefix(html: str, prefix: str) -> str:
    """Root-relative links written in Markdown (``/en/news/x/``) under the base URL's
    path prefix, so a site served from ``https://org.github.io/hub/`` keeps working."""
    if not prefix:
        return html
    written = attribute(prefix)
    return ROOT_RELATIVE.sub(lambda m: f"{m.group(1)}{written}/", html)


def absolute(config: SiteConfig, site_path: str) -> str:
    return config.origin + url(config, site_path)


def home_path(config: SiteConfig, lang: str) -> str:
    """A language's home: ``/fr/``, or ``/`` for a default language at the root."""
    return config.root_path(lang)


def search_path(config: SiteConfig, lang: str) -> str:
    """A language's search page (``outputs/search.py``): ``/fr/search/``."""
    return f"{config.root_path(lang)}search/"


def section_path(config: SiteConfig, lang: str, section: str) -> str:
    return f"{config.root_path(lang)}{section}/"


def tag_path(config: SiteConfig, lang: str, tag: str) -> str:
    return f"{config.root_path(lang)}tags/{tag_slug(config, tag, lang)}/"


def term_path(config: SiteConfig, lang: str, taxonomy: str, term: str) -> str:
    """A term's list, such as ``/en/categories/field-reports/``."""
    return f"{config.root_path(lang)}{taxonomy}/{_slug(term_name(config, taxonomy, term, lang))}/"


def term_name(config: SiteConfig, taxonomy: str, term: str, lang: str) -> str:
    names = config.taxonomy_names.get(taxonomy, {}).get(term, {})
    return names.get(lang) or term


def _slug(name: str) -> str:
    """A URL segment for a name: ASCII for Latin script (``Santé`` → ``sante``), the
    name itself otherwise (URLs carry it percent-encoded)."""
    if all(_latin(char) for char in name):
        folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "-"
    return re.sub(r"[\s/?#%]+", "-", name.strip()).strip("-") or "-"


def tag_slug(config: SiteConfig, tag: str, lang: str) -> str:
    """The tag's URL segment in a language: its name there, transliterated to ASCII when
    the name is in Latin script (``Santé`` → ``sante``), otherwise the key itself."""
    name = config.tag_names.get(tag, {}).get(lang, "")
    if not name or not all(_latin(char) for char in name):
        return tag
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or tag


def _latin(char: str) -> bool:
    return not char.isalpha() or "LATIN" in unicodedata.name(char, "")


def section_name(config: SiteConfig, section: str, lang: str) -> str:
    """A section's name from site.toml, else from its folder's name."""
    names = config.section_names.get(section, {})
    fallback = section.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return names.get(lang) or names.get(config.default_language) or \
        fallback[:1].upper() + fallback[1:]


def section_intro(site: Site, lang: str, section: str) -> Page | None:
    """The section's own page (its ``_index.md``), if it has one."""
    return site.pages.get(site.intros.get(lang, {}).get(section, ""))


def section_title(site: Site, lang: str, section: str, *, short: bool = False) -> str:
    """A section's title: its ``_index.md``'s (``linkTitle`` when ``short``), else its
    name in site.toml, else its folder's name."""
    intro = section_intro(site, lang, section)
    if intro is not None and intro.title:
        return (intro.link_title or intro.title) if short else intro.title
    return section_name(site.config, section, lang)


def _section_link(site: Site, lang: str, section: str) -> Link:
    return Link(section_title(site, lang, section, short=True),
                url(site.config, section_path(site.config, lang, section)))


def breadcrumbs(site: Site, lang: str, sections: tuple[str, ...]) -> tuple[Link, ...]:
    """The way from the language's home down to a section: home, then each section."""
    if not sections:
        return ()
    config = site.config
    home = Link(config.language(lang).title or config.title, url(config, home_path(config, lang)))
    return (home, *(_section_link(site, lang, "/".join(sections[:n]))
                    for n in range(1, len(sections) + 1)))


def tag_name(config: SiteConfig, tag: str, lang: str) -> str:
    names = config.tag_names.get(tag, {})
    return names.get(lang) or tag


def site_view(site: Site, language: Language) -> SiteView:
    config = site.config
    org = config.organisation
    return SiteView(
        title=language.title or config.title,
        description=language.description or config.description,
        organisation=org.name_in(language.code),
        logo_url=url(config, "/" + org.logo.lstrip("/")) if org.logo else "",
        logo_type=_media_type(org.logo) if org.logo else "image/svg+xml",
        donate_url=org.donate_url,
        email=org.email,
        social=tuple(Link(name, link) for name, link in org.social.items()),
        brand_color=config.brand_color,
        base_url=config.base_url,
        languages=tuple(Link(lang.name, url(config, home_path(config, lang.code)), lang=lang.code)
                        for lang in config.languages),
    )


VIEWS_KEPT = 4096  # the newest made; a worker rendering 50,000 pages keeps no more


def page_view(site: Site, page: Page) -> PageView:
    """What templates see of a page: kept while it is among the ``VIEWS_KEPT`` newest
    made (an article is shown on its own page and in several lists, most near each
    other; keeping every view made a render worker's memory grow with the site)."""
    views = _kept_views(site)
    view = views.get(page.id)
    if view is None:
        if len(views) >= VIEWS_KEPT:
            views.popitem(last=False)
        view = views[page.id] = _page_view(site, page)
    return view


def _kept_views(site: Site) -> OrderedDict[str, PageView]:
    """The views kept, oldest first: an ordered dict, whose oldest entry goes in C at
    once (a plain dict's first entry is found past the entries deleted before it, a
    walk through ~2,000 of them for each view made)."""
    return derived(site, ("views",), OrderedDict)


def page_views(site: Site, ids: Iterable[str]) -> tuple[PageView, ...]:
    """``page_view`` of the pages of ``ids`` (a list's items), the kept views found here."""
    views = _kept_views(site)
    pages = site.pages
    return tuple(views.get(pid) or page_view(site, pages[pid]) for pid in ids)


def _page_view(site: Site, page: Page) -> PageView:
    config = site.config
    link = url(config, page.path)
    return made(PageView, (
        page.id,
        page.lang,
        page.kind,
        page.title,
        link,  # url
        config.origin + link,  # permalink: absolute()
        page.date,
        page.updated,
        page.summary,
        _tag_links(site, page.lang, page.tags),  # tags
        _section_link_of(site, page.lang, page.sections)  # section
        if page.sections and page.kind != "section" else None,
        LazyMarkup(partial(_content, site, page)),  # content
        url(config, page.image) if page.image else "",  # image_url
        page.image_alt,
        page.image_size[0] if page.image_size else 0,  # image_width
        page.image_size[1] if page.image_size else 0,  # image_height
        page.draft,
        page.urgent,
        page.scheduled,
        LazyMarkup(partial(_hero, config, page)) if page.image else NO_MARKUP,  # hero
        _breadcrumbs_of(site, page.lang, page.sections if page.kind != "section"  # breadcrumbs
                        else page.sections[:-1]),
        page.link_title or page.title,  # link_title
        page.extra,  # params
        is_appeal(page),  # appeal
    ))


def _tag_links(site: Site, lang: str, tags: tuple[str, ...]) -> tuple[Link, ...]:
    """A page's tag links, made once per language and tag set (most pages share theirs
    with many: a page view made ~100,000 times re-made the same few hundred links)."""
    made: dict[tuple[str, tuple[str, ...]], tuple[Link, ...]] = derived(site, ("tag links",), dict)
    links = made.get((lang, tags))
    if links is None:
        config = site.config
        links = made[(lang, tags)] = tuple(
            Link(tag_name(config, tag, lang), url(config, tag_path(config, lang, tag)))
            for tag in tags)
    return links


def _section_link_of(site: Site, lang: str, sections: tuple[str, ...]) -> Link:
    """``_section_link`` of a page's sections, made once per language and section."""
    made: dict[tuple[str, tuple[str, ...]], Link] = derived(site, ("section links",), dict)
    link = made.get((lang, sections))
    if link is None:
        link = made[(lang, sections)] = _section_link(site, lang, "/".join(sections))
    return link


def _breadcrumbs_of(site: Site, lang: str, sections: tuple[str, ...]) -> tuple[Link, ...]:
    """``breadcrumbs``, made once per language and section."""
    made: dict[tuple[str, tuple[str, ...]], tuple[Link, ...]] = derived(site, ("crumbs",), dict)
    crumbs = made.get((lang, sections))
    if crumbs is None:
        crumbs = made[(lang, sections)] = breadcrumbs(site, lang, sections)
    return crumbs


APPEALS_SECTION = "appeals"


def is_appeal(page: Page) -> bool:
    """An article asking for donations: filed in the ``appeals`` section (its
    translations are too, by their path), or, wherever it is filed, with ``kind: appeal``
    in its front matter."""
    if page.kind != "article":
        return False
    kind = page.extra.get("kind")
    return page.sections[:1] == (APPEALS_SECTION,) or \
        (isinstance(kind, str) and kind.casefold() == "appeal")


def content_html(site: Site, page: Page) -> str:
    """A page's body as it is shown: references resolved, bundle images responsive."""
    return _content(site, page)


def _content(site: Site, page: Page) -> str:
    config = site.config
    body = site.body_of(page)
    if page.refs:
        body = shortcodes.resolve_refs(body, partial(ref_path, site))
    return imaging.rewrite_images(with_prefix(body, config.path_prefix), page,
                                  partial(url, config))


def ref_path(site: Site, lang: str, folder: str, path: str) -> str | None:
    """The site path a ``ref`` shortcode leads to (None: nowhere, reported when linking)."""
    found = ref_target(site.pages, lang, folder, path)
    return found.path if found is not None else None


def _hero(config: SiteConfig, page: Page) -> str:
    source = imaging.image_source(config, page)
    found = imaging.picture(source, page.image) if source else None
    if found is None:
        return ""
    return imaging.picture_html(found, partial(url, config), page.image_alt, hero=True,
                                css_class="hero")


def alternates(site: Site, paths: Mapping[str, str], current: str) -> tuple[Alternate, ...]:
    """Versions of one page, in site language order: ``paths`` maps code → site path."""
    config = site.config
    origin, base = config.origin, config.base_url
    found = []
    for lang in config.languages:
        path = paths.get(lang.code)
        if path is not None:
            link = _url(base, path)  # url(); its absolute form is the same with origin
            found.append(made(Alternate, (lang.code, lang.name, link, origin + link,
                                          lang.direction, lang.code == current)))
    return tuple(found)


def navigation(site: Site, lang: str, current_path: str = "") -> tuple[Link, ...]:
    """Sections of a language, in the taxonomy table's order, then by name (made once
    per language and current section: most pages are in none of them)."""
    paths = derived(site, ("nav paths", lang), _navigation_paths, site, lang)
    current = current_path if current_path in paths else ""
    return derived(site, ("nav", lang, current), _navigation, site, lang, current)


def _navigation_paths(site: Site, lang: str) -> frozenset[str]:
    config = site.config
    return frozenset(section_path(config, lang, s) for s in _navigation_order(site, lang))


def _navigation_order(site: Site, lang: str) -> list[str]:
    config = site.config
    present = [section for section in site.listed.get(lang, {}) if section and "/" not in section]
    order = [s for s in config.section_names if s in present]
    order += [s for s in site.children.get(lang, {}).get("", ()) if s in present
              and s not in order]
    return order


def _navigation(site: Site, lang: str, current_path: str) -> tuple[Link, ...]:
    config = site.config
    return tuple(Link(section_title(site, lang, s, short=True),
                      url(config, section_path(config, lang, s)),
                      current=current_path == section_path(config, lang, s))
                 for s in _navigation_order(site, lang))


def menu(site: Site, lang: str, current_path: str = "") -> tuple[Link, ...]:
    """The language's menu from site.toml; site paths become URLs, addresses stay (made
    once per language and current entry)."""
    targets = derived(site, ("menu targets", lang), _menu_targets, site, lang)
    current = current_path if current_path in targets else None
    key = ("menu", lang) if current is None else ("menu", lang, current)
    return derived(site, key, _menu, site, lang, current)


def _menu_targets(site: Site, lang: str) -> frozenset[str]:
    return frozenset(target for _name, target in site.menus.get(lang, ()))


def _menu(site: Site, lang: str, current_path: str | None) -> tuple[Link, ...]:
    return tuple(Link(name, url(site.config, target) if target.startswith("/") else target,
                      current=target == current_path)
                 for name, target in site.menus.get(lang, ()))


def static_links(site: Site, lang: str) -> tuple[Link, ...]:
    config = site.config
    return tuple(Link(site.pages[pid].title, url(config, site.pages[pid].path))
                 for pid in site.static_pages.get(lang, ()))


@dataclass(frozen=True, slots=True)
class Banner:
    """The urgent appeal shown above every page of a language."""

    id: str
    title: str
    url: str


def urgent_appeal(site: Site, lang: str) -> Banner | None:
    """The newest article marked ``urgent: true`` in this language, for the banner."""
    pid = site.urgent.get(lang)
    if not pid:
        return None
    page = site.pages[pid]
    return Banner(page.id, page.title, url(site.config, page.path))


def derived(site: Site, key: tuple[str, ...], make: Callable[..., T], *args: Any) -> T:
    """A view of the site made once per process (``make(*args)``): the same for every
    page of a language. (Arguments rather than a ``partial``: none is made for each of
    the pages that find it made.)"""
    found = site.derived.get(key, _NOT_MADE)
    if found is _NOT_MADE:
        found = site.derived[key] = make(*args)
    return found


_NOT_MADE = object()


def base_context(site: Site, assets: Mapping[str, str], lang: str, *, title: str,
                 description: str, site_path: str, versions: Mapping[str, str],
                 page: Page | None = None) -> dict[str, Any]:
    """What every template receives, whatever it renders (``page``: the article or
    page it shows, for its share card and links)."""
    config = site.config
    found = alternates(site, versions, lang)
    default = found[0]
    for alternate in found:
        if alternate.code == config.default_language:
            default = alternate
            break
    link = url(config, site_path)
    share = share_view(site, lang, title=title, description=description, site_path=site_path,
                       versions=versions, page=page, link=config.origin + link)
    context = {
        **derived(site, ("language context", lang), _language_context, site, lang),
        "page_title": title,
        "description": description,
        "url": link,
        "canonical": share.url,
        "alternates": found,
        "x_default": default.absolute,
        "nav": navigation(site, lang, site_path),
        "menu": menu(site, lang, site_path),
        "assets": assets,
        "share": share,
    }
    if share.kind == "article" or site_path == home_path(config, lang):
        context["structured"] = structured_data(site, lang, share)
    return context


def _language_context(site: Site, lang: str) -> dict[str, Any]:
    """The part of ``base_context`` every page of a language shares."""
    config = site.config
    language = config.language(lang)
    return {
        "site": site_view(site, language),
        "lang": language,
        "home_url": url(config, home_path(config, lang)),
        "tags_url": url(config, f"{config.root_path(lang)}tags/"),
        "static_links": static_links(site, lang),
        "urgent": urgent_appeal(site, lang),
        "feeds": feed_links(site, lang),
        "search_url": url(config, search_path(config, lang)) if config.search else "",
        "worker_url": url(config, "/sw.js") if config.offline.enabled else "",  # offline.py
    }


FEED_FORMATS = (
    ("Atom", "atom.xml", "application/atom+xml"),
    ("RSS", "rss.xml", "application/rss+xml"),
    ("JSON Feed", "feed.json", "application/feed+json"),
)


@dataclass(frozen=True, slots=True)
class FeedLink:
    name: str
    url: str
    media_type: str


def feed_links(site: Site, lang: str) -> tuple[FeedLink, ...]:
    """The language's feeds, for ``<link rel="alternate">`` and the footer."""
    home = site.config.root_path(lang)
    return tuple(FeedLink(name, url(site.config, f"{home}{file}"), media_type)
                 for name, file, media_type in FEED_FORMATS)


CARD_SIZE = (1200, 630)  # the share card every page names in og:image


def card_path(config: SiteConfig, page: Page | None, lang: str) -> str:
    """The share card a page names: an article's own, or its language home's."""
    if page is not None and page.kind == "article":
        return page.path + "card.jpg"
    return f"{config.root_path(lang)}card.jpg"


class ShareLink(NamedTuple):
    """A plain link to a network's share page: no script, iframe or pixel of theirs."""

    network: str
    url: str


class Share(NamedTuple):
    """What link previews (Open Graph, X cards) and the share links need."""

    kind: str  # og:type: "article" or "website"
    title: str
    description: str
    url: str  # absolute
    image: str  # absolute URL of the share card
    image_width: int
    image_height: int
    image_alt: str
    locale: str  # ll_CC, as Facebook wants it
    locale_alternates: tuple[str, ...]
    published: str = ""
    modified: str = ""
    links: tuple[ShareLink, ...] = ()
    email: str = ""


@cache
def og_locale(code: str) -> str:
    """``ar`` → ``ar_EG``, ``zh-Hans`` → ``zh_CN``: CLDR's likely territory."""
    locale = i18n.locale_of(code)
    territory = locale.territory
    if not territory:
        likely = get_global("likely_subtags")
        full = likely.get(str(locale)) or likely.get(locale.language) or ""
        last = full.rsplit("_", 1)[-1]  # no → no_Latn_NO (a locale Babel has no data for)
        territory = last if len(last) == 2 and last.isupper() else None
    return f"{locale.language}_{territory}" if territory else locale.language


def share_view(site: Site, lang: str, *, title: str, description: str, site_path: str,
               versions: Mapping[str, str], page: Page | None = None,
               link: str = "") -> Share:
    """Previews and share links; articles have their own card and links, other pages
    show their language home's card (``link``: the page's absolute URL, if made)."""
    config = site.config
    link = link or absolute(config, site_path)
    article = page is not None and page.kind == "article"
    title = title or config.language(lang).title or config.title
    stamp = (page.updated or page.date) if page is not None else None
    image, (width, height), alt = _share_image(config, page, lang, title)
    published = page.date.isoformat() if article and page.date else ""
    return made(Share, (
        "article" if article else "website",  # kind
        title,
        description,
        link,  # url
        image,
        width,
        height,
        alt,
        og_locale(lang),  # locale
        _locale_alternates(lang, tuple(versions)),
        published,
        (published if stamp is page.date else stamp.isoformat())  # modified
        if article and stamp else "",  # (isoformat takes microseconds)
        share_links(title, link) if article else (),  # links
        _email_link(title, link) if article else "",  # email
    ))


@lru_cache(maxsize=1024)
def _locale_alternates(lang: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The ``og:locale`` of each other version (a translation group's languages are
    among a few sets)."""
    return tuple(dict.fromkeys(og_locale(code) for code in codes if code != lang))


def structured_data(site: Site, lang: str, share: Share) -> dict[str, Any]:
    """schema.org data for search engines and news aggregators: a NewsArticle on
    articles, the Organization on homes (the template writes it as escaped JSON)."""
    organisation = dict(derived(site, ("organisation", lang), _organisation_data, site, lang))
    if share.kind != "article":
        org = site.config.organisation
        if org.social:
            organisation["sameAs"] = list(org.social.values())
        return {"@context": "https://schema.org", **organisation}
    article: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": share.title,
        "inLanguage": lang, "mainEntityOfPage": share.url, "url": share.url,
        "datePublished": share.published, "dateModified": share.modified or share.published,
        "publisher": organisation,
    }
    if share.description:
        article["description"] = share.description
    if share.image:
        article["image"] = [share.image]
    return article


def _organisation_data(site: Site, lang: str) -> dict[str, Any]:
    """The Organization every page of a language names (each page is given a copy)."""
    config = site.config
    org = config.organisation
    organisation: dict[str, Any] = {"@type": "Organization", "name": org.name_in(lang),
                                    "url": absolute(config, home_path(config, lang))}
    if org.logo:
        organisation["logo"] = absolute(config, "/" + org.logo.lstrip("/"))
    return organisation


def _share_image(config: SiteConfig, page: Page | None, lang: str,
                 title: str) -> tuple[str, tuple[int, int], str]:
    """The share card; with cards off (``--no-cards``), the page's own image if any."""
    if config.share_cards:
        return absolute(config, card_path(config, page, lang)), CARD_SIZE, title
    if page is not None and page.image:
        return absolute(config, page.image), page.image_size or (0, 0), page.image_alt
    return "", (0, 0), ""


def share_links(title: str, link: str) -> tuple[ShareLink, ...]:
    """Each network's documented share URL, every value percent-encoded."""
    title, link = _q(title), _q(link)
    return (
        made(ShareLink, ("WhatsApp", f"https://wa.me/?text={title}%20{link}")),
        made(ShareLink, ("Telegram", f"https://t.me/share/url?url={link}&text={title}")),
        made(ShareLink, ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={link}")),
        made(ShareLink, ("X", f"https://x.com/intent/post?url={link}&text={title}")),
        made(ShareLink, ("LinkedIn",
                         f"https://www.linkedin.com/sharing/share-offsite/?url={link}")),
    )


def _email_link(title: str, link: str) -> str:
    return f"mailto:?subject={_q(title)}&body={_q(link)}"


@lru_cache(maxsize=256)
def _q(text: str) -> str:
    """Percent-encoded as ``quote(text, safe="")`` does, each UTF-8 byte through one
    table (``quote`` looks each byte up in Python; a page's title and address are
    encoded for several links)."""
    return text.encode("utf-8").decode("latin-1").translate(_BYTE_QUOTED)


UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_BYTE_QUOTED = {byte: chr(byte) if chr(byte) in UNRESERVED else f"%{byte:02X}"
                for byte in range(256)}


def _media_type(name: str) -> str:
    """The media type browsers expect in a favicon link's ``type``."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ICON_TYPES.get(suffix, "image/png")


ICON_TYPES = {"svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon",
              "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
              "gif": "image/gif", "avif": "image/avif"}
