"""Markdown to HTML: reused Python-Markdown converters, with fast paths for prose.

Python-Markdown tries each of its ~15 inline patterns on every text node and each
of its ~13 block processors on every block, which is most of its time on prose.
A text node holding none of the characters those patterns start with cannot
match any of them, so it is left as it is, and a pattern whose start character
is not in a text is not tried on it; a block whose lines start with a letter and
hold no markup character goes straight to the paragraph processor. Passes that
only act on one piece of syntax are skipped for a text without it: raw HTML
(``<``), fenced code (a fence), attribute lists (``{``), backslash escapes (``\\``).
The table of contents (pages never show it; headings still get their ids) is
assembled only when the text asks for one with ``[TOC]``. The HTML is
byte-identical to the stock converter's (tests compare both on every bundled
source). Each gate stands only while the patterns or block processors are the
ones it knows: an extension adding another turns it off.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import re
import xml.etree.ElementTree as etree
from collections.abc import Iterator
from functools import cache
from typing import Any

import markdown
from markdown import util
from markdown.blockparser import BlockParser
from markdown.blockprocessors import BlockProcessor
from markdown.extensions.toc import (
    TocExtension,
    TocTreeprocessor,
    remove_fnrefs,
    render_inner_html,
    slugify_unicode,
    strip_tags,
    unique,
)
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor, Treeprocessor

EXTENSIONS = ("tables", "footnotes", "fenced_code", "attr_list", "toc", "sane_lists")
# What each known inline pattern needs in a text to match there: code, escapes, links/
# images/references/footnotes, autolinks/HTML, entities, emphasis, hard line breaks.
PATTERN_MARKS = {
    "backtick": ("`",), "escape": ("\\",), "reference": ("[",), "link": ("[",),
    "image_link": ("[",), "image_reference": ("[",), "short_reference": ("[",),
    "short_image_ref": ("[",), "autolink": ("<",), "automail": ("<",), "linebreak": ("  \n",),
    "html": ("<",), "entity": ("&",), "em_strong": ("*",), "em_strong2": ("_",),
    "not_strong": ("*", "_"), "footnote": ("[",),
}
GATED_PATTERNS = frozenset(PATTERN_MARKS)
_MARKS = sorted({mark for marks in PATTERN_MARKS.values() for mark in marks})
INLINE_TRIGGER = re.compile(  # any mark of any pattern: one character of a class, or longer
    "[" + re.escape("".join(m for m in _MARKS if len(m) == 1)) + "]"
    + "".join("|" + re.escape(m) for m in _MARKS if len(m) > 1))


def _inline(text: str) -> bool:
    """Whether inline patterns could change ``text``: it holds a mark one of them starts
    with, or a placeholder for stashed markup."""
    return INLINE_TRIGGER.search(text) is not None or util.STX in text


class _GatedInlineProcessor(InlineProcessor):
    """The stock inline processor, trying on a text only the patterns that could match
    it (none, for most text)."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.marked: list[tuple[object, tuple[str, ...]]] = []  # each pattern's marks

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        """The stock pass, except that a text or tail no pattern could match (no mark,
        no placeholder) stays where it is without being taken apart and put back."""
        if len(self.marked) != len(self.inlinePatterns):
            names = {id(self.inlinePatterns[name]): name for name in GATED_PATTERNS
                     if name in self.inlinePatterns}
            self.marked = [(pattern, PATTERN_MARKS.get(names.get(id(pattern), ""), ("",)))
                           for pattern in self.inlinePatterns]  # "" is in every text
        handle = self._InlineProcessor__handleInline
        place = self._InlineProcessor__processPlaceholders  # type: ignore[attr-defined]
        self.stashed_nodes: dict[str, etree.Element | str] = {}
        tree_parents = [] if ancestors is None else ancestors[:]
        self.parent_map = {c: p for p in tree.iter() for c in p}
        self._InlineProcessor__build_ancestors(tree, tree_parents)  # type: ignore[attr-defined]
        stack = [(tree, tree_parents)]
        while stack:
            element, parents = stack.pop(0)
            self.ancestors = parents
            if element is not tree:
                self.ancestors.append(element.tag.lower())
            inserts = []
            for child in element:
                text = child.text
                if text and not isinstance(text, util.AtomicString) and _inline(text):
                    self.ancestors.append(child.tag.lower())
                    child.text = None
                    made = place(handle(text), child)
                    for item in made:
                        self.parent_map[item[0]] = child
                    stack += made
                    inserts.append((child, made))
                    self.ancestors.pop()
                if child.tail and _inline(child.tail):
                    self._tail(element, child, handle(child.tail), place)
                if len(child):
                    self.parent_map[child] = element
                    stack.append((child, self.ancestors[:]))
            for child, made in inserts:
                for index, item in enumerate(made):
                    child.insert(index, item[0])
        return tree

    def _tail(self, element: etree.Element, child: etree.Element, tail: str,
              place: Any) -> None:
        """The stock handling of a child's tail that patterns changed."""
        holder = etree.Element("d")
        child.tail = None
        made = place(tail, holder, False)
        if holder.tail:
            child.tail = holder.tail
        position = list(element).index(child) + 1
        for item in reversed(made):
            self.parent_map[item[0]] = element
            element.insert(position, item[0])

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString) or (patternIndex == 0 and not _inline(data)):
            return data
        marked, start = self.marked, 0
        while patternIndex < len(marked):  # the stock loop, skipping hopeless patterns
            pattern, marks = marked[patternIndex]
            matched = False
            if any(mark in data for mark in marks):
                data, matched, start = self._InlineProcessor__applyPattern(  # type: ignore[attr-defined]
                    pattern, data, patternIndex, start)
            if not matched:
                patternIndex, start = patternIndex + 1, 0
        return data


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


