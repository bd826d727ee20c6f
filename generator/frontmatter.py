"""Front matter: the settings at the top of a Markdown file, read as untrusted input.

YAML between ``---`` lines (as newshub writes it), and what Hugo sites also use: TOML
between ``+++`` lines, or a JSON object. Blank lines may come first. Keys are
case-insensitive as in Hugo (``Title`` is ``title``), and Hugo's names are read as
newshub's (``translationKey``, ``lastmod``, ``linkTitle``, ``publishDate``, ``cover.image``…).
The work is bounded: YAML anchors and aliases are refused, size and nesting capped.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any

import yaml

TEXT_KEYS = frozenset({"title", "summary", "description", "image", "image_alt", "slug",
                       "translation_key", "translationkey", "translation_of", "linktitle",
                       "link_title", "url", "author"})
LIST_KEYS = frozenset({"tags", "categories", "aliases", "keywords"})
FRONT_MATTER_LIMIT = 64 * 1024  # characters; real front matter stays under 2 KB
NESTING_LIMIT = 20  # lists and mappings inside one another, in one value
# Hugo's names (lowercased, as Hugo reads them) → newshub's.
SYNONYMS = {
    "translationkey": "translation_key", "linktitle": "link_title",
    "publishdate": "publish_date", "pubdate": "publish_date",
    "expirydate": "expiry_date", "unpublishdate": "expiry_date",
    "featured_image": "image", "featuredimage": "image", "lastmod": "updated",
    "modified": "updated",
}
YAML_KEY_LINE = re.compile(r"([A-Za-z_][\w-]*)\s*:")  # a top-level key, for its line number
TOML_KEY_LINE = re.compile(r"""["']?([A-Za-z_][\w-]*)["']?\s*=""")
JSON_KEY_LINE = re.compile(r"""\s*"([A-Za-z_][\w-]*)"\s*:""")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """Parsed front matter with the line each key starts on."""

    values: Mapping[str, Any]
    lines: Mapping[str, int]
    body: str
    body_line: int


def parse_front_matter(text: str) -> FrontMatter:
    """Split front matter from the body; raise ``FrontMatterError`` with its line."""
    text = text.removeprefix("\ufeff")
    if text.startswith("---\n"):
        found = _yaml_split(text)
        if found is not None:
            return found
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    opener = lines[start].rstrip() if start < len(lines) else ""
    if opener in ("---", "+++"):
        closers = ("---", "...") if opener == "---" else ("+++",)
        end = next((i for i, line in enumerate(lines[start + 1:], start + 1)
                    if line.rstrip() in closers), None)
        if end is None:
            raise FrontMatterError(start + 1, f"front matter is not closed: add a '{opener}' "
                                              "line after it")
        block = "\n".join(lines[start + 1:end])
        _check_size(block)
        first = start + 2  # the line of the block's first line
        values = _yaml(block, first) if opener == "---" else _toml(block, first)
        key_line = YAML_KEY_LINE if opener == "---" else TOML_KEY_LINE
        lines_of = _key_lines(lines[start + 1:end], first, key_line)
        body, body_line = "\n".join(lines[end + 1:]), end + 2
    elif opener.startswith("{"):
        values, body, body_line, lines_of = _json(text, start)
    else:
        raise MissingFrontMatter(1, "no front matter: the page is titled from its file "
                                    "name; start the file with a '---' line, then "
                                    "'title: …', then '---'")
    if not isinstance(values, dict):
        raise FrontMatterError(start + 1, "front matter must be a mapping of 'key: value' lines")
    for key, value in values.items():
        if isinstance(value, list | dict) and _too_deep(value):
            raise FrontMatterError(lines_of.get(str(key).lower(), start + 1), TOO_DEEP)
    normal, normal_lines = _normalised(values, lines_of)
    return FrontMatter(normal, normal_lines, body, body_line)


def _yaml_split(text: str) -> FrontMatter | None:
    """``parse_front_matter`` of a text starting with a ``---`` line, reading only the
    front matter's lines: the body is the text after its closing line, not a split
    of the whole file joined again. None when it is not closed (the caller reports it)."""
    closer = _closing_line(text)
    if closer is None:
        return None
    start, end = closer
    block = text[4:start - 1] if start > 4 else ""
    _check_size(block)
    lines_of: dict[str, int] = {}
    values = simple_yaml(block, lines_of)  # (its keys' lines found as it reads them; its
    if values is None:  # lists hold no list: never too deep)
        values = _yaml(block, 2)
        lines_of = _key_lines(block.split("\n"), 2, YAML_KEY_LINE)
        if not isinstance(values, dict):
            raise FrontMatterError(1, "front matter must be a mapping of 'key: value' lines")
        for key, value in values.items():
            if isinstance(value, list | dict) and _too_deep(value):
                raise FrontMatterError(lines_of.get(str(key).lower(), 1), TOO_DEEP)
    normal, normal_lines = _normalised(values, lines_of)
    body = text[end + 1:] if end < len(text) else ""
    return FrontMatter(normal, normal_lines, body, block.count("\n") + (4 if start > 4 else 3))


def _closing_line(text: str) -> tuple[int, int] | None:
    """Where the line closing front matter opened by a ``---`` line starts and ends: the
    first after it starting with ``---`` or ``...`` and nothing else but spaces (its
    rstrip() is one of them, as ``parse_front_matter`` reads it); None when there is
    none. Found with a few searches, not by a pattern tried at every character."""
    at = 3  # the end of the line before the first one that may close it
    while True:  # (dots looked for only before the dashes: rare, they cost a whole search)
        dashes = text.find("\n---", at)
        dots = text.find("\n...", at, dashes if dashes >= 0 else len(text))
        found = min(dashes, dots) if dashes >= 0 and dots >= 0 else max(dashes, dots)
        if found < 0:
            return None
        start = found + 1
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        if text[start:end].rstrip() in ("---", "..."):
            return start, end
        at = end


def _normalised(values: Mapping[Any, Any], lines: Mapping[str, int]) -> tuple[
        dict[str, Any], dict[str, int]]:
    """Keys lowercased and Hugo's names made newshub's (the first spelling wins); an
    image from Hugo's ``images`` list or ``cover`` table when there is no ``image``."""
    found: dict[str, Any] = {}
    where: dict[str, int] = {}
    for key, value in values.items():
        name = str(key).lower()
        name = SYNONYMS.get(name, name)
        if name not in found:
            found[name] = value
            if str(key).lower() in lines:
                where[name] = lines[str(key).lower()]
    cover = found.get("cover")
    if "image" not in found and isinstance(cover, dict) and isinstance(cover.get("image"), str):
        found["image"] = cover["image"]
        if isinstance(cover.get("alt"), str) and "image_alt" not in found:
            found["image_alt"] = cover["alt"]
        where.setdefault("image", where.get("cover", 1))
    images = found.get("images")
    if "image" not in found and isinstance(images, list) and images and \
            isinstance(images[0], str):
        found["image"] = images[0]
        where.setdefault("image", where.get("images", 1))
    return found, where


def _key_lines(block: list[str], first: int, pattern: re.Pattern[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, line in enumerate(block, first):
        match = pattern.match(line)
        if match and match.group(1).lower() not in found:
            found[match.group(1).lower()] = number
    return found


def _check_size(block: str) -> None:
    if len(block) > FRONT_MATTER_LIMIT:
        raise FrontMatterError(1, f"front matter is {len(block) // 1024} KB, over the "
                                  f"{FRONT_MATTER_LIMIT // 1024} KB limit: long text "
                                  "belongs in the body")


def _yaml(block: str, first: int) -> Any:
    """YAML front matter (``first``: the file line of its first line)."""
    simple = simple_yaml(block)
    if simple is not None:
        return simple
    if "&" in block or "*" in block:  # no anchor or alias can be written without them
        _refuse_anchors(block, first)
    try:
        values = yaml.load(block, Loader=FrontMatterLoader) or {}
    except yaml.reader.ReaderError as exc:  # a character YAML refuses (DEL, C1 controls)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise FrontMatterError(first + block.count("\n", 0, exc.position),
                               f"invalid YAML in front matter: character U+{code:04X} is not "
                               f"allowed ({exc.reason}); remove it") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.line > block.count("\n"):  # past the end: where it began
            mark = getattr(exc, "context_mark", None) or mark
        line = mark.line + first if mark else first
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:
            raise FrontMatterError(line, TOO_DEEP) from exc
        raise FrontMatterError(line, f"invalid YAML in front matter: {problem}") from exc
    except RecursionError as exc:  # the pure-Python parser, where libyaml is missing
        raise FrontMatterError(first, TOO_DEEP) from exc
    return values


# Most front matter is `key: value` lines: read without the YAML parser (a tenth of a
# page's parse) when every line has one of the forms below, whose values are what the
# loader makes of them; any other line, and the block goes to the loader.
# (A plain value is matched greedily up to its last character but a space: a lazy .*?
# tried the end of the line after each character, twice the time of the whole line.)
SIMPLE_LINE = re.compile(r"""([A-Za-z_][A-Za-z0-9_-]*):"""
                         r"""(?: +(?:"([^"\\]*)"|'([^']*)'|(.*[^ ])))? *""")
QUOTED = re.compile(r""""([^"\\]*)"|'([^']*)'""")
QUOTES = ("'", '"')
# A plain scalar's first character may not be one of YAML's indicators (or a space).
INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
# Characters that make a block not simple: what YAML refuses or reads as a line break,
# a byte order mark, a tab or a CR, and anchors and aliases' marks (& and *).
# (One class: an alternation of two would be tried at each character.)
NOT_SIMPLE = re.compile("[^\n\x20-\x25\x27-\x29\x2b-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe"
                        "\uff00-\ufffd\U00010000-\U0010ffff]")
FLOW_MARK = re.compile(r"""[\[\]{},:#'"]""")  # in a list, an item with one: the loader's
DECIMAL = re.compile(r"0|[1-9][0-9]*")
BOOL_TAG, INT_TAG = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int"
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})  # what YAML's null resolver matches


