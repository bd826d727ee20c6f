"""Plain prose Markdown to HTML without Python-Markdown: the HTML its gated converter
writes, for a strict subset of Markdown, or None for any other text.

Most stories are paragraphs of words with a few headings, a short list, a quote, links
and bold text; Python-Markdown spends ~0.7 ms on such a body (a fifth of a cold build's
CPU), walking every block through its block processors and every text through its
inline patterns and passes. This module reads the subset it knows block by block, with
a few string searches. The subset is made of blocks separated by blank lines, each one

- a paragraph: lines starting with a letter, a digit (not ``1.`` or ``1)``), or a
  character no block processor starts with (no space, ``#``, ``>``, ``-``, ``+``, ``=``);
- a heading alone in its block: ``#`` to ``######``, one space, text without ``#``
  (spaces after it are dropped, as Python-Markdown drops them);
- a list: every line ``- `` and an item's text (one line an item), not right after
  another list (Python-Markdown would join the two);
- a quote: every line ``> `` and a paragraph's line, not right after another quote.

Inline, a line is plain text with ``**strong**``, ``*em*``, ``[text](/url/)`` and
```code``` spans, none nested and none with a space just inside its marks. A text
holding anything else Python-Markdown or its extensions react to (``&``, ``<``, a ``>``
inside a line, ``\\``, ``_``, ``~``, ``@``, ``{``, ``|``, a bare link's ``://`` or
``www.`` out of a link's URL, ``![``, ``[^``, a task box, a hard line break's two
spaces, a tab or another control character, a ``*``, ``[`` or backtick out of those
shapes) is refused.
Headings get their ids from the converter's own table-of-contents pass (its slugify
and unique). Tests compare the HTML with Python-Markdown's on the bundled sources, a
generated corpus and thousands of random texts built from the subset's pieces and
near misses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableSet

# The extensions of the converter whose HTML this module writes (markup.EXTENSIONS, with
# its CONFIGS): with others, markup does not ask it.
EXTENSIONS = ("tables", "footnotes", "fenced_code", "attr_list", "toc", "sane_lists",
              "pymdownx.tilde", "pymdownx.tasklist", "pymdownx.magiclink",
              "generator.markdown_lists")
# What no text of the subset holds: characters a pattern or pass reacts to, hard line
# breaks and, in a text with a [, images, footnotes and task boxes (looked for one by
# one: a regex tries its character class at every character, ~10 times slower). A > is
# only a quote's mark (in a line, the serialiser would escape it).
OUTSIDE = ("&", "<", "\\", "_", "~", "@", "{", "}", "|", "  \n")
# A bare link's marks (magiclink's): only in a link's URL, which the link pattern takes
# out of the text before magiclink reads it.
BARE_LINK = ("://", "ww.", "Ww.", "wW.", "WW.")
LINK_URL = re.compile(r"\]\([\w/.#?=%+:-]+\)")
OUTSIDE_BRACKETS = ("![", "[^", "[ ]", "[x]", "[X]")
BOX_ENDS = frozenset(mark[1:] for mark in OUTSIDE_BRACKETS if len(mark) == 3)  # " ]", "x]"…
WWW = tuple(mark for mark in BARE_LINK if mark != "://")
# Nor control characters (tabs, \r, STX/ETX...): looked for in a block that
# str.isprintable does not clear (one holding a line end, a no-break space...).
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
# What no line of a paragraph or an item starts with: a block's mark, indentation, a
# list's marker; after its first, a line that could start a block.
BLOCK_STARTS = frozenset("#>-+=:")
ORDERED = re.compile(r"\d+[.)](?!\d)")
LATER_LINE = re.compile(r"\n(?:[#>+=:-]|\s|\d+[.)](?!\d))")
# The inline marks of the subset; a text without them is plain.
INLINE_MARKS = ("*", "[", "]", "`")
# Text inside marks: no mark, no line end, no space at either end.
PLAIN = r"[^*\[\]`\s](?:[^*\[\]`\n]*[^*\[\]`\s])?"
TOKEN = re.compile(rf"\*\*({PLAIN})\*\*(?!\*)|\*({PLAIN})\*(?!\*)"
                   rf"|\[({PLAIN})\]\(([\w/.#?=%+:-]+)\)|`({PLAIN})`")
HEADING = re.compile(r"(#{1,6}) (?=\S)")

HeadingId = Callable[[str, MutableSet[str], dict[str, int]], str]


def to_html(text: str, heading_id: HeadingId, *, controls: bool = True) -> str | None:
    """The HTML of ``text``, or None when it is outside the subset. ``heading_id``
    makes a heading's id from its inner HTML, the ids given so far and the counters
    of the toc pass's ``unique``. Without ``controls``, the caller knows the text holds
    no control character (its file held none): it is not looked for."""
    if any(map(text.__contains__, OUTSIDE)) or _bracket_outside(text) or \
            _inner_quote_mark(text) or (_bare_link(text) and _bare_link(LINK_URL.sub("](", text))):
        return None
    core = text.strip("\n")
    if not core:
        return ""
    if "\n\n\n" in core:  # (more than one blank line: blocks stripped, empty ones dropped)
        return _blocks([block for block in (b.strip("\n") for b in core.split("\n\n"))
                        if block], None, heading_id, controls)
    return _blocks(core.split("\n\n"), core, heading_id, controls)


def _bracket_outside(text: str) -> bool:
    """Whether one of ``OUTSIDE_BRACKETS`` is in the text, found from each ``[`` (a text
    holds few: five searches of the whole text cost five times as much)."""
    at = text.find("[")
    while at >= 0:
        if (at and text[at - 1] == "!") or text[at + 1:at + 2] == "^" or \
                text[at + 1:at + 3] in BOX_ENDS:
            return True
        at = text.find("[", at + 1)
    return False


def _inner_quote_mark(text: str) -> bool:
    """Whether a ``>`` of the text is not a quote's mark (at a line's start, then a
    space), looked at from each ``>``: counting them costs a pass over the text."""
    at = text.find(">")
    while at >= 0:
        if (at and text[at - 1] != "\n") or text[at + 1:at + 2] != " ":
            return True
        at = text.find(">", at + 1)
    return False


def _bare_link(text: str) -> bool:
    """Whether one of ``BARE_LINK`` is in the text (``://`` looked for only in a text
    with a ``:``, a one-character search several times faster; ``ww.`` in any case only
    in one with a ``w.`` or ``W.``)."""
    return (":" in text and "://" in text) or (("w." in text or "W." in text) and
                                               any(map(text.__contains__, WWW)))


def _blocks(blocks: list[str], core: str | None, heading_id: HeadingId,
            controls: bool = True) -> str | None:
    """The HTML of the blocks; ``core`` is their text when they are it cut at each
    ``\\n\\n`` (then which of them hold an inline mark is found with a few searches of
    the whole text, not four searches of each block), else None."""
    parts: list[str] = []
    used_ids: set[str] = set()
    counters: dict[str, int] = {}
    previous = ""  # the first character of the last block
    marks = [mark for mark in INLINE_MARKS if mark in core] if core is not None else []
    next_mark = _next_mark(core, marks, 0) if core is not None else 0
    at = 0  # where the block starts in core
    for block in blocks:
        if core is None:
            marked = any(map(block.__contains__, INLINE_MARKS))
        else:
            at += len(block)
            marked = next_mark < at
            at += 2
            if marked:
                next_mark = _next_mark(core, marks, at)
        if controls and not block.isprintable() and CONTROL.search(block) is not None:
            return None
        first = block[0]
        if first.isalpha() and not marked and "\n" not in block:  # (as _paragraph makes it)
            parts.append(f"<p>{block}</p>")
            previous = first
            continue
        if first == "#":
            made = _heading(block, used_ids, counters, heading_id, marked)
        elif first == "-":  # (a list right after a list would be joined to it)
            made = None if previous == "-" else _list(block, marked)
        elif first == ">":  # (and a quote to a quote)
            made = None if previous == ">" else _quote(block, marked)
        else:
            made = _paragraph(block, marked)
        if made is None:
            return None
        parts.append(made)
        previous = first
    return "\n".join(parts)


def _next_mark(core: str, marks: list[str], start: int) -> int:
    """Where the first inline mark at or after ``start`` is (past the end: none)."""
    found = [at for at in (core.find(mark, start) for mark in marks) if at >= 0]
    return min(found) if found else len(core)


def _paragraph(block: str, marked: bool = True) -> str | None:
    """A paragraph's HTML, or None (``marked``: it may hold an inline mark)."""
    made = _inline(block, marked)
    return None if made is None else f"<p>{made}</p>"


