"""Markdown to HTML: one reused Python-Markdown converter, with a fast path for
plain text.

Python-Markdown tries each of its ~15 inline patterns on every text node, which
is most of its time on prose. A text node holding none of the characters those
patterns start with cannot match any of them, so the gate below returns it as it
is; the HTML is byte-identical (tests compare both paths). The gate stands only
while the inline patterns are the ones it knows: an extension adding another
disables it.
"""

from __future__ import annotations

import re

import markdown
from markdown.extensions.toc import slugify_unicode
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


def converter(extensions: tuple[str, ...] = EXTENSIONS, *,
              gated: bool = True) -> markdown.Markdown:
    """A converter with these extensions (gated when its inline patterns are all known)."""
    md = markdown.Markdown(extensions=list(extensions),
                           extension_configs={"toc": {"slugify": slugify_unicode}})
    patterns = md.inlinePatterns
    known = sum(name in patterns for name in GATED_PATTERNS) == len(patterns)
    if gated and known and "inline" in md.treeprocessors:
        md.treeprocessors.register(_GatedInlineProcessor(md), "inline", 20)
    return md


_CONVERTER = converter()


def to_html(text: str) -> str:
    """Markdown to HTML with one reused converter (much cheaper than one per page)."""
    _CONVERTER.reset()
    return _CONVERTER.convert(text)