class _NotSimple(Exception):
    """A value the fast path leaves to the YAML loader."""


def simple_yaml(block: str, lines: dict[str, int] | None = None) -> dict[str, Any] | None:
    """The values of a block of ``key: value`` lines (text, quoted text without escapes,
    true/false, whole numbers, empty, one-line lists of such), exactly as
    ``FrontMatterLoader`` reads them; None when a line is anything else. ``lines`` (of
    a block starting on the file's line 2) gets each key's line, lowercased, as
    ``_key_lines`` finds them."""
    if NOT_SIMPLE.search(block):
        return None
    values: dict[str, Any] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(block.split("\n"), 2):
        if not line or line[0] == "#":
            continue
        read = _READ_LINES.get(line) or _read_line(line)
        if read is None or read[0] in values:
            return None
        key, name, value = read
        values[key] = value.copy() if type(value) is list else value
        where.setdefault(name, number)
    if lines is not None and values:
        lines.update(where)
    return values or None  # an empty block (or comments only): the loader's None


# Lines read before whose value is not text (lists of tags, true/false, numbers): many
# pages share them. (Text, such as a title or a date, is seldom on two pages.)
_READ_LINES: dict[str, tuple[str, str, Any]] = {}
READ_LINES_KEPT = 4096


def _read_line(line: str) -> tuple[str, str, Any] | None:
    """A ``key: value`` line's key, lowercased key and value; None when the line is
    not of a form ``simple_yaml`` reads."""
    match = SIMPLE_LINE.fullmatch(line)
    if match is None:
        return None
    key, double, single, plain = match.groups()
    if not _text_key(key):
        return None
    name = key.lower()
    try:
        value = double if double is not None else single if single is not None \
            else _plain_value(name, plain or "")
    except _NotSimple:
        return None
    if type(value) is not str:
        if len(_READ_LINES) >= READ_LINES_KEPT:
            _READ_LINES.clear()
        _READ_LINES[line] = (key, name, value)
    return key, name, value