class _GatedMarkdown(markdown.Markdown):
    """A converter that keeps the text it converts (for the passes that skip a text
    without their syntax) and looks block-level tags up in a set, not a list."""

    source_text = ""

    def convert(self, source: str) -> str:
        self.source_text = source
        self.block_level = frozenset(self.block_level_elements)
        try:
            return super().convert(source)
        finally:
            self.source_text = ""

    def is_block_level(self, tag: object) -> bool:
        return isinstance(tag, str) and tag.lower().rstrip("/") in self.block_level


class _SkippedWithout(Preprocessor):
    """A pre- or tree-processor run only on a text containing one of ``marks``."""

    def __init__(self, wrapped: Preprocessor | Treeprocessor, marks: tuple[str, ...]) -> None:
        super().__init__(wrapped.md)
        self.wrapped = wrapped
        self.marks = marks

    def __getattr__(self, name: str) -> Any:  # the wrapped pass's helpers (unescape's)
        if name == "wrapped":
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def run(self, value: Any) -> Any:  # lines for a preprocessor, the tree for the others
        text = self.md.source_text  # type: ignore[union-attr]
        if any(mark in text for mark in self.marks):
            return self.wrapped.run(value)
        return value


class _HeadingIdsOnly(TocTreeprocessor):
    """The toc pass giving headings their ids (as the stock pass does, anchors and
    permalinks included), without assembling, serialising and post-processing a table
    of contents nobody reads."""

    def run(self, doc: etree.Element) -> None:
        used_ids = {el.attrib["id"] for el in doc.iter() if "id" in el.attrib}
        counters: dict[str, int] = {}
        for el in doc.iter():
            if not (isinstance(el.tag, str) and self.header_rgx.match(el.tag)):
                continue
            self.set_level(el)
            if "id" not in el.attrib:
                name = _plain_heading_name(el) or strip_tags(
                    render_inner_html(remove_fnrefs(el), self.md))
                el.attrib["id"] = unique(self.slugify(html.unescape(name), self.sep),
                                         used_ids, counters)
            el.attrib.pop("data-toc-label", None)
            if self.use_anchors:
                self.add_anchor(el, el.attrib["id"])
            if self.use_permalinks not in (False, None):
                self.add_permalink(el, el.attrib["id"])
        self.md.toc_tokens, self.md.toc = [], ""  # type: ignore[attr-defined]


PLAIN_HEADING = re.compile(r"[^&<>\x02\x03]*")  # nothing serialising or post-processing changes


def _plain_heading_name(heading: etree.Element) -> str:
    """What the stock pass names a heading of plain text (no child element, no character
    escaping or placeholders would touch): its words. "" for any other heading."""
    text = heading.text or ""
    if len(heading) or not PLAIN_HEADING.fullmatch(text):
        return ""
    return " ".join(text.split())


