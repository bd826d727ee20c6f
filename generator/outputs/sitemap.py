"""``/sitemap.xml`` with hreflang alternates for every page, and ``/robots.txt``.

A sitemap file may hold 50,000 addresses and 50 MB; an archive of 100,000 stories holds
more. A site with more than ``URLS_PER_FILE`` addresses gets a sitemap per language
instead, in files of at most ``URLS_PER_FILE`` (``/fr/sitemap.xml``,
``/fr/sitemap-2.xml``; a default language at the site root has ``/sitemap-en.xml``),
and ``/sitemap.xml`` is their index. Each language's files lie in its folder, so a
``--languages`` build writes only its own, while the index (made from all content, as
every build reads it) is the same whichever languages a build writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import partial
from html import escape
from itertools import compress, count, repeat
from operator import contains

from generator import history
from generator.config import SiteConfig
from generator.deps import digest, digest_with
from generator.model import Site
from generator.outputs.listings import listings_of
from generator.render import Job
from generator.views import absolute, derived, section_intro, url

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
# A file's addresses past which each language gets its own files: with alternates in 25
# languages, 10,000 addresses make about 40 MB, under the protocol's 50 MB.
URLS_PER_FILE = 10_000


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    groups = tuple(_groups(site))
    if sum(len(group) for group, _lastmod in groups) <= URLS_PER_FILE:
        key = digest_with(("sitemap",), "\n".join(map(_group_text, groups)))
        yield Job("sitemap.xml", "sitemap",
                  produce=lambda: sitemap(site, groups).encode("utf-8"), key=key)
    else:
        yield from _split(site, groups)
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {absolute(site.config, '/sitemap.xml')}\n"
    yield Job("robots.txt", "sitemap", data=robots.encode("utf-8"), key=digest("robots"))


def sitemap(site: Site, groups: Iterable[tuple[Mapping[str, str], str]]) -> str:
    """Every page and listing (each translation group's members together), with
    the group's newest change; the key covers exactly what is shown."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<urlset xmlns="{SITEMAP_NS}" xmlns:xhtml="{XHTML_NS}">']
    config = site.config
    origin = escape(config.origin)
    for group, lastmod in groups:
        links = _alternates(site, group)
        stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.extend(f"  <url><loc>{origin}{url(config, path)}</loc>{stamp}{links}"
                     "</url>" for path in group.values())
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def _split(site: Site, groups: tuple[tuple[Mapping[str, str], str], ...]) -> Iterator[Job]:
    """A sitemap per language in files of ``URLS_PER_FILE`` addresses, and
    ``/sitemap.xml`` as their index, each file with its newest change."""
    config = site.config
    files: list[tuple[str, str]] = []  # (site path, lastmod) for the index
    texts = list(map(_group_text, groups))  # made once for the languages' files
    members = [group.keys() for group, _lastmod in groups]
    for lang in config.language_codes:  # (each group holding the language, found in C)
        chosen = list(compress(count(), map(contains, members, repeat(lang))))
        for number, start in enumerate(range(0, len(chosen), URLS_PER_FILE), 1):
            indexes = chosen[start:start + URLS_PER_FILE]
            chunk = tuple(map(groups.__getitem__, indexes))
            path = language_file(config, lang, number)
            newest = max((lastmod for _group, lastmod in chunk), default="")
            files.append((path, newest))
            key = digest_with(("sitemap", lang), "\n".join(map(texts.__getitem__, indexes)))
            yield Job(path.lstrip("/"), "sitemap", lang, key=key,
                      produce=partial(_language_sitemap, site, lang, chunk))
    index = sitemap_index(config, files).encode("utf-8")
    yield Job("sitemap.xml", "sitemap", data=index, key=digest("sitemap index", index))


def _group_text(entry: tuple[Mapping[str, str], str]) -> str:
    """A group's addresses and newest change, as a sitemap key holds them (one line)."""
    group, lastmod = entry
    return repr((tuple(group.items()), lastmod))


def language_file(config: SiteConfig, lang: str, number: int) -> str:
    """The site path of a language's sitemap file: ``/fr/sitemap.xml``, then
    ``/fr/sitemap-2.xml``; ``/sitemap-en.xml`` for a default language at the root
    (``/sitemap.xml`` is the index there)."""
    suffix = "" if number == 1 else f"-{number}"
    root = config.root_path(lang)
    return f"/sitemap-{lang.lower()}{suffix}.xml" if root == "/" else \
        f"{root}sitemap{suffix}.xml"


