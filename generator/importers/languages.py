"""Languages and translations in a WordPress export: Polylang's and WPML's.

Polylang keeps them in taxonomies, which the WordPress exporter writes: each item names
its language as ``<category domain="language" nicename="fr">`` and its translation group
as ``<category domain="post_translations" nicename="pll_…">``; the group's term, at the
top of the export, holds a PHP-serialised map language → post ID in its description, and
each language's term its locale. Categories and tags are grouped the same way by
``term_translations`` terms.

WPML keeps them in its own table (``icl_translations``: language code and ``trid``, the
translation group), which the WordPress exporter does not write. What reaches an export,
and is read here, in this order:

- the custom fields WPML's "Export and Import" add-on writes before an export (it is
  WPML's documented way to move multilingual content): ``_wpml_import_language_code``,
  ``_wpml_import_translation_group`` (the ``trid`` an original shares with its
  translations) and ``_wpml_import_source_language_code`` (empty on the original), as
  postmeta of items and termmeta of terms;
- ``_icl_lang_duplicate_of``, which WPML core sets on a post duplicated into another
  language (the value is the original's ID: same group);
- ``_wpml_language`` / ``wpml_language`` and ``<wp:translation lang="…" post_id="…"/>``,
  which some WPML export tools (wpml2mlp) write; accepted, not relied on;
- else the language in each item's address (``/fr/…`` or ``?lang=fr``), as both plugins
  write permalinks, when that code is one of the languages found.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from babel import Locale, UnknownLocaleError
from babel.core import parse_locale

from generator.importers.phpserial import load_array
from generator.importers.wxr import Item, Term

WPML_LANGUAGE = "_wpml_import_language_code"
WPML_GROUP = "_wpml_import_translation_group"
WPML_SOURCE = "_wpml_import_source_language_code"
WPML_DUPLICATE = "_icl_lang_duplicate_of"
WPML_OTHER_LANGUAGE = ("_wpml_language", "wpml_language")
WPML_KEYS = (WPML_LANGUAGE, WPML_GROUP, WPML_SOURCE, WPML_DUPLICATE, *WPML_OTHER_LANGUAGE)
CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")


@dataclass(frozen=True, slots=True)
class PostLanguage:
    """What one item says about its language (read in the first pass)."""

    post_id: int
    raw: str  # the language code as the plugin wrote it ("" when it says nothing)
    group: str  # the plugin's group name ("pll_…" or a WPML trid), "" for none
    source: str  # WPML's source language code
    duplicate_of: int
    links: tuple[tuple[str, int], ...]  # <wp:translation> pairs
    link: str

    @classmethod
    def of(cls, item: Item) -> PostLanguage:
        raw = group = ""
        for term in item.terms:
            if term.domain == "language" and not raw:
                raw = term.nicename
            elif term.domain == "post_translations" and not group:
                group = "pll:" + term.nicename
        raw = raw or item.meta_value(WPML_LANGUAGE) or item.wpml_language or next(
            (v for k in WPML_OTHER_LANGUAGE if (v := item.meta_value(k))), "")
        wpml_group = item.meta_value(WPML_GROUP).strip()
        group = group or ("wpml:" + wpml_group if wpml_group else "")
        duplicate = item.meta_value(WPML_DUPLICATE).strip()
        return cls(item.post_id, raw.strip(), group, item.meta_value(WPML_SOURCE).strip(),
                   int(duplicate) if duplicate.isdigit() else 0, item.translations, item.link)


@dataclass(frozen=True, slots=True)
class Languages:
    plugin: str  # "Polylang", "WPML" or "" (one language)
    default: str  # BCP 47
    codes: tuple[str, ...]  # the default first
    of_post: Mapping[int, str]  # post ID → code
    group_of: Mapping[int, int]  # post ID → its group's smallest post ID (itself alone)
    prefixes: Mapping[str, str]  # code → the URL prefix the old site used ("pt-br")
    notes: tuple[str, ...]

    def language(self, post_id: int) -> str:
        return self.of_post.get(post_id, self.default)


def bcp47(raw: str) -> str | None:
    """``pt_BR``/``pt-br`` → ``pt-BR``, ``zh-hans`` → ``zh-Hans``; None if not a code."""
    raw = raw.strip()
    if not CODE.match(raw):
        return None
    try:
        language, territory, script, variant = parse_locale(raw.replace("_", "-"), sep="-")[:4]
    except ValueError:
        return raw.split("-")[0].split("_")[0].lower()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if territory:
        parts.append(territory.upper())
    if variant:
        parts.append(variant.lower())
    return "-".join(parts)


def endonym(code: str) -> str:
    """The language's own name, capitalised as a menu item (CLDR through Babel)."""
    try:
        name = Locale.parse(code, sep="-").get_display_name() or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