@cache
def _text_key(key: str) -> bool:
    """Whether YAML reads this key as text (``yes`` is true, ``null`` None)."""
    return _tag(key) == STRING_TAG


def _plain_value(name: str, text: str) -> Any:
    if text[:1] == "[":
        return _list(text, name in LIST_KEYS)
    return _scalar(text, name in TEXT_KEYS or name in LIST_KEYS)


def _list(text: str, as_written: bool) -> list[Any]:
    """A one-line flow list: ``[a, "b c", 3]``."""
    if not text.endswith("]"):
        raise _NotSimple
    inner = text[1:-1]
    if not inner.strip(" "):
        return []
    items = [item.strip(" ") for item in inner.split(",")]
    if not all(items):  # an error ([a, , b]) or dropped ([a, b, ]): the loader's to say
        raise _NotSimple
    return [_scalar(item, as_written, flow=True) for item in items]


def _scalar(text: str, as_written: bool, *, flow: bool = False) -> Any:
    """One value: quoted text as it is, a plain one as YAML's resolver types it (or as
    written, for a text field; empty stays unset)."""
    quoted = QUOTED.fullmatch(text) if text[:1] in QUOTES else None
    if quoted is not None:
        return quoted[1] if quoted[1] is not None else quoted[2]
    if text[:1] in INDICATORS or ": " in text or " #" in text or text.endswith(":") or \
            (flow and FLOW_MARK.search(text)):
        raise _NotSimple
    if as_written:  # (no other tag needed: the resolvers are not asked)
        return None if text in NULL_WORDS else text
    tag = _tag(text)
    if tag == NULL_TAG:
        return None
    if tag == STRING_TAG:
        return text
    if tag == BOOL_TAG:
        return FrontMatterLoader.bool_values[text.lower()]
    if tag == INT_TAG and DECIMAL.fullmatch(text):
        return int(text)
    raise _NotSimple


def _tag(plain: str) -> str:
    """The tag YAML's resolver gives a plain scalar (``BaseResolver.resolve``, with the
    loader's table: no timestamps)."""
    for tag, pattern in RESOLVERS.get(plain[:1], ANY_FIRST):
        if pattern.match(plain):
            return tag
    return STRING_TAG


