"""WordPress eXtended RSS (WXR 1.0–1.2), read as untrusted input, one element at a time.

lxml's ``iterparse`` reads the file in a stream; each top-level element of the channel
(an author, a term, an item) becomes a frozen record and is then cleared from the tree,
so memory stays bounded by the largest single item, not the file. Nothing is fetched
(``no_network``), no DTD is loaded and no entity is expanded (``resolve_entities=False``,
``load_dtd=False``); a file that declares a DOCTYPE at all is refused, since WordPress
never writes one and billion-laughs and external-entity files need one. Text nodes are
limited to lxml's default 10 MB (``huge_tree=False``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

WP_NAMESPACE = re.compile(r"^https?://wordpress\.org/export/(1\.[0-9]+)/$")
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
CHANNEL_FIELDS = ("title", "link", "description", "language", "pubDate")
WP_CHANNEL_FIELDS = ("wxr_version", "base_site_url", "base_blog_url")


class NotAnExport(ValueError):
    """The file is not a WordPress export (or one this reader refuses); the message says
    what it is instead and what to do."""


@dataclass(frozen=True, slots=True)
class ChannelField:
    name: str  # title, link, description, language, pubDate, wxr_version, base_*_url
    value: str


@dataclass(frozen=True, slots=True)
class Author:
    login: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Term:
    """A category, tag or other taxonomy term declared at the top of the export."""

    taxonomy: str  # category, post_tag, language, post_translations, term_translations, …
    term_id: int
    slug: str
    name: str
    parent: str  # the parent's slug ("" for none)
    description: str
    meta: tuple[tuple[str, str], ...]

    def meta_value(self, key: str) -> str:
        return next((value for name, value in self.meta if name == key), "")


@dataclass(frozen=True, slots=True)
class ItemTerm:
    """``<category domain="…" nicename="…">name</category>`` on an item."""

    domain: str
    nicename: str
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    post_id: int
    post_type: str
    status: str
    title: str
    link: str
    guid: str
    creator: str
    content: str  # "" when read without bodies
    excerpt: str
    post_date: str
    post_date_gmt: str
    modified: str
    modified_gmt: str
    name: str  # wp:post_name, as WordPress stores it (percent-encoded when not ASCII)
    parent: int
    menu_order: int
    password: str
    attachment_url: str
    terms: tuple[ItemTerm, ...]
    meta: tuple[tuple[str, str], ...]
    comments: int
    translations: tuple[tuple[str, int], ...]  # <wp:translation lang="fr" post_id="12"/>
    wpml_language: str  # a <…:wpml_language> or <wp:language> element, where one is written

    def meta_value(self, key: str) -> str:
        return next((value for name, value in self.meta if name == key), "")


Record = ChannelField | Author | Term | Item


def read(path: Path, *, bodies: bool = True,
         meta_keys: frozenset[str] | None = None) -> Iterator[Record]:
    """The export's records in file order; without ``bodies`` items have no content, and
    with ``meta_keys`` they keep only those custom fields (page builders store hundreds of
    kilobytes per post there). Raises ``NotAnExport`` for a file that is not XML, XML
    that is not WXR, or a file with a DOCTYPE (entity expansion refused)."""
    try:
        with open(path, "rb") as stream:
            yield from _read(stream, bodies, meta_keys)
    except etree.XMLSyntaxError as exc:
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise NotAnExport(f"not well-formed XML{line}: {exc.msg}. A WordPress export is "
                          "the XML file Tools → Export writes; was it cut short or "
                          "edited?") from None


def _read(stream: object, bodies: bool, meta_keys: frozenset[str] | None
          ) -> Iterator[Record]:
    events = etree.iterparse(
        stream, events=("start", "end"), resolve_entities=False, no_network=True,
        huge_tree=False, load_dtd=False, dtd_validation=False, remove_pis=True,
        remove_comments=True, recover=False)
    depth = 0
    wp = ""
    for event, element in events:
        if event == "start":
            depth += 1
            if depth == 1:
                wp = _check_root(element)
            continue
        depth -= 1
        if depth != 2:  # only the channel's own children are whole records
            continue
        record = _record(element, wp, bodies, meta_keys)
        if record is not None:
            yield record
        element.clear(keep_tail=False)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]


def _check_root(root: etree._Element) -> str:
    """The wp namespace (with its braces) of a WXR root; else ``NotAnExport``."""
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None or info.doctype:
        raise NotAnExport("the file declares a DOCTYPE: WordPress exports never do, and "
                          "entities (which can expand a small file into gigabytes or read "
                          "other files) are refused. Export the site again from Tools → "
                          "Export")
    name = etree.QName(root)
    if name.namespace or name.localname != "rss":
        raise NotAnExport(f"XML, but not a WordPress export: its root element is "
                          f"<{name.localname}>, a WordPress export (WXR) starts with <rss> "
                          "and declares xmlns:wp=\"http://wordpress.org/export/1.2/\"")
    for uri in (root.nsmap or {}).values():
        if uri and WP_NAMESPACE.match(uri):
            return "{" + uri + "}"
    raise NotAnExport("an RSS feed, not a WordPress export: it has no wp: namespace "
                      "(http://wordpress.org/export/1.x/). Make the export with Tools → "
                      "Export → All content")


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return "".join(element.itertext())


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 19 else 0


def _record(element: etree._Element, wp: str, bodies: bool,
            meta_keys: frozenset[str] | None) -> Record | None:
    tag = element.tag
    if not isinstance(tag, str):
        return None
    if tag == "item":
        return _item(element, wp, bodies, meta_keys)
    if tag in CHANNEL_FIELDS:
        return ChannelField(tag, _text(element).strip())
    if not tag.startswith(wp):
        return None
    local = tag[len(wp):]
    if local in WP_CHANNEL_FIELDS:
        return ChannelField(local, _text(element).strip())
    if local == "author":
        return Author(_text(element.find(wp + "author_login")).strip(),
                      _text(element.find(wp + "author_display_name")).strip())
    if local in ("category", "tag", "term"):
        return _term(element, wp, local)
    return None


def _term(element: etree._Element, wp: str, kind: str) -> Term:
    def field(name: str) -> str:
        return _text(element.find(wp + name)).strip()

    if kind == "category":
        taxonomy, slug, name = "category", field("category_nicename"), field("cat_name")
        parent, description = field("category_parent"), field("category_description")
    elif kind == "tag":
        taxonomy, slug, name = "post_tag", field("tag_slug"), field("tag_name")
        parent, description = "", field("tag_description")
    else:
        taxonomy, slug, name = field("term_taxonomy"), field("term_slug"), field("term_name")
        parent, description = field("term_parent"), field("term_description")
    meta = tuple((_text(m.find(wp + "meta_key")).strip(), _text(m.find(wp + "meta_value")))
                 for m in element.iterfind(wp + "termmeta"))
    return Term(taxonomy, _int(field("term_id")), slug, name, parent, description, meta)


def _item(element: etree._Element, wp: str, bodies: bool,
          meta_keys: frozenset[str] | None) -> Item:
    fields: dict[str, str] = {}
    terms: list[ItemTerm] = []
    meta: list[tuple[str, str]] = []
    translations: list[tuple[str, int]] = []
    comments = 0
    wpml_language = ""
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == "category":
            terms.append(ItemTerm(child.get("domain", "category"),
                                  child.get("nicename", ""), _text(child).strip()))
        elif tag.startswith(wp):
            local = tag[len(wp):]
            if local == "postmeta":
                key = _text(child.find(wp + "meta_key")).strip()
                if meta_keys is None or key in meta_keys:
                    meta.append((key, _text(child.find(wp + "meta_value"))))
            elif local == "comment":
                comments += 1
            elif local == "translation":
                translations.append((child.get("lang", ""), _int(child.get("post_id", ""))))
            elif local == "language":
                wpml_language = _text(child).strip()
            else:
                fields[local] = _text(child)
        elif tag == CONTENT_ENCODED:
            fields["content"] = _text(child) if bodies else ""
        elif tag.endswith("}encoded"):  # excerpt:encoded, whatever its version's URI
            fields["excerpt"] = _text(child)
        elif tag == DC_CREATOR:
            fields["creator"] = _text(child).strip()
        elif tag.endswith("}wpml_language") or tag == "wpml_language":
            wpml_language = _text(child).strip()
        elif tag in ("title", "link", "guid"):
            fields[tag] = _text(child)

    def get(name: str) -> str:
        return fields.get(name, "").strip()

    return Item(
        post_id=_int(get("post_id")),
        post_type=get("post_type") or "post",
        status=get("status") or "publish",
        title=fields.get("title", "").strip(),
        link=get("link"),
        guid=get("guid"),
        creator=get("creator"),
        content=fields.get("content", ""),
        excerpt=fields.get("excerpt", "").strip(),
        post_date=get("post_date"),
        post_date_gmt=get("post_date_gmt"),
        modified=get("post_modified"),
        modified_gmt=get("post_modified_gmt"),
        name=get("post_name"),
        parent=_int(get("post_parent")),
        menu_order=_int(get("menu_order").lstrip("-")) * (-1 if get("menu_order")
                                                           .startswith("-") else 1),
        password=get("post_password"),
        attachment_url=get("attachment_url"),
        terms=tuple(terms),
        meta=tuple(meta),
        comments=comments,
        translations=tuple(translations),
        wpml_language=wpml_language,
    )