def url_language(link: str, known: Iterable[str]) -> str:
    """The language code an address names (``/fr/…`` or ``?lang=fr``), if known."""
    parts = urlsplit(link)
    known = {k.lower(): k for k in known}
    query = (parse_qs(parts.query).get("lang") or [""])[0].lower()
    if query in known:
        return known[query]
    first = parts.path.strip("/").split("/")[0].lower()
    return known.get(first, "")


def resolve(posts: list[PostLanguage], terms: list[Term], channel_language: str) -> Languages:
    """Each post's language and translation group, and the site's languages."""
    notes: list[str] = []
    language_terms = {t.slug: t for t in terms if t.taxonomy == "language"}
    polylang = bool(language_terms) or any(p.group.startswith("pll:") for p in posts)
    wpml = any(p.group.startswith("wpml:") or p.duplicate_of or p.links or p.source
               for p in posts)
    plugin = "Polylang" if polylang else "WPML" if wpml else ""
    raw_codes = {p.raw for p in posts if p.raw} | set(language_terms) | \
        {lang for p in posts for lang, _ in p.links if lang}
    if not plugin and raw_codes:
        plugin = "WPML"
    prefixes: dict[str, str] = {}
    for raw in sorted(raw_codes):
        code = bcp47(raw)
        if code is None:
            notes.append(f"language {raw!r} is not a language code: its posts go to the "
                         "default language")
        else:
            prefixes.setdefault(code, raw)
    raw_to_code = {raw: code for code, raw in prefixes.items()}
    for raw in raw_codes:
        if raw not in raw_to_code and (code := bcp47(raw)):
            raw_to_code[raw] = code
    of_post: dict[int, str] = {}
    from_url = 0
    for post in posts:
        code = raw_to_code.get(post.raw, "")
        if not code and plugin:
            found = url_language(post.link, prefixes.values())
            code = raw_to_code.get(found, "")
            from_url += bool(code)
        if code:
            of_post[post.post_id] = code
    if from_url:
        notes.append(f"{from_url} items had no language data: taken from their address "
                     "(/<lang>/… or ?lang=)")
    default = _default(posts, of_post, channel_language, prefixes)
    if plugin and len(prefixes) > 0:
        notes.append(f"languages from {plugin}: {', '.join(sorted(prefixes))}; default "
                     f"{default}")
    codes = (default, *sorted(c for c in prefixes if c != default))
    group_of = _groups(posts, terms, of_post, default, notes)
    return Languages(plugin, default, codes, of_post, group_of, prefixes, tuple(notes))


def _default(posts: list[PostLanguage], of_post: Mapping[int, str], channel_language: str,
             prefixes: Mapping[str, str]) -> str:
    channel = bcp47(channel_language.replace("_", "-")) if channel_language else None
    if not prefixes:  # one language: the channel's ("en-US" → "en")
        return channel.split("-")[0] if channel else "en"
    if channel:
        for candidate in (channel, channel.split("-")[0]):
            if candidate in prefixes:
                return candidate
    sources = Counter(bcp47(p.source) for p in posts if p.source and bcp47(p.source))
    if sources:
        return sources.most_common(1)[0][0] or ""
    counted = Counter(of_post.values())
    return sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counted else \
        sorted(prefixes)[0]


def _groups(posts: list[PostLanguage], terms: list[Term], of_post: Mapping[int, str],
            default: str, notes: list[str]) -> dict[int, int]:
    parent: dict[int, int] = {p.post_id: p.post_id for p in posts}

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(a: int, b: int) -> None:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

    by_group: dict[str, list[int]] = {}
    for post in posts:
        if post.group:
            by_group.setdefault(post.group, []).append(post.post_id)
        if post.duplicate_of:
            union(post.post_id, post.duplicate_of)
        for _, other in post.links:
            union(post.post_id, other)
    for term in terms:
        if term.taxonomy == "post_translations":
            mapping = load_array(term.description) or {}
            ids = [int(v) for v in mapping.values() if isinstance(v, int | str) and
                   str(v).isdigit()]
            for other in ids[1:]:
                union(ids[0], other)
    for members in by_group.values():
        for other in members[1:]:
            union(members[0], other)
    groups: dict[int, list[int]] = {}
    for post in posts:
        groups.setdefault(find(post.post_id), []).append(post.post_id)
    result: dict[int, int] = {}
    split = 0
    for members in groups.values():
        seen: set[str] = set()
        for member in sorted(members):
            lang = of_post.get(member, default)
            if lang in seen:  # two posts of one language cannot be translations
                result[member] = member
                split += 1
            else:
                seen.add(lang)
                result[member] = min(members)
    if split:
        notes.append(f"{split} posts named a translation group that already had a post in "
                     "their language: imported unlinked")
    return result
