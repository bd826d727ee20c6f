"""Markdown to HTML: reused Python-Markdown converters, with fast paths for prose.

Python-Markdown tries each of its ~15 inline patterns on every text node and each
of its ~13 block processors on every block, which is most of its time on prose.
A text node holding none of the characters those patterns start with cannot
match any of them, so it is left as it is, and a pattern whose start character
is not in a text is not tried on it; a block whose lines start with a letter (and
holds no table's ``|``) goes straight to the paragraph processor, and a block
processor whose pattern needs a character (a heading's ``#``, a quote's ``>``…) is
not asked about a block without it. Passes that
only act on one piece of syntax are skipped for a text without it: raw HTML
(``<``), fenced code (a fence), attribute lists (``{``), backslash escapes (``\\``),
task lists (``[ ]``, ``[x]``), and the list layout pass for a text whose lists are
already laid out as Python-Markdown reads them (``markdown_lists.needs_rewrite``);
``~~`` gates strike-through, ``://`` or ``www.`` bare links, ``@`` bare addresses.
The table of contents (pages never show it; headings still get their ids) is
assembled only when the text asks for one with ``[TOC]``. A text of plain prose
(``prose``'s subset: paragraphs, headings, one-line lists, quotes, links, bold) does
not reach Python-Markdown at all: ``prose.to_html`` writes its HTML, with heading ids
from the converter's own pass. The HTML is byte-identical to the stock converter's
(tests compare both on every bundled source). Each gate stands only while the
patterns or block processors are the ones it knows: an extension adding another
turns it off.
"""

from __future__ import annotations

import html
import importlib
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable, Iterator, MutableSet
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
    strip_tags,
    unique,
)
from markdown.inlinepatterns import AUTOLINK_RE, AutolinkInlineProcessor
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import NormalizeWhitespace, Preprocessor
from markdown.treeprocessors import InlineProcessor, Treeprocessor

from generator import markdown_lists, prose

# The Markdown editors write: GitHub's, on Python-Markdown. pymdownx (pymdown-extensions)
# adds ~~strike~~, task lists and bare links; markdown_lists reads lists as GitHub does.
EXTENSIONS = ("tables", "footnotes", "fenced_code", "attr_list", "toc", "sane_lists",
              "pymdownx.tilde", "pymdownx.tasklist", "pymdownx.magiclink",
              "generator.markdown_lists")
NOT_IN_SLUG = re.compile(r"[^\w\s-]")  # toc.slugify's patterns, compiled once
SLUG_SPACES: dict[str, re.Pattern[str]] = {}


def slugify_unicode(value: str, separator: str) -> str:
    """``markdown.extensions.toc.slugify_unicode`` with its patterns compiled once (it
    passes them to ``re.sub``, which looks each up in re's cache at every call)."""
    value = NOT_IN_SLUG.sub("", value).strip().lower()
    spaces = SLUG_SPACES.get(separator)
    if spaces is None:
        spaces = SLUG_SPACES[separator] = re.compile(rf"[{separator}\s]+")
    return spaces.sub(separator, value)


CONFIGS: dict[str, dict[str, Any]] = {
    "toc": {"slugify": slugify_unicode},
    "pymdownx.tilde": {"subscript": False},  # "~5 km ~10 km" stays text; ~~x~~ is <del>
}
# What each known inline pattern needs in a text to match there: code, escapes, links
# and references ([), images (![), footnotes ([^), autolinks/HTML, entities, emphasis
# (Python-Markdown 3.8's em_strong reads both * and _; older ones had em_strong2 for _),
# hard line breaks, ~~strike~~, bare URLs (http://, https://, ftp://, www. in any case)
# and addresses.
PATTERN_MARKS = {
    "backtick": ("`",), "escape": ("\\",), "reference": ("[",), "link": ("[",),
    "image_link": ("![",), "image_reference": ("![",), "short_reference": ("[",),
    "short_image_ref": ("![",), "autolink": ("<",), "automail": ("<",), "linebreak": ("  \n",),
    "html": ("<",), "entity": ("&",), "em_strong": ("*", "_"), "em_strong2": ("_",),
    "not_strong": ("*", "_"), "footnote": ("[^",), "delimiter": ("~~",),
    "magic-link": ("://", "ww.", "Ww.", "wW.", "WW."), "magic-mail": ("@",),
}
GATED_PATTERNS = frozenset(PATTERN_MARKS)
_MARKS = sorted({mark for marks in PATTERN_MARKS.values() for mark in marks})
# Any one-character mark, found by a character class; the longer ones are looked for as
# substrings (in a regex, "  \n" would make every space a place to try, "ww." every w).
INLINE_TRIGGER = re.compile("[" + re.escape("".join(m for m in _MARKS if len(m) == 1)) + "]")
# (![ and [^ need no look of their own: a text holding one holds a [.)
LONGER_MARKS = (util.STX, *(m for m in _MARKS
                            if len(m) > 1 and INLINE_TRIGGER.search(m) is None))