def _quote(block: str, marked: bool = True) -> str | None:
    """A quote of one paragraph (each line ``> `` and its text), or None."""
    if not block.startswith("> ") or block.count("\n") != block.count("\n> "):
        return None
    made = _paragraph(block[2:].replace("\n> ", "\n"), marked)
    return None if made is None else f"<blockquote>\n{made}\n</blockquote>"


def _list(block: str, marked: bool = True) -> str | None:
    """A list of one-line items (each ``- `` and its text), or None."""
    if not block.startswith("- ") or block.count("\n") != block.count("\n- "):
        return None
    items = []
    for item in block[2:].split("\n- "):
        made = _inline(item, marked)
        if made is None:
            return None
        items.append(f"<li>{made}</li>\n")
    return "<ul>\n" + "".join(items) + "</ul>"


def _heading(block: str, used_ids: set[str], counters: dict[str, int],
             heading_id: HeadingId, marked: bool = True) -> str | None:
    """A heading alone in its block, with its id, or None."""
    level = HEADING.match(block)
    if level is None or "\n" in block:
        return None
    text = block[level.end():].rstrip()  # as Python-Markdown strips it
    inner = _inline(text, marked)
    if inner is None or "#" in text:  # (Python-Markdown drops closing #s)
        return None
    tag = f"h{len(level.group(1))}"
    return f'<{tag} id="{heading_id(inner, used_ids, counters)}">{inner}</{tag}>'


def _inline(text: str, marked: bool = True) -> str | None:
    """The HTML of a paragraph's or an item's text (its inline marks made elements), or
    None when it is outside the subset: a line could start a block or is indented, or a
    mark is out of place. Not ``marked``: it holds no inline mark."""
    first = text[:1]
    if not first or first in BLOCK_STARTS or first.isspace() or \
            (first.isdigit() and ORDERED.match(text) is not None) or \
            ("\n" in text and LATER_LINE.search(text) is not None):
        return None
    if not marked or not any(map(text.__contains__, INLINE_MARKS)):
        return text
    out, at = [], 0
    for token in TOKEN.finditer(text):
        between = text[at:token.start()]
        if any(map(between.__contains__, INLINE_MARKS)):
            return None
        out.append(between)
        strong, em, words, href, code = token.groups()
        if strong is not None:
            out.append(f"<strong>{strong}</strong>")
        elif em is not None:
            out.append(f"<em>{em}</em>")
        elif words is not None:
            out.append(f'<a href="{href}">{words}</a>')
        else:
            out.append(f"<code>{code}</code>")
        at = token.end()
    rest = text[at:]
    if any(map(rest.__contains__, INLINE_MARKS)):
        return None
    out.append(rest)
    return "".join(out)
