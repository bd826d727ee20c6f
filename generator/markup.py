"""Markdown to HTML: reused Python-Markdown converters, with fast paths for prose.

Python-Markdown tries each of its ~15 inline patterns on every text node and each
of its ~13 block processors on every block, which is most of its time on prose.
A text node holding none of the characters those patterns start with cannot
match any of them, so it is left as it is; a block whose lines start with a
letter and hold no markup character goes straight to the paragraph processor.
The raw-HTML and fenced-code passes are skipped for a text without ``<`` or a
fence, and the table of contents (pages never show it; headings still get their
ids) is assembled only when the text asks for one with ``[TOC]``. The HTML is
byte-identical to the stock converter's (tests compare both on every bundled
source). Each gate stands only while the patterns or block processors are the
ones it knows: an extension adding another turns it off.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

import markdown
from markdown.blockparser import BlockParser
from markdown.blockprocessors import BlockProcessor
from markdown.extensions.toc import TocExtension, TocTreeprocessor, slugify_unicode
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor

EXTENSIONS = ("tables", "footnotes", "fenced_code", "attr_list", "toc", "sane_lists")
# What each known inline pattern needs to match: code, escapes, links/images/
# references/footnotes, autolinks/HTML, entities, emphasis, hard line breaks.
GATED_PATTERNS = frozenset({
    "backtick", "escape", "reference", "link", "image_link", "image_reference",
    "short_reference", "short_image_ref", "autolink", "automail", "linebreak", "html",
    "entity", "em_strong", "em_strong2", "not_strong", "footnote",
})
INLINE_TRIGGER = re.compile(r"[`\\\[\]!<&*_]|  \n")


class _GatedInlineProcessor(InlineProcessor):
    """The stock inline processor, skipping text no inline pattern can match."""

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if patternIndex == 0 and not INLINE_TRIGGER.search(data):
            return data
        return InlineProcessor._InlineProcessor__handleInline(  # type: ignore[attr-defined]
            self, data, patternIndex)


# The block processors the plain-paragraph gate knows, and what each needs to match:
# a blank line, indentation, a list marker, #, = or - under a line, a rule, >, a table's
# |, a footnote's or reference's [ ]:.
GATED_BLOCKS = frozenset({"empty", "indent", "code", "table", "hashheader", "setextheader",
                          "hr", "olist", "ulist", "quote", "footnote", "reference",
                          "paragraph"})
_PROSE_LINE = r"[^\W\d_][^#|=\-*_>\[\]+<`~:\\!&\n]*"  # from a letter on, no markup character
PLAIN_BLOCK = re.compile(rf"{_PROSE_LINE}(?:\n{_PROSE_LINE})*")


class _PlainParagraph(BlockProcessor):
    """A block of plain prose (it starts with a letter and holds no character any other
    block processor looks for) goes straight to the paragraph processor."""

    def __init__(self, parser: BlockParser, paragraph: BlockProcessor) -> None:
        super().__init__(parser)
        self.paragraph = paragraph

    def test(self, parent: etree.Element, block: str) -> bool:
        return PLAIN_BLOCK.fullmatch(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> bool | None:
        return self.paragraph.run(parent, blocks)


class _SkippedWithout(Preprocessor):
    """A preprocessor run only on text containing one of ``marks``."""

    def __init__(self, wrapped: Preprocessor, marks: tuple[str, ...]) -> None:
        super().__init__(wrapped.md)
        self.wrapped = wrapped
        self.marks = marks

    def run(self, lines: list[str]) -> list[str]:
        if any(mark in line for line in lines for mark in self.marks):
            return self.wrapped.run(lines)
        return lines


class _HeadingIdsOnly(TocTreeprocessor):
    """The toc pass giving headings their ids, without assembling the table itself."""

    def build_toc_div(self, toc_list: list) -> etree.Element:
        return etree.Element("div")


SKIPPABLE = {"html_block": ("<",), "fenced_code_block": ("```", "~~~")}


def converter(extensions: tuple[str, ...] = EXTENSIONS, *, gated: bool = True,
              table_of_contents: bool = True) -> markdown.Markdown:
    """A converter with these extensions; ``gated`` adds the fast paths (the inline
    one only when its patterns are all known); without ``table_of_contents``,
    headings get ids but ``[TOC]`` is left as it is."""
    md = markdown.Markdown(extensions=list(extensions),
                           extension_configs={"toc": {"slugify": slugify_unicode}})
    if not gated:
        return md
    patterns = md.inlinePatterns
    if sum(name in patterns for name in GATED_PATTERNS) == len(patterns) and \
            "inline" in md.treeprocessors:
        md.treeprocessors.register(_GatedInlineProcessor(md), "inline", 20)
    blocks = md.parser.blockprocessors
    if sum(name in blocks for name in GATED_BLOCKS) == len(blocks):
        blocks.register(_PlainParagraph(md.parser, blocks["paragraph"]), "plain_paragraph", 200)
    for name, marks in SKIPPABLE.items():
        if name in md.preprocessors:
            index = md.preprocessors.get_index_for_name(name)
            priority = md.preprocessors._priority[index].priority  # kept where it was
            md.preprocessors.register(_SkippedWithout(md.preprocessors[name], marks), name,
                                      priority)
    toc = next((e for e in md.registeredExtensions if isinstance(e, TocExtension)), None)
    if not table_of_contents and toc is not None:
        md.treeprocessors.register(_HeadingIdsOnly(md, {**toc.getConfigs(), "marker": ""}),
                                   "toc", 5)
    return md


_CONVERTER = converter(table_of_contents=False)
_WITH_CONTENTS = converter()


def to_html(text: str) -> str:
    """Markdown to HTML with reused converters (much cheaper than one per page)."""
    md = _WITH_CONTENTS if "[TOC]" in text else _CONVERTER
    md.reset()
    return md.convert(text)