class _KeptOrder(util.Registry):
    """A registry that keeps its sorted list of items between iterations (the stock one
    makes a new list each time: for the block processors, once per block)."""

    def __init__(self, registry: util.Registry) -> None:
        super().__init__()
        for item in registry._priority:  # in the order they were registered
            self.register(registry[item.name], item.name, item.priority)
        self._items: list | None = None

    def __iter__(self) -> Iterator:
        if self._items is None:
            self._items = list(super().__iter__())
        return iter(self._items)

    def register(self, item: Any, name: str, priority: float) -> None:
        self._items = None
        super().register(item, name, priority)

    def deregister(self, name: str, strict: bool = True) -> None:
        self._items = None
        super().deregister(name, strict)


SKIPPABLE = {  # passes that act only on a text holding one of these marks
    "preprocessors": {"html_block": ("<",), "fenced_code_block": ("```", "~~~")},
    "treeprocessors": {"attr_list": ("{",), "unescape": ("\\",)},
}


def converter(extensions: tuple[str, ...] = EXTENSIONS, *, gated: bool = True,
              table_of_contents: bool = True, raw_html: bool = True) -> markdown.Markdown:
    """A converter with these extensions; ``gated`` adds the fast paths (the inline
    one only when its patterns are all known); without ``table_of_contents``,
    headings get ids but ``[TOC]`` is left as it is; without ``raw_html``, HTML
    written in the text is shown as text (``[markdown] html = "escape"``)."""
    made = [_extension(name) for name in extensions]
    if not gated:
        return _without_raw_html(markdown.Markdown(extensions=made), raw_html)
    md = _without_raw_html(_GatedMarkdown(extensions=made), raw_html)
    patterns = md.inlinePatterns
    if sum(name in patterns for name in GATED_PATTERNS) == len(patterns) and \
            "inline" in md.treeprocessors:
        md.treeprocessors.register(_GatedInlineProcessor(md), "inline", 20)
    md.parser.blockprocessors = blocks = _KeptOrder(md.parser.blockprocessors)
    if sum(name in blocks for name in GATED_BLOCKS) == len(blocks):
        blocks.register(_PlainParagraph(md.parser, blocks["paragraph"]), "plain_paragraph", 200)
    for stage, gates in SKIPPABLE.items():
        registry = getattr(md, stage)
        for name, marks in gates.items():
            if name in registry:
                index = registry.get_index_for_name(name)
                priority = registry._priority[index].priority  # kept where it was
                registry.register(_SkippedWithout(registry[name], marks), name, priority)
    toc = next((e for e in md.registeredExtensions if isinstance(e, TocExtension)), None)
    if not table_of_contents and toc is not None:
        md.treeprocessors.register(_HeadingIdsOnly(md, {**toc.getConfigs(), "marker": ""}),
                                   "toc", 5)
    return md


def _without_raw_html(md: markdown.Markdown, raw_html: bool) -> markdown.Markdown:
    """The converter without the passes that keep raw HTML (block and inline): the text
    stays text, and the serialiser escapes its ``<``."""
    if not raw_html:
        md.preprocessors.deregister("html_block", strict=False)
        md.inlinePatterns.deregister("html", strict=False)
    return md


def _extension(name: str) -> markdown.Extension:
    """A bundled extension made from its module (asking the installed packages' entry
    points, as a bare name does, imports ``importlib.metadata`` and scans them all)."""
    configs = {"slugify": slugify_unicode} if name == "toc" else {}
    if "." not in name and importlib.util.find_spec(f"markdown.extensions.{name}"):
        module = importlib.import_module(f"markdown.extensions.{name}")
        return module.makeExtension(**configs)
    return markdown.Markdown().build_extension(name, configs)


@cache
def _converters(raw_html: bool = True) -> tuple[markdown.Markdown, markdown.Markdown]:
    """The converters pages use (made once, when a first text needs one): with and
    without a table of contents."""
    return (converter(table_of_contents=False, raw_html=raw_html),
            converter(raw_html=raw_html))


def to_html(text: str, *, raw_html: bool = True) -> str:
    """Markdown to HTML with reused converters (much cheaper than one per page);
    without ``raw_html``, HTML in the text is shown as text.

    A conversion that stops half way (a text nested too deep for Python-Markdown's
    recursive block parser, an interrupt) leaves the parser's state stack behind, and
    ``reset`` does not clear it: every later text would lose its paragraphs. The
    converters are made again instead."""
    plain, with_contents = _converters(raw_html)
    md = with_contents if "[TOC]" in text else plain
    md.reset()
    try:
        return md.convert(text)
    except BaseException:
        _converters.cache_clear()
        raise
