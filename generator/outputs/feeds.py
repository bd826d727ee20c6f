"""Feeds per language (Atom, RSS 2.0, JSON Feed 1.1) and an Atom feed per tag.

Entry ids are UUIDs derived from the site's host and the page id, so editing a
post never changes its id; ``updated`` comes from the newest entry, never from
the clock, so an unchanged site gives byte-identical feeds. Each entry carries an
image: the article's own when it has one, else its share card, with the length of
the bytes actually published.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from html import unescape
from itertools import islice
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree as ET

from generator import imaging
from generator.deps import digest, file_stamp
from generator.model import Page, Site
from generator.outputs import cards
from generator.render import Job
from generator.sanitize import attribute
from generator.views import absolute, card_path, tag_name, tag_path, with_prefix

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # "updated" of a feed with no entries yet
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
URL_ATTRIBUTE = re.compile(r'(\s(?:href|src|poster)=")([^"]*)(")')
SRCSET_ATTRIBUTE = re.compile(r'(\ssrcset=")([^"]*)(")')
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".webp": "image/webp", ".gif": "image/gif", ".svg": "image/svg+xml"}

ET.register_namespace("content", CONTENT)
ET.register_namespace("atom", ATOM)


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed's subject: a language's articles, or one tag's."""

    lang: str
    title: str
    site_path: str  # the HTML page the feed follows
    folder: str  # site folder the feed files go in
    pages: tuple[Page, ...]


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    for feed in feeds_of(site):
        yield from _jobs(site, feed)


def showing(site: Site, assets: Mapping[str, str], pages: tuple[Page, ...]) -> Iterator[Job]:
    """The feeds the edited pages may be entries of (``generator.delta``)."""
    for feed in feeds_of(site, frozenset(page.id for page in pages),
                         frozenset(page.lang for page in pages)):
        yield from _jobs(site, feed)


def _jobs(site: Site, feed: Feed) -> Iterator[Job]:
    formats = [("atom.xml", atom)]
    if feed.site_path == site.config.root_path(feed.lang):
        formats += [("rss.xml", rss), ("feed.json", json_feed)]
    images = tuple(image.key if (image := enclosure(site, page)) else ""
                   for page in feed.pages)
    entries = tuple(site.keys[page.id] for page in feed.pages)
    for name, write in formats:
        key = digest("feed", name, feed.title, feed.folder, entries, images)
        yield Job(f"{feed.folder}{name}".lstrip("/"), "feed", feed.lang,
                  produce=partial(write, site, feed), key=key)


def feeds_of(site: Site, showing: frozenset[str] | None = None,
             langs: frozenset[str] | None = None) -> Iterator[Feed]:
    """Every feed; with ``showing``, only those whose lists hold one of these ids (and
    with ``langs``, only of these languages: a feed lists its language's stories)."""
    config = site.config
    limit = config.feed_entries
    for language in config.languages:
        lang = language.code
        if langs is not None and lang not in langs:
            continue
        ids = site.articles.get(lang, ())[:limit]
        title = language.title or config.title
        home = config.root_path(lang)
        if showing is None or not showing.isdisjoint(ids):
            yield Feed(lang, title, home, home, tuple(site.pages[i] for i in ids))
        for tag, tag_ids in site.tags.get(lang, {}).items():
            if showing is not None and showing.isdisjoint(tag_ids):
                continue
            path = tag_path(config, lang, tag)
            dated = (site.pages[i] for i in tag_ids if site.pages[i].date)  # undated: no feed
            yield Feed(lang, f"{title}: {tag_name(config, tag, lang)}", path, path,
                       tuple(islice(dated, limit)))


def entry_id(site: Site, page: Page) -> str:
    """A permanent id: the same for every edit of the post, different per language."""
    host = urlsplit(site.config.base_url).netloc
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://{host}/{page.id}").urn


def absolute_html(html: str, base: str) -> str:
    """Rewrite every link and image in ``html`` to an absolute URL against ``base``."""
    html = URL_ATTRIBUTE.sub(lambda m: m.group(1) + attribute(
        _absolute(base, unescape(m.group(2)))) + m.group(3), html)
    return SRCSET_ATTRIBUTE.sub(lambda m: m.group(1) + attribute(", ".join(
        " ".join([_absolute(base, part.split()[0]), *part.split()[1:]])
        for part in unescape(m.group(2)).split(",") if part.strip())) + m.group(3), html)


def _absolute(base: str, value: str) -> str:
    if value.startswith("#") or re.match(r"^[a-z][a-z0-9+.-]*:", value):
        return value if not value.startswith("#") else base + value
    return urljoin(base, value)


def _newest(feed: Feed) -> datetime | None:
    stamps = [page.updated or page.date for page in feed.pages if page.date]
    return max(stamps) if stamps else None


def _stamp(page: Page) -> datetime:
    assert page.date is not None
    return page.updated or page.date


def _content(site: Site, page: Page) -> str:
    body = with_prefix(site.body_of(page), site.config.path_prefix)
    return absolute_html(body, absolute(site.config, page.path))


@dataclass(frozen=True, slots=True)
class Enclosure:
    """An entry's image; ``data`` gives its published bytes (made if not cached yet)."""

    url: str
    media_type: str
    key: str  # what the bytes are made from
    data: Callable[[], bytes]


