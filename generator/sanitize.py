"""Untrusted text made safe in one place: the raw HTML policy and attribute escaping.

Articles come from many editors and from imported exports, so a body's HTML is not
trusted. ``[markdown] html`` in site.toml says what raw HTML becomes:

- ``"safe"`` (the default): the body's final HTML goes through nh3 (the binding to
  Ammonia, a maintained allow-list sanitiser). Ordinary markup stays; scripts, styles,
  event handlers, ``javascript:``/``vbscript:``/``data:`` URLs and (readers' privacy)
  iframes, objects and embeds go, each reported with the Markdown line it came from.
- ``"escape"``: raw HTML is shown as text; what Markdown itself makes (links,
  attribute lists) is still cleaned as in "safe".
- ``"allow"``: kept as written, for teams that trust every editor; ``newshub check``
  still reports scripts, handlers and script URLs, and the pages' Content-Security-
  Policy still stops them running.

Without ``<`` or ``{`` in the Markdown, Python-Markdown can only make its own tags and
attributes, so a body is cleaned only when it holds one of them or a link whose URL has
a scheme (or an entity) worth a look: most bodies skip the sanitiser entirely.

Every attribute value newshub writes into HTML it rewrites goes through ``attribute``:
values are read (decoded) and written again escaped, never re-emitted as read.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import nh3

from generator import markup
from generator.shortcodes import REF_SCHEME

POLICIES = ("safe", "allow", "escape")
# Audio and video of the site (the audio and video shortcodes): they run no code, and
# a file from another host is blocked by the pages' policy and reported by check.
KEPT_TAGS = frozenset(nh3.ALLOWED_TAGS | {"picture", "source", "tfoot", "input", "audio",
                                          "video"})
# Removed with everything inside them (the rest keep their text when removed).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "frame",
                                  "frameset", "noscript", "template", "svg", "math",
                                  "applet"})
GLOBAL_ATTRIBUTES = frozenset({"id", "class", "title", "lang", "dir", "role"})
GLOBAL_PREFIXES = frozenset({"aria-"})
KEPT_ATTRIBUTES = {
    "a": {"href", "hreflang", "rel", "target", "download"},
    "img": {"src", "alt", "width", "height", "loading", "decoding", "srcset", "sizes"},
    "source": {"src", "srcset", "sizes", "type", "media", "width", "height"},
    "audio": {"src", "controls", "preload", "loop", "muted"},
    "video": {"src", "poster", "controls", "preload", "playsinline", "loop", "muted", "width",
              "height"},
    "th": {"style", "align", "colspan", "rowspan", "scope", "abbr"},  # tables' alignment
    "td": {"style", "align", "colspan", "rowspan"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type", "reversed"}, "li": {"value"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"}, "time": {"datetime"}, "details": {"open"},
    "data": {"value"}, "bdo": {"dir"},
}
# Task lists (``- [x] done``) show disabled checkboxes: every <input> that stays is one,
# whatever it was written as, and may say only whether it is checked.
FORCED_ATTRIBUTES = {"input": {"type": "checkbox", "disabled": ""}}
KEPT_VALUES = {"input": {"checked": {"", "checked"}}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Besides those, a shortcode's ref marker (made the page's address when it renders).
KEPT_SCHEMES = URL_SCHEMES | {REF_SCHEME.rstrip(":")}
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "action", "formaction", "poster",
                            "data", "background", "xlink:href"})
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "data"})
SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
STRIPPED = "".join(map(chr, range(0x21)))  # what browsers strip around a URL
PLAIN_URL = re.compile(r'(?:https?://|mailto:)?[^:&"\x00-\x20]*')  # no scheme to check
WHY = '(raw HTML is sanitised: [markdown] html = "safe" in site.toml)'


def attribute(value: object) -> str:
    """A value written inside a double-quoted attribute: ``& < > " '`` escaped, so
    whatever it was read from, it stays one attribute value."""
    return html.escape(str(value), quote=True)


def scheme_of(url: str) -> str:
    """A URL's scheme as a browser reads it (surrounding spaces and controls
    stripped, tabs and newlines removed, case folded), "" for a relative URL."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(STRIPPED))
    match = SCHEME.match(cleaned)
    return match.group(1).lower() if match else ""


def script_scheme(url: str) -> str:
    """``javascript``, ``vbscript`` or ``data`` when ``url`` (already decoded) uses one
    of them, else ""."""
    scheme = scheme_of(url)
    return scheme if scheme in SCRIPT_SCHEMES else ""


@dataclass(frozen=True, slots=True)
class Removal:
    """Something the sanitiser took out: the line of the Markdown text (1-based, None
    when it cannot be told) and what it was."""

    line: int | None
    message: str


