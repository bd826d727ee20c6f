"""Where each WordPress post goes in the newshub site, decided before any file is written.

From the first pass over the export (every item without its body): each post's language
and translation group, its section (the primary category), its slug and folder (pages
keep their hierarchy as folders: a page with children is ``<slug>/_index.md``), its new
address, the old addresses that must lead to it, and the taxonomy keys with their names
per language.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote, urlsplit

from generator.importers.languages import Languages
from generator.importers.output import RESERVED, segment
from generator.importers.phpserial import load_array
from generator.importers.wxr import Item, Term

DEFAULT_SECTION = "news"
UNCATEGORIZED = {"uncategorized"}
DRAFT_STATUSES = {"draft", "pending", "private"}
SECTION_NAMES = {"en": "News", "fr": "Actualités", "es": "Noticias", "ar": "أخبار",
                 "de": "Nachrichten", "pt": "Notícias", "it": "Notizie", "nl": "Nieuws",
                 "ru": "Новости", "uk": "Новини", "zh": "新闻", "sw": "Habari", "tr": "Haberler",
                 "fa": "اخبار", "ur": "خبریں", "hi": "समाचार", "id": "Berita"}
NO_DATE = "0000-00-00 00:00:00"


@dataclass(slots=True)
class Entry:
    """One post or page as it will be written."""

    post_id: int
    kind: str  # "article" or "page"
    lang: str
    folder: tuple[str, ...]  # under content/<lang>/
    slug: str
    branch: bool = False  # a page with child pages: <slug>/_index.md
    section: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    draft: bool = False
    date: str = ""
    updated: str = ""
    key: str = ""  # translation_key, "" when the path already links it
    aliases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "/" + "/".join((self.lang, *self.folder, self.slug)) + "/"

    @property
    def path_key(self) -> str:
        return "/".join((*self.folder, self.slug))


@dataclass(slots=True)
class Taxonomy:
    key_of: dict[str, str]  # nicename → key
    names: dict[str, dict[str, str]]  # key → lang → name


@dataclass(slots=True)
class Plan:
    entries: dict[int, Entry]
    sections: Taxonomy
    categories: Taxonomy
    tags: Taxonomy
    offset_minutes: int | None  # the site's usual offset, for dates WordPress left in UTC only
    redirects: list[tuple[str, str]]
    notes: list[str]
    links: dict[str, str]  # old address key → new address (for links inside bodies)


def local_date(local: str, gmt: str, fallback: int | None) -> str:
    """``2024-05-01T10:00:00+02:00`` from WordPress's local time and its UTC twin (the
    site's offset at that moment); with no UTC twin, ``fallback``, else UTC."""
    try:
        when = datetime.strptime(local.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ""
    offset = offset_minutes(local, gmt)
    if offset is None:
        offset = fallback or 0
    return when.replace(tzinfo=timezone(timedelta(minutes=offset))).isoformat()


def offset_minutes(local: str, gmt: str) -> int | None:
    try:
        difference = datetime.strptime(local.strip(), "%Y-%m-%d %H:%M:%S") - \
            datetime.strptime(gmt.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    minutes = round(difference.total_seconds() / 60 / 15) * 15
    return minutes if abs(minutes) <= 14 * 60 else None


def plain_text(value: str) -> str:
    """Text without tags and entities, on one line (titles, excerpts, names)."""
    text = re.sub(r"<[^>]*>", "", value)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def url_key(url: str, site_hosts: set[str], base_path: str = "") -> str:
    """How an old address is looked up: the site's own path under ``base_path`` (the
    blog's folder, "" at the root), decoded, lower-case, with a trailing slash, plus
    ``?p=``/``?page_id=``; "" for other sites' addresses."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if (host and host not in site_hosts) or parts.scheme not in ("http", "https", ""):
        return ""
    if not host and not parts.path.startswith("/"):
        return ""
    path = unquote(_under(parts.path or "/", base_path), errors="replace").lower()
    if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
        path += "/"
    query = "&".join(f"{k}={v}" for k, v in sorted(_query(parts.query).items())
                     if k in ("p", "page_id"))
    return path + ("?" + query if query else "")


def _under(path: str, base_path: str) -> str:
    """``path`` relative to the blog's folder (``/blog/2024/x/`` → ``/2024/x/``)."""
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        return path[len(base_path):] or "/"
    return path


def _query(text: str) -> dict[str, str]:
    found = {}
    for pair in text.split("&"):
        name, _, value = pair.partition("=")
        if name and value.isdigit():
            found[name] = value
    return found


def make_plan(items: list[Item], terms: list[Term], languages: Languages,
              site_hosts: set[str], base_path: str = "") -> Plan:
    notes: list[str] = []
    offsets = Counter(o for i in items if (o := offset_minutes(i.post_date, i.post_date_gmt))
                      is not None)
    usual = offsets.most_common(1)[0][0] if offsets else None
    term_ids = {(t.taxonomy, t.term_id): t.slug for t in terms}
    categories = _taxonomy(("category",), "category", terms, items, languages, term_ids)
    tags = _taxonomy(("post_tag", "tag"), "post_tag", terms, items, languages, term_ids)
    entries: dict[int, Entry] = {}
    by_id = {i.post_id: i for i in items}
    pages = {i.post_id for i in items if i.post_type == "page"}
    parents = {i.parent for i in items if i.post_type == "page" and i.parent in pages}
    section_names: dict[str, dict[str, str]] = {}
    used: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    section_keys: dict[str, set[str]] = {}
    for item in sorted(items, key=lambda i: (i.post_type != "post", i.post_id)):
        lang = languages.language(item.post_id)
        entry = Entry(item.post_id, "article" if item.post_type == "post" else "page", lang,
                      (), "")
        entry.draft = item.status in DRAFT_STATUSES or bool(item.password) or \
            item.status not in ("publish", "future", *DRAFT_STATUSES)
        if item.password:
            entry.notes.append("password-protected: imported as a draft (a static site "
                               "cannot protect it)")
        post_categories = [t.nicename for t in item.terms if t.domain == "category" and
                           t.nicename]
        entry.categories = _unique(categories.key_of.get(n, "") for n in post_categories
                                   if n.lower() not in UNCATEGORIZED)
        entry.tags = _unique(tags.key_of.get(t.nicename, "") for t in item.terms
                             if t.domain in ("post_tag", "tag") and t.nicename)
        if entry.kind == "article":
            section = _section(item, post_categories, categories, term_ids)
            if section in RESERVED:
                section += "-section"
            entry.section = section
            entry.folder = (section,)
            names = section_names.setdefault(section, {})
            name = categories.names.get(section, {}).get(lang) or \
                (SECTION_NAMES.get(lang.split("-")[0], "News") if section == DEFAULT_SECTION
                 else "")
            if name:
                names.setdefault(lang, name)
            section_keys.setdefault(lang, set()).add(section)
            # A draft has no UTC date: its last edit's offset, else the site's usual one.
            fallback = offset_minutes(item.modified, item.modified_gmt)
            date = local_date(item.post_date, item.post_date_gmt,
                              usual if fallback is None else fallback) \
                if item.post_date != NO_DATE else ""
            if not date and item.modified and item.modified != NO_DATE:
                date = local_date(item.modified, item.modified_gmt, usual)
                entry.notes.append("no publication date: the last modified date is used")
            entry.date = date
        entry.updated = local_date(item.modified, item.modified_gmt, usual) \
            if item.modified and item.modified != NO_DATE else ""
        if entry.updated and entry.date and entry.updated <= entry.date:
            entry.updated = ""
        entries[item.post_id] = entry
    for item in sorted(items, key=lambda i: (i.post_type != "post",
                                             _depth(i, by_id, pages), i.post_id)):
        entry = entries[item.post_id]
        if entry.kind == "page":
            entry.folder = _ancestors(item, by_id, entries, pages, notes)
            entry.branch = item.post_id in parents
        taken = used.setdefault((entry.lang, entry.folder), set())
        if not entry.folder:
            taken |= section_keys.get(entry.lang, set())
        fallback = segment(plain_text(item.title), f"{item.post_type}-{item.post_id}")
        slug = segment(item.name, fallback)
        if slug in taken or slug in RESERVED:
            new = f"{slug}-{item.post_id}"
            entry.notes.append(f"slug {slug!r} already used here: written as {new!r}")
            slug = new
        taken.add(slug)
        entry.slug = slug
    _translation_keys(entries, languages)
    links, redirects = _aliases(items, entries, languages, site_hosts, base_path, notes)
    sections = Taxonomy({}, {k: v for k, v in section_names.items() if v})
    return Plan(entries, sections, categories, tags, usual, redirects, notes, links)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _section(item: Item, nicenames: list[str], categories: Taxonomy,
             term_ids: Mapping[tuple[str, int], str]) -> str:
    primary = item.meta_value("_yoast_wpseo_primary_category").strip()
    if primary.isdigit():
        nicename = term_ids.get(("category", int(primary)))
        if nicename and nicename.lower() not in UNCATEGORIZED and nicename in nicenames:
            return categories.key_of.get(nicename, DEFAULT_SECTION)
    for nicename in nicenames:
        if nicename.lower() not in UNCATEGORIZED:
            return categories.key_of.get(nicename, DEFAULT_SECTION)
    return DEFAULT_SECTION


def _ancestors(item: Item, by_id: Mapping[int, Item], entries: Mapping[int, Entry],
               pages: set[int], notes: list[str]) -> tuple[str, ...]:
    chain: list[str] = []
    seen = {item.post_id}
    parent = item.parent
    while parent:
        if parent in seen:
            notes.append(f"page {item.post_id}: its parents form a loop; placed at the top")
            return ()
        if parent not in pages:
            if parent not in by_id:
                notes.append(f"page {item.post_id}: parent {parent} is not in the export; "
                             "placed under its nearest imported parent")
            break
        seen.add(parent)
        chain.append(parent)
        parent = by_id[parent].parent
    folder: list[str] = []
    for ancestor in reversed(chain):
        entry = entries[ancestor]
        folder.append(entry.slug or segment(by_id[ancestor].name, f"page-{ancestor}"))
    return tuple(folder)


def _taxonomy(domains: tuple[str, ...], taxonomy: str, terms: list[Term], items: list[Item],
              languages: Languages, term_ids: Mapping[tuple[str, int], str]) -> Taxonomy:
    """Keys (the default language's slug of each translated term) and names per language."""
    declared = {t.slug: t for t in terms if t.taxonomy == taxonomy}
    code_of = {raw: code for code, raw in languages.prefixes.items()}
    group_of: dict[str, list[tuple[str, str]]] = {}  # nicename → [(lang, nicename)] of group
    for term in terms:
        if term.taxonomy == "term_translations":
            members = []
            for lang, term_id in (load_array(term.description) or {}).items():
                nicename = term_ids.get((taxonomy, int(term_id))) \
                    if str(term_id).isdigit() else None
                code = code_of.get(str(lang))
                if nicename and code:
                    members.append((code, nicename))
            for _, nicename in members:
                group_of[nicename] = members
    wpml: dict[str, list[tuple[str, str]]] = {}
    for term in declared.values():
        group = term.meta_value("_wpml_import_translation_group")
        code = term.meta_value("_wpml_import_language_code")
        if group and code:
            wpml.setdefault(group, []).append((code, term.slug))
    for members in wpml.values():
        for _, nicename in members:
            group_of.setdefault(nicename, members)
    used: dict[str, dict[str, str]] = {}  # nicename → lang → name
    for item in items:
        lang = languages.language(item.post_id)
        for term in item.terms:
            if term.domain in domains and term.nicename:
                used.setdefault(term.nicename, {}).setdefault(lang, term.name)
    key_of: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {}
    for nicename in sorted(set(used) | set(declared)):
        members = group_of.get(nicename, [])
        lead = next((n for c, n in members if c == languages.default), None) or \
            (min(n for _, n in members) if members else nicename)
        key = segment(lead, "term")
        key_of[nicename] = key
        term_languages = {c for c, n in members if n == nicename}
        for lang, name in used.get(nicename, {}).items():
            if not term_languages or lang in term_languages:
                names.setdefault(key, {}).setdefault(lang, plain_text(name))
        if nicename in declared and not used.get(nicename):
            for lang in term_languages:
                names.setdefault(key, {}).setdefault(lang, plain_text(declared[nicename].name))
    _distinct_names(names, key_of, declared)
    return Taxonomy(key_of, names)


def _distinct_names(names: dict[str, dict[str, str]], key_of: Mapping[str, str],
                    declared: Mapping[str, Term]) -> None:
    """Two terms of one language with the same name (WordPress allows it under different
    parents) would get the same list page: the later one is named after its parent
    ("Foo A (Foo Parent)"), else its key."""
    lead = {key: nicename for nicename, key in sorted(key_of.items(), reverse=True)}
    by_name: dict[tuple[str, str], list[str]] = {}
    for key in sorted(names):
        for lang, name in names[key].items():
            by_name.setdefault((lang, name.casefold()), []).append(key)
    for (lang, _), keys in by_name.items():
        for key in keys[1:]:
            term = declared.get(lead.get(key, ""))
            parent = declared.get(term.parent) if term is not None and term.parent else None
            suffix = plain_text(parent.name) if parent is not None else key
            names[key][lang] = f"{names[key][lang]} ({suffix})"


def _translation_keys(entries: dict[int, Entry], languages: Languages) -> None:
    """Members of one group share the path of the default language's member (else the
    oldest's) as their key. A post without translations keeps its path as its key,
    unless another language has a post at the same path or a group claimed it: newshub
    would link those, so it gets a key of its own."""
    groups: dict[int, list[Entry]] = {}
    for entry in entries.values():
        groups.setdefault(languages.group_of.get(entry.post_id, entry.post_id), []).append(entry)
    claimed: dict[str, int] = {}
    for group, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        lead = next((m for m in members if m.lang == languages.default), None) or \
            min(members, key=lambda m: m.post_id)
        key = lead.path_key if lead.path_key not in claimed else f"{lead.path_key}-{group}"
        claimed[key] = group
        for member in members:
            member.key = key
    paths = Counter(e.path_key for e in entries.values() if not e.key)
    for entry in entries.values():
        if not entry.key and (paths[entry.path_key] > 1 or entry.path_key in claimed):
            entry.key = f"{entry.path_key}-{entry.post_id}"


def _depth(item: Item, by_id: Mapping[int, Item], pages: set[int]) -> int:
    depth, parent, seen = 0, item.parent, {item.post_id}
    while parent in pages and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = by_id[parent].parent
    return depth


def _aliases(items: list[Item], entries: dict[int, Entry], languages: Languages,
             site_hosts: set[str], base_path: str,
             notes: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Each public post's old addresses; those claimed twice or equal to a new address
    are dropped. Returns the lookup for links inside bodies and the redirect list."""
    candidates: dict[str, list[tuple[int, str]]] = {}
    links: dict[str, str] = {}
    for item in items:
        entry = entries[item.post_id]
        forms = _old_addresses(item, entry, languages, site_hosts, base_path)
        for form in forms:
            if (k := url_key(form, site_hosts)):
                links.setdefault(k, entry.url)
        if entry.draft:
            continue
        for form in forms:
            candidates.setdefault(form, []).append((item.post_id, form))
    new_addresses = {e.url for e in entries.values()} | \
        {f"/{e.lang}/{e.section}/" for e in entries.values() if e.section} | \
        {f"/{code}/" for code in languages.codes} | {"/"}
    new_addresses = {unquote(a).lower() for a in new_addresses}
    redirects = []
    dropped = 0
    for form, claims in sorted(candidates.items()):
        owners = {post_id for post_id, _ in claims}
        if len(owners) > 1 or unquote(form).lower() in new_addresses:
            dropped += 1
            continue
        entry = entries[claims[0][0]]
        entry.aliases.append(form)
        redirects.append((form, quote(entry.url, safe="/")))
    if dropped:
        notes.append(f"{dropped} old addresses left out: each was claimed by two posts or is "
                     "an address of the new site")
    return links, redirects


def _old_addresses(item: Item, entry: Entry, languages: Languages, site_hosts: set[str],
                   base_path: str) -> list[str]:
    forms: list[str] = []
    seen: set[str] = set()

    def add(form: str) -> None:
        form = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form)
        decoded = unquote(form.partition("?")[0], errors="replace")
        if re.search(r"%(?:2f|5c|00)", form) or re.search(r"[\x00-\x1f\x7f\\\s]", decoded) \
                or any(part in (".", "..") for part in decoded.split("/")):
            return  # not an address WordPress makes; a redirect there could leave the site
        if form and form != "/" and unquote(form).lower() not in seen:
            seen.add(unquote(form).lower())
            forms.append(form)

    for url in (item.link, item.guid):
        parts = urlsplit(url)
        if ((parts.hostname or "").lower() in site_hosts and parts.path.startswith("/")) or \
                ((parts.hostname or "").lower() in site_hosts and parts.query):
            add(_path(_under(parts.path or "/", base_path), parts.query))
    add(f"/?p={item.post_id}")
    if entry.kind == "page":
        add(f"/?page_id={item.post_id}")
    name = quote(unquote(item.name), safe="-._~%") if item.name else ""
    date = re.match(r"(\d{4})-(\d{2})-(\d{2})", item.post_date)
    paths = [f for f in forms if "?" not in f]
    if entry.kind == "article" and name:
        if date and item.post_date != NO_DATE:
            year, month, day = date.groups()
            paths += [f"/{year}/{month}/{day}/{name}/", f"/{year}/{month}/{name}/"]
        paths.append(f"/{name}/")
    for path in paths:
        add(path)
    if languages.plugin:
        prefix = languages.prefixes.get(entry.lang, entry.lang)
        for path in paths:
            if not path.lower().startswith(f"/{prefix.lower()}/"):
                add(f"/{prefix}{path}")
    return forms


def _path(path: str, query: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in _query(query).items() if k in ("p", "page_id"))
    return re.sub(r"/{2,}", "/", path or "/") + ("?" + query if query else "")