def enclosure(site: Site, page: Page) -> Enclosure | None:
    """The article's own image when it has one, its share card otherwise."""
    config = site.config
    source = imaging.image_source(config, page)
    if source is not None and imaging.is_raster(source):
        return Enclosure(absolute(config, page.image), _media_type(page.image),
                         imaging.published_key(source),
                         partial(imaging.published_bytes, source,
                                 imaging.cache_dir(config, "images")))
    if source is not None:
        return Enclosure(absolute(config, page.image), _media_type(page.image),
                         digest(file_stamp(source)), source.read_bytes)
    if not config.share_cards:
        return None
    card = cards.article_job(site, page)
    assert card.produce is not None
    return Enclosure(absolute(config, card_path(config, page, page.lang)), "image/jpeg", card.key,
                     card.produce)


def atom(site: Site, feed: Feed) -> bytes:
    config = site.config
    root = ET.Element("feed", {"xmlns": ATOM, XML_LANG: feed.lang})
    _text(root, "title", feed.title)
    _text(root, "id", absolute(config, feed.folder + "atom.xml"))
    ET.SubElement(root, "link", rel="self", type="application/atom+xml",
                  href=absolute(config, feed.folder + "atom.xml"))
    ET.SubElement(root, "link", rel="alternate", type="text/html",
                  href=absolute(config, feed.site_path))
    newest = _newest(feed)
    _text(root, "updated", (newest or EPOCH).isoformat())
    author = ET.SubElement(root, "author")
    _text(author, "name", config.organisation.name_in(feed.lang))
    _text(author, "uri", config.base_url)
    _text(root, "generator", "newshub")
    for page in feed.pages:
        entry = ET.SubElement(root, "entry")
        _text(entry, "title", page.title)
        ET.SubElement(entry, "link", rel="alternate", type="text/html",
                      href=absolute(config, page.path))
        _text(entry, "id", entry_id(site, page))
        _text(entry, "published", page.date.isoformat() if page.date else "")
        _text(entry, "updated", _stamp(page).isoformat())
        for tag in page.tags:
            ET.SubElement(entry, "category", term=tag,
                          label=tag_name(config, tag, page.lang))
        if page.summary:
            _text(entry, "summary", page.summary)
        content = _text(entry, "content", _content(site, page))
        content.set("type", "html")
        image = enclosure(site, page)
        if image is not None:
            ET.SubElement(entry, "link", rel="enclosure", href=image.url,
                          type=image.media_type, length=str(len(image.data())))
    return _xml(root)


def rss(site: Site, feed: Feed) -> bytes:
    config = site.config
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = feed.title
    ET.SubElement(channel, "link").text = absolute(config, feed.site_path)
    ET.SubElement(channel, "description").text = (
        config.language(feed.lang).description or config.description or feed.title)
    ET.SubElement(channel, "language").text = feed.lang
    ET.SubElement(channel, "generator").text = "newshub"
    ET.SubElement(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml",
                  href=absolute(config, feed.folder + "rss.xml"))
    newest = _newest(feed)
    if newest:
        ET.SubElement(channel, "lastBuildDate").text = format_datetime(newest)
    for page in feed.pages:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = page.title
        ET.SubElement(item, "link").text = absolute(config, page.path)
        ET.SubElement(item, "guid", isPermaLink="false").text = entry_id(site, page)
        if page.date:
            ET.SubElement(item, "pubDate").text = format_datetime(page.date)
        ET.SubElement(item, "description").text = page.summary
        ET.SubElement(item, f"{{{CONTENT}}}encoded").text = _content(site, page)
        for tag in page.tags:
            ET.SubElement(item, "category").text = tag_name(config, tag, page.lang)
        image = enclosure(site, page)
        if image is not None:
            ET.SubElement(item, "enclosure", url=image.url, length=str(len(image.data())),
                          type=image.media_type)
    return _xml(root)


def json_feed(site: Site, feed: Feed) -> bytes:
    config = site.config
    document = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": absolute(config, feed.site_path),
        "feed_url": absolute(config, feed.folder + "feed.json"),
        "language": feed.lang,
        "authors": [{"name": config.organisation.name_in(feed.lang), "url": config.base_url}],
        "items": [_json_item(site, page) for page in feed.pages],
    }
    description = config.language(feed.lang).description or config.description
    if description:
        document["description"] = description
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _json_item(site: Site, page: Page) -> dict[str, object]:
    config = site.config
    item: dict[str, object] = {
        "id": entry_id(site, page),
        "url": absolute(config, page.path),
        "title": page.title,
        "content_html": _content(site, page),
        "summary": page.summary,
        "date_published": page.date.isoformat() if page.date else None,
        "date_modified": _stamp(page).isoformat(),
        "language": page.lang,
        "tags": [tag_name(config, tag, page.lang) for tag in page.tags],
    }
    image = enclosure(site, page)
    if image is not None:
        item["image"] = image.url
    return item


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.text = text
    return element


def _media_type(path: str) -> str:
    suffix = path[path.rfind("."):].lower() if "." in path else ""
    return IMAGE_TYPES.get(suffix, "application/octet-stream")


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
