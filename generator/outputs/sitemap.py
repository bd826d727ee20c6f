"""``/sitemap.xml`` with hreflang alternates for every page, and ``/robots.txt``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from html import escape

from generator import history
from generator.deps import digest
from generator.model import Site
from generator.outputs.listings import listings_of
from generator.render import Job
from generator.views import absolute, section_intro

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    groups = tuple(_groups(site))
    key = digest("sitemap", tuple((tuple(group.items()), lastmod) for group, lastmod in groups))
    yield Job("sitemap.xml", "sitemap", produce=lambda: sitemap(site, groups).encode("utf-8"),
              key=key)
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {absolute(site.config, '/sitemap.xml')}\n"
    yield Job("robots.txt", "sitemap", data=robots.encode("utf-8"), key=digest("robots"))


def sitemap(site: Site, groups: Iterable[tuple[Mapping[str, str], str]]) -> str:
    """Every page and listing (each translation group's members together), with
    the group's newest change; the key covers exactly what is shown."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<urlset xmlns="{SITEMAP_NS}" xmlns:xhtml="{XHTML_NS}">']
    for group, lastmod in groups:
        links = _alternates(site, group)
        stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.extend(f"  <url><loc>{escape(absolute(site.config, path))}</loc>{stamp}{links}"
                     "</url>" for path in group.values())
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


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
    """The group's hreflang links, the same for every member (built once per group)."""
    if len(group) < 2:
        return ""
    config = site.config
    default = group.get(config.default_language) or next(iter(group.values()))
    links = [*group.items(), ("x-default", default)]
    return "".join(f'<xhtml:link rel="alternate" hreflang="{escape(lang)}" '
                   f'href="{escape(absolute(config, path))}"/>' for lang, path in links)