def _inline(text: str) -> bool:
    """Whether inline patterns could change ``text``: it holds a mark one of them starts
    with, or a placeholder for stashed markup."""
    return INLINE_TRIGGER.search(text) is not None or any(map(text.__contains__, LONGER_MARKS))


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
        # The stock pass maps every element to its parent (and keeps the map up to date)
        # only to list the ancestors of the tree it is given: the document, which has none.
        self.parent_map = {}
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
                    stack += made
                    inserts.append((child, made))
                    self.ancestors.pop()
                if child.tail and _inline(child.tail):
                    self._tail(element, child, handle(child.tail), place)
                if len(child):
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
            element.insert(position, item[0])

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString) or (patternIndex == 0 and not _inline(data)):
            return data
        marked, start = self.marked, 0
        while patternIndex < len(marked):  # the stock loop, skipping hopeless patterns
            pattern, marks = marked[patternIndex]
            matched = False
            if any(map(data.__contains__, marks)):
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


class _PlainParagraph(BlockProcessor):
    """A block of prose (each line starts with a letter; no table's |) goes straight to
    the paragraph processor."""

    def __init__(self, parser: BlockParser, paragraph: BlockProcessor) -> None:
        super().__init__(parser)
        self.paragraph = paragraph

    def test(self, parent: etree.Element, block: str) -> bool:
        # Every block processor but the table's (a | anywhere) looks at how lines start:
        # a line starting with a letter is none of theirs, whatever its inline markup.
        return "|" not in block and all(line[:1].isalpha() for line in block.split("\n"))

    def run(self, parent: etree.Element, blocks: list[str]) -> bool | None:
        return self.paragraph.run(parent, blocks)


# What a block must hold for these processors to take it: their patterns need it (a
# table's rows split at a |, a heading's #, a rule's -, _ or *, a quote's >, a setext
# heading's = or -, a footnote's [^, a reference's ]:). Any other block is not put to
# their tests (the footnote's and reference's run their pattern, then give it back).
BLOCK_MARKS = {"table": ("|",), "hashheader": ("#",), "setextheader": ("=", "-"),
               "hr": ("-", "_", "*"), "quote": (">",), "footnote": ("[^",),
               "reference": ("]:",)}


class _TestedWith(BlockProcessor):
    """A block processor whose test runs only on a block holding one of ``marks``."""

    def __init__(self, wrapped: BlockProcessor, marks: tuple[str, ...]) -> None:
        super().__init__(wrapped.parser)
        self.wrapped = wrapped
        self.marks = marks

    def test(self, parent: etree.Element, block: str) -> bool:
        return any(map(block.__contains__, self.marks)) and self.wrapped.test(parent, block)

    def run(self, parent: etree.Element, blocks: list[str]) -> bool | None:
        return self.wrapped.run(parent, blocks)


class _GatedMarkdown(markdown.Markdown):
    """A converter that keeps the text it converts (for the passes that skip a text
    without their syntax) and remembers which tags are block-level (the stock one
    looks each up in a list, ~60 times a page)."""

    source_text = ""

    def __init__(self, **kwargs: Any) -> None:
        self.block_level: frozenset[str] = frozenset()
        self.block_tags: dict[object, bool] = {}
        super().__init__(**kwargs)

    def convert(self, source: str) -> str:
        self.source_text = source
        block_level = frozenset(self.block_level_elements)
        if block_level != self.block_level:
            self.block_level, self.block_tags = block_level, {}
        try:
            return super().convert(source)
        finally:
            self.source_text = ""

    def is_block_level(self, tag: object) -> bool:
        known = self.block_tags.get(tag)
        if known is None:
            known = self.block_tags[tag] = isinstance(tag, str) and \
                tag.lower().rstrip("/") in self.block_level
        return known


