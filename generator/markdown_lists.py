"""Lists as editors write them (GitHub, CommonMark), read by Python-Markdown.

Python-Markdown follows the original Markdown.pl on lists: a list needs a blank line
before it, and whatever belongs to an item (a nested list, a second paragraph) is
indented by four spaces. Editors write GitHub-style Markdown, where a list may follow a
paragraph line directly and an item's content is indented to where its text starts
(two spaces under ``- ``, three under ``1. ``). Python-Markdown's maintainers keep its
rules on purpose, and the extension usually suggested (mdx_truly_sane_lists) makes
two-space indentation the only one, so lists nested by four spaces, as Python-Markdown
and Hugo sites write them, would come apart.

This extension rewrites the lines instead, before Python-Markdown reads them, into
the layout Python-Markdown understands, following CommonMark's rules for list items
(spec 0.31, "List items"): an item's content is what is indented at least to its text
column; a bullet item, or an ordered one numbered 1, may interrupt a paragraph (a
blank line is put before it); each nested level is written four spaces deeper. Lines
Python-Markdown already reads the same way are left as they are, so a text written in
Python-Markdown's own layout converts exactly as before. Runs of ``>`` lines are
rewritten the same way inside. Fenced code and raw HTML blocks are stashed before this
runs, so their lines are never touched.
"""

from __future__ import annotations

import re

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

# An item's first line: indentation, marker (number), the spaces after it, then text.
ITEM = re.compile(r"( *)(?:[-*+]|(\d{1,9})\.)( +)(?=\S)")
THEMATIC_BREAK = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})\Z")
QUOTE = re.compile(r" {0,3}> ?")
TAB = 4  # Python-Markdown's indentation unit


QUOTES_READ = 20  # quotes nested deeper are left as written (no recursion without end)


def rewrite(lines: list[str], quotes: int = 0) -> list[str]:
    """The lines with every list laid out the way Python-Markdown reads it (inside
    ``quotes`` block quotes)."""
    out: list[str] = []
    items: list[tuple[int, int]] = []  # the open items: (text column as written, depth)
    blank_before = True
    started_by = ""  # what began the current block (since the last blank): item/text/code
    level = 0  # how deep that block is: Python-Markdown reads all of it at that depth
    shift = 0  # spaces added to each line of a block inside an item
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        text = line.lstrip(" ")
        if not text:
            out.append(line)
            blank_before = True
            continue
        indent = len(line) - len(text)
        if QUOTE.match(line) and (not items or (blank_before and indent < items[0][0])):
            end = index
            while end < len(lines) and QUOTE.match(lines[end]):
                end += 1
            quoted = lines[index - 1:end]
            out.extend(_quote(quoted, quotes + 1) if quotes < QUOTES_READ else quoted)
            index, blank_before, started_by, items, level = end, False, "text", [], 0
            continue
        match = ITEM.match(line)
        if match is not None:
            number = match.group(2)
            interrupts = not blank_before and started_by != "item"
            if THEMATIC_BREAK.match(line) or (interrupts and number and int(number) != 1):
                match = None
        if match is not None:
            open_items = [item for item in items if item[0] <= indent]
            if indent - (open_items[-1][0] if open_items else 0) >= TAB:
                match = None  # indented code, or a paragraph's continuation
        if match is not None:
            items = open_items
            depth = len(items)
            if not blank_before and (started_by != "item" or depth < level):
                out.append("")  # a list interrupting a paragraph, or back out of a block
                blank_before = True
            if blank_before:
                level = depth
            spaces = len(match.group(3))
            column = match.end(3) if spaces <= TAB else match.start(3) + 1
            items.append((column, depth))
            out.append(" " * (TAB * depth) + line[indent:])
            blank_before, started_by, shift = False, "item", 0
            continue
        if blank_before:  # a new block: inside the items it is indented enough for
            while items and indent < items[-1][0]:
                items.pop()
            shift = 0
            if items:
                column, depth = items[-1]
                extra = indent - column
                least = TAB * (depth + 1) + (TAB if extra >= TAB else 0)
                if indent < least:
                    shift = TAB * (depth + 1) + extra - indent
                started_by, level = "text", depth + 1
            else:
                started_by, level = "code" if indent >= TAB else "text", 0
        elif started_by == "item":
            shift = 0  # an item's continuation (or a lazy line) stays as written
        out.append(" " * shift + line if shift else line)
        blank_before = False
    return out


def _quote(lines: list[str], quotes: int) -> list[str]:
    """A run of ``>`` lines, their content rewritten."""
    marks = [QUOTE.match(line).group(0) for line in lines]  # type: ignore[union-attr]
    inner = [line[len(mark):] for line, mark in zip(lines, marks, strict=True)]
    rewritten = rewrite(inner, quotes)
    if rewritten == inner:
        return lines
    mark = marks[0].rstrip()
    return [f"{mark} {line}".rstrip() if line else mark for line in rewritten]


# A line starting an item (``\n`` first: the regex engine then looks for it alone).
ITEM_LINE = re.compile(r"\n([ >]*)(?:[-*+]|\d{1,9}\.) +(\S)")


def needs_rewrite(text: str) -> bool:
    """False only for a text ``rewrite`` leaves as it is: each of its list items starts
    a line, outside quotes, after a blank line or another such item, none is a thematic
    break, and no line is indented or holds a tab (most texts, lists or not). True may
    be a false alarm."""
    if "\t" in text:
        return True  # Python-Markdown expands tabs before the rewrite: let it look
    source = "\n" + text
    found, after = False, 0  # where the last such item's line ends
    for match in ITEM_LINE.finditer(source):
        start = match.start()  # the newline before the item
        end = source.find("\n", start + 1) % (len(source) + 1)  # -1: the text's end
        if match.group(1) or (match.group(2) in "*-_" and
                              THEMATIC_BREAK.match(source, start + 1, end)):
            return True
        if start != after and source[source.rfind("\n", 0, start) + 1:start].strip():
            return True  # after a line of text
        found, after = True, end
    return found and ("\n " in source)


class ListLayout(Preprocessor):
    """Runs ``rewrite`` on the lines Python-Markdown is about to read."""

    def run(self, lines: list[str]) -> list[str]:
        return rewrite(lines)


class ListsAsWrittenExtension(Extension):
    """The extension; its preprocessor runs after fenced code and raw HTML blocks are
    stashed (priorities 25 and 20), before blocks are parsed."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(ListLayout(md), "list_layout", 15)


def makeExtension(**kwargs: object) -> ListsAsWrittenExtension:
    """The extension, by the name Python-Markdown looks up in a module."""
    return ListsAsWrittenExtension(**kwargs)