def _toml(block: str, first: int) -> dict[str, Any]:
    """TOML front matter; its dates become text as YAML's stay (the zone as written)."""
    try:
        values = tomllib.loads(block)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = first + int(match.group(1)) - 1 if match else first
        raise FrontMatterError(line, f"invalid TOML in front matter: {exc}") from exc
    except RecursionError as exc:  # tomllib reads nested arrays and tables recursively
        raise FrontMatterError(first, TOO_DEEP) from exc
    return {key: _as_text_date(value) for key, value in values.items()}


def _json(text: str, start: int) -> tuple[Any, str, int, dict[str, int]]:
    """A JSON object at the top of the file, then the body."""
    lines = text.split("\n")
    offset = sum(len(line) + 1 for line in lines[:start])
    window = text[:offset + FRONT_MATTER_LIMIT]  # a longer object cannot end inside it
    try:
        values, end = json.JSONDecoder().raw_decode(window, offset)
    except json.JSONDecodeError as exc:
        over = f" (or it is over the {FRONT_MATTER_LIMIT // 1024} KB limit)" \
            if len(window) < len(text) else ""
        raise FrontMatterError(exc.lineno, f"invalid JSON in front matter{over}: "
                                           f"{exc.msg}") from exc
    except RecursionError as exc:  # the decoder reads nested arrays recursively
        raise FrontMatterError(start + 1, TOO_DEEP) from exc
    _check_size(text[offset:end])
    end_line = text.count("\n", 0, end)
    rest = text[end:]
    body = rest.split("\n", 1)[1] if "\n" in rest else ""
    block = lines[start:end_line + 1]
    return values, body, end_line + 2, _key_lines(block, start + 1, JSON_KEY_LINE)


def _as_text_date(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


class FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml's C parser where present) that keeps dates as text, so
    their time zone survives as written."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Most values are plain strings: take them as they are (what the string
        # constructor returns) without the general bookkeeping for each node.
        if node.__class__ is yaml.ScalarNode and node.tag == STRING_TAG:
            return node.value
        return super().construct_object(node, deep)

    def construct_document(self, node: yaml.Node) -> Any:
        # A text field given a scalar is the text as written: `title: 2026`,
        # `title: No` and `tags: [yes, 1:30]` stay "2026", "No", "yes" and "1:30"
        # (YAML 1.1 would make them a number, false, true and 90). Empty stays unset.
        if node.__class__ is yaml.MappingNode:
            for key, value in node.value:
                if key.__class__ is not yaml.ScalarNode:
                    continue
                name = str(key.value).lower()
                if name in TEXT_KEYS:
                    _as_written(value)
                elif name in LIST_KEYS:
                    for item in value.value if value.__class__ is yaml.SequenceNode else [value]:
                        _as_written(item)
        return super().construct_document(node)


STRING_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"


def _as_written(node: yaml.Node) -> None:
    if node.__class__ is yaml.ScalarNode and node.tag != NULL_TAG:
        node.tag = STRING_TAG


FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# The resolvers ``_tag`` tries on a plain scalar, by its first character (then those for
# any), joined once.
ANY_FIRST = tuple(FrontMatterLoader.yaml_implicit_resolvers.get(None, ()))
RESOLVERS = {first: (*resolvers, *ANY_FIRST)
             for first, resolvers in FrontMatterLoader.yaml_implicit_resolvers.items()}


TOO_DEEP = (f"front matter nests lists and mappings more than {NESTING_LIMIT} levels deep; "
            "keep values flat")


def _refuse_anchors(block: str, first: int) -> None:
    """Stop at the first anchor or alias: they have no use in front matter, and aliases
    of aliases (a "billion laughs") make a few lines expand into gigabytes. Only the
    tokens are read, so this costs time and memory in proportion to the text."""
    try:
        for token in yaml.scan(block, Loader=FrontMatterLoader):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                raise FrontMatterError(token.start_mark.line + first, "YAML anchors and aliases "
                                                                   "are not allowed in front "
                                                                   "matter")
    except yaml.YAMLError:
        return  # loading it reports where the YAML is broken


def _too_deep(value: list | dict) -> bool:
    """Whether lists and mappings nest deeper than ``NESTING_LIMIT`` (level by level,
    without recursion: no depth can overflow the stack)."""
    level: list[Any] = [value]
    for _ in range(NESTING_LIMIT):
        level = [child for item in level if isinstance(item, list | dict)
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return any(isinstance(item, list | dict) for item in level)


class FrontMatterError(ValueError):
    """Front matter that cannot be read; ``line`` is in the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class MissingFrontMatter(FrontMatterError):
    """A file without front matter: Hugo builds it as a page titled from its name."""