class _SkippedWithout(Preprocessor):
    """A pre-, tree- or postprocessor run only on a text containing one of ``marks`` (or,
    when ``marks`` is a test, on a text it accepts)."""

    def __init__(self, wrapped: Preprocessor | Treeprocessor | Postprocessor,
                 marks: tuple[str, ...] | Callable[[str], bool], md: markdown.Markdown) -> None:
        super().__init__(md)
        self.wrapped = wrapped
        self.marks = marks

    def __getattr__(self, name: str) -> Any:  # the wrapped pass's helpers (unescape's)
        if name == "wrapped":
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def run(self, value: Any) -> Any:  # lines for a preprocessor, the tree for the others
        text = self.md.source_text  # type: ignore[union-attr]
        marks = self.marks
        if marks(text) if callable(marks) else any(map(text.__contains__, marks)):
            return self.wrapped.run(value)
        return value


class _NormalizedWhitespace(NormalizeWhitespace):
    """The stock pass (Python-Markdown 3.x), without its search for lines holding only
    spaces in a text that has no line starting with a space: the search, a look-behind
    the regex engine tries at every character, was ~4 % of a page's conversion."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        source = source.replace(util.STX, "").replace(util.ETX, "")
        source = source.replace("\r\n", "\n").replace("\r", "\n") + "\n\n"
        source = source.expandtabs(self.md.tab_length)
        if "\n " in source:
            source = BLANK_LINE_SPACES.sub("\n", source)
        return source.split("\n")


BLANK_LINE_SPACES = re.compile(r"(?<=\n) +\n")  # the stock pass's


class _HeadingIdsOnly(TocTreeprocessor):
    """The toc pass giving headings their ids (as the stock pass does, anchors and
    permalinks included), without assembling, serialising and post-processing a table
    of contents nobody reads."""

    def run(self, doc: etree.Element) -> None:
        used_ids, headings = set(), []  # (one walk over the tree, where the stock pass
        for el in doc.iter():  # makes two)
            if "id" in el.attrib:
                used_ids.add(el.attrib["id"])
            if isinstance(el.tag, str) and self.header_rgx.match(el.tag):
                headings.append(el)
        counters: dict[str, int] = {}
        for el in headings:
            self.set_level(el)
            if "id" not in el.attrib:
                name = _plain_heading_name(el) or strip_tags(
                    render_inner_html(remove_fnrefs(el), self.md))
                el.attrib["id"] = self.heading_id(name, used_ids, counters)
            el.attrib.pop("data-toc-label", None)
            if self.use_anchors:
                self.add_anchor(el, el.attrib["id"])
            if self.use_permalinks not in (False, None):
                self.add_permalink(el, el.attrib["id"])
        self.md.toc_tokens, self.md.toc = [], ""  # type: ignore[attr-defined]

    def heading_id(self, name: str, used_ids: MutableSet[str], counters: dict[str, int]) -> str:
        """The id the stock pass gives a heading named ``name`` (its text, tags stripped),
        made unique among ``used_ids`` (which it joins)."""
        return unique(self.slugify(html.unescape(name), self.sep), used_ids, counters)

    def html_heading_id(self, inner: str, used_ids: MutableSet[str],
                        counters: dict[str, int]) -> str:
        """The id of a heading whose inner HTML is ``inner`` (the prose fast path's)."""
        return self.heading_id(strip_tags(inner) if "<" in inner else " ".join(inner.split()),
                               used_ids, counters)

    @property
    def ids_only(self) -> bool:
        """Whether a heading gets only its id (no anchor or permalink in it)."""
        return not self.use_anchors and self.use_permalinks in (False, None)


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


SKIPPABLE: dict[str, dict[str, tuple[str, ...] | Callable[[str], bool]]] = {
    # passes that act only on a text holding one of these marks (or that a test accepts)
    "preprocessors": {"html_block": ("<",), "fenced_code_block": ("```", "~~~"),
                      "list_layout": markdown_lists.needs_rewrite},
    "treeprocessors": {"attr_list": ("{",), "unescape": ("\\",),
                       "task-list": ("[ ]", "[x]", "[X]"), "footnote": ("[^",),
                       "footnote-duplicate": ("[^",)},
    "postprocessors": {"footnote": ("[^",)},  # its placeholders (a text cannot hold them)
}


def converter(extensions: tuple[str, ...] = EXTENSIONS, *, gated: bool = True,
              table_of_contents: bool = True, raw_html: bool = True) -> markdown.Markdown:
    """A converter with these extensions; ``gated`` adds the fast paths (the inline
    one only when its patterns are all known); without ``table_of_contents``,
    headings get ids but ``[TOC]`` is left as it is; without ``raw_html``, HTML
    written in the text is shown as text (``[markdown] html = "escape"``)."""
    made = [_extension(name) for name in extensions]
    if not gated:
        return _finished(markdown.Markdown(extensions=made), raw_html)
    md = _finished(_GatedMarkdown(extensions=made), raw_html)
    patterns = md.inlinePatterns
    if sum(name in patterns for name in GATED_PATTERNS) == len(patterns) and \
            "inline" in md.treeprocessors:
        md.treeprocessors.register(_GatedInlineProcessor(md), "inline", 20)
    md.parser.blockprocessors = blocks = _KeptOrder(md.parser.blockprocessors)
    if sum(name in blocks for name in GATED_BLOCKS) == len(blocks):
        blocks.register(_PlainParagraph(md.parser, blocks["paragraph"]), "plain_paragraph", 200)
        for name, marks in BLOCK_MARKS.items():
            priority = blocks._priority[blocks.get_index_for_name(name)].priority
            blocks.register(_TestedWith(blocks[name], marks), name, priority)
    if type(md.preprocessors["normalize_whitespace"]) is NormalizeWhitespace:
        md.preprocessors.register(_NormalizedWhitespace(md), "normalize_whitespace", 30)
    for stage, gates in SKIPPABLE.items():
        registry = getattr(md, stage)
        for name, marks in gates.items():
            if name in registry:
                index = registry.get_index_for_name(name)
                priority = registry._priority[index].priority  # kept where it was
                registry.register(_SkippedWithout(registry[name], marks, md), name, priority)
    toc = next((e for e in md.registeredExtensions if isinstance(e, TocExtension)), None)
    if not table_of_contents and toc is not None:
        md.treeprocessors.register(_HeadingIdsOnly(md, {**toc.getConfigs(), "marker": ""}),
                                   "toc", 5)
    return md


def _finished(md: markdown.Markdown, raw_html: bool) -> markdown.Markdown:
    """The converter with Python-Markdown's own ``<scheme://…>`` autolinks (magiclink's
    replacement takes http and ftp only, leaving ``<irc://…>`` to be read as a tag), and
    without ``raw_html`` the passes that keep raw HTML (block and inline) taken out: the
    text stays text, and the serialiser escapes its ``<``."""
    if "autolink" in md.inlinePatterns:
        md.inlinePatterns.register(AutolinkInlineProcessor(AUTOLINK_RE, md), "autolink", 120)
    if not raw_html:
        md.preprocessors.deregister("html_block", strict=False)
        md.inlinePatterns.deregister("html", strict=False)
    return md


def _extension(name: str) -> markdown.Extension:
    """An extension made from its module: a bundled one by its short name, another by its
    module's (asking the installed packages' entry points, as a bare name does, imports
    ``importlib.metadata`` and scans them all)."""
    configs = CONFIGS.get(name, {})
    try:  # importing is quicker than asking importlib.util.find_spec first (1 ms a name)
        module = importlib.import_module(name if "." in name else f"markdown.extensions.{name}")
    except ModuleNotFoundError:
        return markdown.Markdown().build_extension(name, configs)
    return module.makeExtension(**configs)


@cache
def _converters(raw_html: bool = True) -> tuple[markdown.Markdown, markdown.Markdown]:
    """The converters pages use (made once, when a first text needs one): with and
    without a table of contents."""
    return (converter(table_of_contents=False, raw_html=raw_html),
            converter(raw_html=raw_html))


def to_html(text: str, *, raw_html: bool = True, controls: bool = True) -> str:
    """Markdown to HTML with reused converters (much cheaper than one per page), or
    by ``prose`` for plain prose; without ``raw_html``, HTML in the text is shown as
    text (plain prose holds none). Without ``controls``, the caller knows the text
    holds no control character (``prose.to_html``).

    A conversion that stops half way (a text nested too deep for Python-Markdown's
    recursive block parser, an interrupt) leaves the parser's state stack behind, and
    ``reset`` does not clear it: every later text would lose its paragraphs. The
    converters are made again instead."""
    plain, with_contents = _converters(raw_html)
    if "[TOC]" in text:
        md = with_contents
    else:
        toc = plain.treeprocessors["toc"]  # (prose knows these extensions' HTML only)
        if EXTENSIONS == prose.EXTENSIONS and isinstance(toc, _HeadingIdsOnly) and \
                toc.ids_only:
            made = prose.to_html(text, toc.html_heading_id, controls=controls)
            if made is not None:
                return made
        md = plain
    md.reset()
    try:
        return md.convert(text)
    except BaseException:
        _converters.cache_clear()
        raise