class TooDeep(ValueError):
    """Markdown nested deeper than newshub reads; ``line`` is in the text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


NESTING_LIMIT = 100  # quotes, list levels (or two columns of a list's indentation), [s
NESTING_CHECKED_FROM = 64 * 1024  # characters; a smaller text fails fast if it nests deeper
LEADING = re.compile(r"[ \t>]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+[ \t>]*)*")
FENCE = re.compile(r"[ \t>]*(?:```|~~~)")
BRACKET = re.compile(r"(?<!\\)[\[\]]")
LINES = re.compile(r"\r\n?|\n")  # as Python-Markdown reads them
# What XML 1.0 forbids (as load.XML_FORBIDDEN): the sanitiser turns references such as
# &#x1; into the characters, which would make every feed quoting the body unreadable.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def body_html(text: str, policy: str, restore: Callable[[str], str] | None = None,
              written: str | None = None, *, controls: bool = True
              ) -> tuple[str, tuple[Removal, ...]]:
    """A Markdown body as HTML under the raw HTML ``policy``, with what was removed;
    ``TooDeep`` for a body nested too deep to read. ``restore`` puts the HTML of the
    text's shortcodes back first: the theme writes it, but with the editor's arguments
    and inner text (a caption with a script, a ``javascript:`` link), so the policy
    covers it too; removals are then looked for in the body as ``written``. Without
    ``controls``, the caller knows the text holds no control character."""
    if len(text) >= NESTING_CHECKED_FROM or text.count("[") >= NESTING_LIMIT:
        check_nesting(text)
    try:
        converted = markup.to_html(text, raw_html=policy != "escape", controls=controls)
    except RecursionError:
        line, message, _over = _nesting(text)
        raise TooDeep(line, message) from None
    if restore is not None:
        converted = restore(converted)
    if policy == "allow" or (restore is None and not _worth_cleaning(text, converted)):
        return converted, ()  # (a shortcode's HTML is always looked at: its text is not)
    cleaned = _clean(converted)
    removals = _removals(converted, written or text)
    if XML_FORBIDDEN.search(cleaned) is not None:  # written as references: &#x1;
        codes = sorted({f"U+{ord(c):04X}" for c in XML_FORBIDDEN.findall(cleaned)})
        line = _line((written or text).split("\n"), "&#", {})
        removals = (*removals, Removal(line, f"removed character references to "
                                             f"{', '.join(codes)}: XML does not allow them"))
        cleaned = XML_FORBIDDEN.sub("", cleaned)
    return cleaned, removals


def check_nesting(text: str) -> None:
    """Refuse Markdown nested deeper than ``NESTING_LIMIT``. Python-Markdown reads lists
    and quotes recursively, so their depth costs stack (near 250 levels it fails) and
    time with the size of the text; each open ``[`` of a link is a scan to its end. The
    scan costs a pass over the lines, so it runs only on texts large enough for the
    cost of depth to matter (a smaller one fails fast: ``body_html``) or with many
    ``[``. Real articles nest a few levels."""
    line, message, over = _nesting(text)
    if over:
        raise TooDeep(line, message)


def _nesting(text: str) -> tuple[int, str, bool]:
    """The first line nesting more than the limit, what it nests, True; else the
    deepest line (for a text Python-Markdown gave up on), a message, False."""
    deepest, deepest_line = 0, 1
    lines = LINES.split(text)  # CR alone ends a line too
    fences = [index for index, line in enumerate(lines) if FENCE.match(line)]
    if len(fences) % 2:
        fences.pop()  # a fence never closed fences nothing in: what follows is read
    code = {index for start, end in zip(fences[::2], fences[1::2], strict=True)
            for index in range(start, end + 1)}
    brackets = 0
    for number, line in enumerate(lines, 1):
        if number - 1 in code:
            continue
        lead = LEADING.match(line).group()  # type: ignore[union-attr]
        depth = 0
        if lead:
            markers = len(re.findall(r"(?:[-*+]|\d{1,9}[.)])[ \t]", lead))
            indent = len(lead.expandtabs(4)) - len(lead.lstrip(" \t").expandtabs(4))
            depth = lead.count(">") + markers + (indent // 2 if markers else 0)
        if depth > NESTING_LIMIT:
            return number, (f"lists or quotes nested {depth} levels deep (more than "
                            f"{NESTING_LIMIT}): flatten them"), True
        brackets = 0 if not line.strip() else brackets  # a paragraph ends
        for mark in BRACKET.findall(line) if "[" in line or brackets else ():
            brackets = brackets + 1 if mark == "[" else max(0, brackets - 1)
            if brackets > NESTING_LIMIT:
                return number, (f"more than {NESTING_LIMIT} '[' open at once: close them, "
                                "or write \\[ for a bracket that opens no link"), True
        if depth > deepest:
            deepest, deepest_line = depth, number
    return deepest_line, ("Markdown nested too deep to read (lists, quotes, tags or "
                          "brackets inside one another): flatten it"), False


def _worth_cleaning(text: str, converted: str) -> bool:
    """Whether the HTML can hold anything the sanitiser would change: raw HTML or an
    attribute list in the text, or a link or image URL with a scheme or an entity."""
    return "<" in text or "{" in text or _unusual_url(converted)


def _unusual_url(converted: str) -> bool:
    """Whether a link or image URL Markdown wrote has a scheme other than http(s) or
    mailto, or an entity (found with ``str.find``: a pattern searched through every
    body cost three times as much)."""
    for marker in ('href="', 'src="'):
        start = converted.find(marker)
        while start != -1:
            start += len(marker)
            end = converted.find('"', start)
            if end == -1 or not PLAIN_URL.fullmatch(converted, start, end):
                return True
            start = converted.find(marker, end)
    return False


def _srcset_filter(element: str, name: str, value: str) -> str | None:
    """Ammonia checks the schemes of ``href`` and ``src`` only: ``poster`` and ``srcset``
    here."""
    if name == "poster" and scheme_of(html.unescape(value)) not in ("", *KEPT_SCHEMES):
        return None
    if name == "srcset":
        urls = (html.unescape(part.split()[0]) for part in value.split(",") if part.strip())
        if any(scheme_of(url) not in ("", *KEPT_SCHEMES) for url in urls):
            return None
    return value


OPTIONS = {
    "tags": set(KEPT_TAGS),
    "clean_content_tags": set(DROPPED_WITH_CONTENT),
    "attributes": {"*": set(GLOBAL_ATTRIBUTES),
                   **{tag: set(names) for tag, names in KEPT_ATTRIBUTES.items()}},
    "generic_attribute_prefixes": set(GLOBAL_PREFIXES),
    "tag_attribute_values": {tag: {name: set(values) for name, values in kept.items()}
                             for tag, kept in KEPT_VALUES.items()},
    "set_tag_attribute_values": {tag: dict(values) for tag, values in FORCED_ATTRIBUTES.items()},
    "attribute_filter": _srcset_filter,
    "url_schemes": set(KEPT_SCHEMES),
    "filter_style_properties": {"text-align"},
    "link_rel": None,  # links as written: Markdown's own carry no rel
    "strip_comments": True,
}
_ammonia: Callable[[str], str] = nh3.Cleaner(**OPTIONS).clean if hasattr(nh3, "Cleaner") \
    else partial(nh3.clean, **OPTIONS)
FORCED_TAG = re.compile(rf"<({'|'.join(map(re.escape, FORCED_ATTRIBUTES))})((?: [^>]*)?)>")
SERIALISED_ATTRIBUTE = re.compile(r' ([^\s="]+)="([^"]*)"')


def _clean(converted: str) -> str:
    """``converted`` cleaned by ammonia, the attributes of a tag it sets some on in
    order of name: it adds them in its hash map's order, which changes from one process
    to the next (the same body gave two outputs)."""
    cleaned = _ammonia(converted)
    if not any(f"<{tag}" in cleaned for tag in FORCED_ATTRIBUTES):
        return cleaned
    return FORCED_TAG.sub(_in_order, cleaned)


def _in_order(match: re.Match[str]) -> str:
    attributes = SERIALISED_ATTRIBUTE.findall(match.group(2))
    if "".join(f' {name}="{value}"' for name, value in attributes) != match.group(2):
        return match.group(0)  # (not as html5ever serialises a tag: left as it is)
    return f"<{match.group(1)}" + "".join(
        f' {name}="{value}"' for name, value in sorted(attributes)) + ">"


def _removals(converted: str, text: str) -> tuple[Removal, ...]:
    """What the sanitiser takes out of ``converted``, each with the line of ``text``
    that wrote it (searched in order, so a second ``<script>`` gets its own line)."""
    lines = text.split("\n")
    cursors: dict[str, int] = {}
    found = [Removal(_line(lines, needle, cursors), f"removed {message} {WHY}")
             for needle, message in _diagnosis(converted)]
    return tuple(dict.fromkeys(found))


def _line(lines: list[str], needle: str, cursors: dict[str, int]) -> int | None:
    """The first line from the needle's last hit on that matches it (then from the top)."""
    pattern = re.compile(needle, re.IGNORECASE)
    start = cursors.get(needle, 0)
    for index in (*range(start, len(lines)), *range(0, start)):
        if pattern.search(lines[index]):
            cursors[needle] = index + 1
            return index + 1
    return None


def scheme_pattern(scheme: str) -> str:
    """A pattern for a scheme written with entities, spaces or mixed case between its
    letters (``JaVa&#x09;script:``)."""
    gap = r"(?:\s|&(?:Tab|NewLine);|&#0*(?:9|10|13)(?![0-9]);?|&#x0*[9ad](?![0-9a-f]);?)*"
    return gap.join(_character(c) for c in f"{scheme}:")


def _character(char: str) -> str:
    """A character as written, or as one of the references that stand for it."""
    codes = sorted({ord(char.lower()), ord(char.upper())})
    written = [re.escape(char), *(rf"&#0*{code}(?![0-9]);?" for code in codes),
               *(rf"&#x0*{code:x}(?![0-9a-f]);?" for code in codes)]
    if char == ":":
        written.append("&colon;")
    return "(?:" + "|".join(written) + ")"


def _diagnosis(converted: str) -> list[tuple[str, str]]:
    """Reads HTML the way the sanitiser's allow-list does and notes what it removes:
    (a pattern for the source line, what it was). One pass of a tag pattern, not a
    parser: a report, while nh3 does the cleaning."""
    found: list[tuple[str, str]] = []
    dropped, depth = "", 0  # the element removed with its content, and its nesting
    for match in TAG_OR_COMMENT.finditer(converted):
        name = (match.group(2) or "").lower()
        if not name:
            continue  # a comment
        if match.group(1):  # an end tag
            if name == dropped:
                depth -= 1
                dropped = dropped if depth else ""
            continue
        closed = match.group(0).endswith("/>")
        if dropped:
            if name == dropped and not closed and name not in RAW_TEXT:
                depth += 1
            continue
        needle = rf"<\s*{re.escape(name)}\b"
        if name in DROPPED_WITH_CONTENT:
            found.append((needle, f"<{name}> with its content"))
            dropped, depth = ("", 0) if closed else (name, 1)
            continue
        if name not in KEPT_TAGS:
            found.append((needle, f"<{name}> (its text is kept)"))
        found.extend(_attribute_removals(name, read_attributes(match.group(3))))
    return found


def _attribute_removals(tag: str, attributes: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    kept = GLOBAL_ATTRIBUTES | KEPT_ATTRIBUTES.get(tag, set()) | \
        KEPT_VALUES.get(tag, {}).keys() | FORCED_ATTRIBUTES.get(tag, {}).keys()
    for name, value in attributes.items():
        where = rf"\b{re.escape(name)}\s*="
        forced = FORCED_ATTRIBUTES.get(tag, {}).get(name)
        if name.startswith("on"):
            found.append((where, f"event handler {name}= from <{tag}>"))
        elif forced and value.strip().lower() != forced:
            found.append((where, f'{name}="{value}" from <{tag}> (made "{forced}")'))
        elif name not in kept and not name.startswith(tuple(GLOBAL_PREFIXES)):
            if tag in KEPT_TAGS:
                found.append((where, f"attribute {name}= from <{tag}>"))
        elif name in URL_ATTRIBUTES and scheme_of(value) not in ("", *KEPT_SCHEMES):
            scheme = scheme_of(value)
            found.append((scheme_pattern(scheme), f"{scheme}: URL from {name}= of <{tag}>"))
        elif name == "srcset" and _srcset_filter(tag, name, value) is None:
            found.append((r"\bsrcset\s*=", f"srcset= with a script or data URL from <{tag}>"))
    return found


# A start or end tag with its attributes however they are quoted, or a comment, for
# reading HTML newshub rewrites: a match steps over each tag whole, so a ``<`` inside
# an attribute value or a comment is never taken for a tag. Possessive quantifiers: no
# backtracking on a tag that never closes.
TAG_OR_COMMENT = re.compile(
    r"""<!--.*?-->|<(/?)([a-zA-Z][^\s/>]*+)((?:[\s/]*+[^\s"'>/=]++(?:\s*+=\s*+"""
    r"""(?:"[^"]*+"|'[^']*+'|[^\s>]++))?+)*+)[\s/]*+>""", re.DOTALL)
ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
RAW_TEXT = frozenset({"script", "style", "iframe", "noembed", "noframes", "noscript", "xmp"})


def read_attributes(text: str) -> dict[str, str]:
    """A start tag's attributes (the text after its name), names lower-cased and values
    decoded: for reading only; whatever is written again goes through ``attribute``."""
    found: dict[str, str] = {}
    for name, double, single, bare in ATTRIBUTE.findall(text):
        found.setdefault(name.lower(), html.unescape(double or single or bare))
    return found