def sitemap_index(config: SiteConfig, files: Iterable[tuple[str, str]]) -> str:
    """``/sitemap.xml`` naming each sitemap file (site path, newest change)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{SITEMAP_NS}">']
    lines.extend(f"  <sitemap><loc>{escape(absolute(config, path))}</loc>"
                 f"{f'<lastmod>{lastmod}</lastmod>' if lastmod else ''}</sitemap>"
                 for path, lastmod in files)
    lines.append("</sitemapindex>")
    return "\n".join(lines) + "\n"


def _language_sitemap(site: Site, lang: str,
                      entries: Iterable[tuple[Mapping[str, str], str]]) -> bytes:
    """One language's addresses, each with its group's alternates in every language."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<urlset xmlns="{SITEMAP_NS}" xmlns:xhtml="{XHTML_NS}">']
    config = site.config
    origin = escape(config.origin)
    for group, lastmod in entries:
        stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{origin}{url(config, group[lang])}</loc>{stamp}"
                     f"{_alternates(site, group)}</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _groups(site: Site) -> Iterator[tuple[Mapping[str, str], str]]:
    """Each translation group as lang → site path, with its newest change (from front
    matter, else, for undated pages, from git)."""
    committed = _committed(site)
    for ids in site.translations.values():
        pages = [page for page in (site.pages[pid] for pid in ids)
                 if page.kind != "section" and page.render and not page.noindex]
        if not pages:
            continue
        stamps = [stamp for p in pages
                  if (stamp := p.updated or p.date or committed.get(p.source.as_posix()))]
        yield {p.lang: p.path for p in pages}, max(stamps).isoformat() if stamps else ""
    by_key: dict[tuple[str, str], dict[str, str]] = {}
    changed: dict[tuple[str, str], str] = {}
    for listing in listings_of(site):
        by_key.setdefault((listing.kind, listing.key), {})[listing.lang] = listing.base_path
        intro = section_intro(site, listing.lang, listing.key) \
            if listing.kind in ("home", "section") else None
        if intro is not None and intro.noindex:
            by_key[(listing.kind, listing.key)].pop(listing.lang)
        stamp = intro.updated or intro.date if intro is not None else None
        if stamp is not None:
            key = (listing.kind, listing.key)
            changed[key] = max(changed.get(key, ""), stamp.isoformat())
    for key, group in by_key.items():
        if group:
            yield group, changed.get(key, "")


def _committed(site: Site) -> Mapping[str, datetime]:
    """When git last saw each undated page's source (one ``git log`` for all of them;
    nothing when there are none, or outside git)."""
    undated = sorted({page.source.as_posix() for page in site.pages.values()
                      if not (page.updated or page.date) and not page.source.is_absolute()})
    if not undated:
        return {}
    return history.committed_times(site.config.root, undated) or {}


def _alternates(site: Site, group: Mapping[str, str]) -> str:
    """The group's hreflang links, the same for every member (built once per group).

    An address is written as ``escape(absolute(config, path))``, in two parts: the
    origin escaped once a file, and ``url()``, which has nothing to escape (percent-
    encoded: no ``&<>"'``); each language's link up to its address is made once a
    process (``_link_starts``)."""
    if len(group) < 2:
        return ""
    config = site.config
    starts = derived(site, ("sitemap links",), _link_starts, config)
    default = group.get(config.default_language) or next(iter(group.values()))
    return "".join([*(f'{starts[lang]}{url(config, path)}"/>' for lang, path in group.items()),
                    f'{starts["x-default"]}{url(config, default)}"/>'])


class _LinkStarts(dict):  # type: ignore[type-arg]
    """Each hreflang link's text up to its address's path, by language code."""

    __slots__ = ("origin",)

    def __missing__(self, lang: str) -> str:
        start = self[lang] = f'<xhtml:link rel="alternate" hreflang="{escape(lang)}" ' \
                             f'href="{self.origin}'
        return start


def _link_starts(config: SiteConfig) -> _LinkStarts:
    starts = _LinkStarts()
    starts.origin = escape(config.origin)
    return starts
