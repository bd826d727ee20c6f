"""``/sitemap.xml`` with hreflang alternates for every page, and ``/robots.txt``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from xml.sax.saxutils import escape, quoteattr

from generator.deps import digest, pages_key
from generator.model import Site
from generator.outputs.listings import listings_of
from generator.render import Job
from generator.views import absolute

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    key = digest("sitemap", tuple(site.translations.items()), pages_key(site.pages.values()),
                 tuple((item.kind, item.key, item.lang) for item in listings_of(site)))
    yield Job("sitemap.xml", "sitemap", produce=lambda: sitemap(site).encode("utf-8"), key=key)
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {absolute(site.config, '/sitemap.xml')}\n"
    yield Job("robots.txt", "sitemap", data=robots.encode("utf-8"), key=digest("robots"))


def sitemap(site: Site) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<urlset xmlns="{SITEMAP_NS}" xmlns:xhtml="{XHTML_NS}">']
    for group, lastmod in _groups(site):
        for path in group.values():
            lines.append(_entry(site, path, group, lastmod))
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def _groups(site: Site) -> Iterator[tuple[Mapping[str, str], str]]:
    """Each translation group as lang → site path, with its newest change."""
    for ids in site.translations.values():
        pages = [site.pages[pid] for pid in ids]
        stamps = [p.updated or p.date for p in pages if p.updated or p.date]
        yield {p.lang: p.path for p in pages}, max(stamps).isoformat() if stamps else ""
    by_key: dict[tuple[str, str], dict[str, str]] = {}
    for listing in listings_of(site):
        by_key.setdefault((listing.kind, listing.key), {})[listing.lang] = listing.base_path
    for group in by_key.values():
        yield group, ""


def _entry(site: Site, path: str, group: Mapping[str, str], lastmod: str) -> str:
    parts = [f"  <url><loc>{escape(absolute(site.config, path))}</loc>"]
    if lastmod:
        parts.append(f"<lastmod>{lastmod}</lastmod>")
    if len(group) > 1:
        for lang, other in group.items():
            parts.append(f'<xhtml:link rel="alternate" hreflang={quoteattr(lang)} '
                         f"href={quoteattr(absolute(site.config, other))}/>")
        default = group.get(site.config.default_language) or next(iter(group.values()))
        parts.append(f'<xhtml:link rel="alternate" hreflang="x-default" '
                     f"href={quoteattr(absolute(site.config, default))}/>")
    parts.append("</url>")
    return "".join(parts)
