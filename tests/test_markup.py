"""The Markdown fast path gives exactly the stock converter's HTML."""

from pathlib import Path

import pytest

from generator import markup
from generator.load import parse_front_matter

ROOT = Path(__file__).resolve().parent.parent
REAL = Path("/work/shared/corpus/real")  # real sites' sources, where this machine has them

TRICKY = [
    "Plain prose with no markup at all, just words, commas, and full stops.",
    "Some `code` and ``double `tick` code``.",
    r"Escaped \*stars\* and \_underscores\_ and \\ backslashes.",
    "A [link](/en/news/x/) and a [reference][ref] and [short].\n\n[ref]: /a/\n[short]: /b/",
    "An ![image](/img.png \"title\") and ![ref image][img]\n\n[img]: /i.png",
    "Footnote here[^1].\n\n[^1]: The note.",
    "Autolink <https://example.org/> and mail <someone@example.org>.",
    "Raw <span class=\"x\">HTML</span> and &amp; &copy; &#169; entities, 3 < 4 & 5 > 2.",
    "*em* **strong** ***both*** _em_ __strong__ snake_case_word a * b",
    "Hard  \nbreak and soft\nbreak.",
    "| a | b |\n|---|---|\n| *x* | y |\n| plain | text |",
    "## Heading with *emphasis* {#custom-id}\n\nParagraph {: .lead }",
    "# عنوان عربي\n\nنص عربي **بخط عريض** و[رابط](/ar/)",
    "# 中文标题\n\n中文段落，没有标记。\n\n1. 一\n2. 二",
    "> quote with `code`\n>\n> and plain",
    "```python\nprint('*not emphasis*')\n```\n\nafter",
    "- plain item\n- [link item](/x/)\n    - nested *em*",
    "Brackets ] alone and ! alone and text!",
    "[TOC]\n\n# First\n\n## Second *part*\n\n## Second *part*",
    "<div class=\"box\">\n*raw* block\n</div>\n\nafter the block",
    "~~~\nfenced <b>with tildes</b>\n~~~",
    "Line one\nline two\nline three",
    "Title\n=====\n\nSubtitle\n--------",
    "Paragraph\n    indented continuation\n\n    code block",
    "1. one\n2. two\n\nplain after a list\n\n- a\n- b\n\nplain again",
    "a | b\n--|--\n1 | 2",
    "Text\n* * *\nmore",
    "Paragraph\n> quote inside",
    "Word: definition-like line\nand 2024 numbers in the middle",
    "Less-than 3 < 4 inline only, and a footnote[^n] with\n\n[^n]: a note & more.",
    'Inline <abbr title="a\\*b">HTML</abbr> holding an escape, and \\<not a tag>.',
    "Braces {without attributes} and {: .lonely } and `code {: .x}`.",
    "- item {: .tagged }\n- [link](/a/){: rel=nofollow }",
    "Only *emphasis* here, and snake_case, and a_b_c.",
    "Only [a link](/x/) and ![pic](/p.png) here.",
    "Stars * and underscores _ alone, ampersand & alone, backtick ` alone.",
    "# Same\n\n## Same\n\n### Same {#same}\n\n## Labelled {data-toc-label=\"Short\"}",
    "## Note[^1] and <em>raw</em> &amp; `code`\n\n[^1]: The note.",
    "<h2 id=\"kept\">Raw heading</h2>\n\n## kept",
    # GitHub-style Markdown (issue #16): each new pattern and pass, and texts that only
    # look like them
    "Only _underscore emphasis_ here.",
    "~~struck~~ and ~single~ and a~~mid~~word, and \\~~escaped~~, ~~ spaced ~~",
    "Tildes ~ alone, ~5 km and ~~~ not a fence in a line",
    "- [ ] open\n- [x] done\n- [X] also done\n- [y] not a task\n\n1. [ ] numbered",
    "- [ ] loose\n\n- [x] items",
    "[ ] a box outside any list, and [x] another",
    "Bare https://example.org/a_b?c=1&d=2 and http://x.org, www.example.org and WwW.Example.org.",
    "ftp://files.example.org/x and <https://example.org> and [text](https://example.org/)",
    "Write to press@example.org or <press@example.org>; not@ a mail, @handle, a@b",
    "`https://example.org` in code and ~~`code`~~",
    "Paragraph line\n- a list right after it\n- second\nlazy line",
    "Paragraph\n1. numbered one\n2. two\n\nParagraph\n2019. a year",
    "- a\n  - two spaces\n    - four\n  - back\n- top",
    "1. a\n   - three spaces\n\n   paragraph in a\n2. b",
    "- a\n\n  para of a\n\n      code in a\n- b",
    "> quote\n> - list in it\n>   - nested\n\n> - again",
    "Text\n* * *\n- after a rule\n\n    - code, not a list",
    "\t- tab indented\n-\ttab after marker\n- a\n\t- nested by tab",
    "1) paren\n+ plus\n* star\n- dash",
    # prose whose lines start with a letter, holding what block processors look for
    "Note: a well-known [link](/a/) and *em* # not a heading > not a quote = + -",
    "Line one with **bold**\nline two [ref]: /x/\nthree [^1]: not a note",
    "Text\n=====",
    "Text\nmore - text\n---",
    "Name | Value\nRow | 1",
    "Words then a pipe | inside",
    "A line\nlazy > quote\nand # hash\nand 1. one\nand - dash",
    "Para with <b>inline</b> HTML and &amp; and `code` and ~~struck~~",
    "Lines of spaces\n   \nbetween\n \n  \nparagraphs, and a hard  \nbreak",
    "- item\n  \n  continued after a line of spaces\n\t\n- b",
    "Text [^a] and [r]\n[^a]: a note\n[r]: /x/ \"t\"\n  [r2]:\n  /y/",
    "> quote\nlazy\n\nrule\n***\nand ___ and --- here\n\n# h #\n| a |\n|---|\n| b |",
    "Links only: [a](/a/), [b][r], [r], ! [spaced](/s/), [^] and [ ^x]\n\n[r]: /r/",
    "Images: ![a](/a.png) ![b][r] ![r] and a note[^n]\n\n[r]: /r.png\n[^n]: note",
    "One note twice[^a] and again[^a], a second[^b]\n\n[^b]: b first\n[^a]: a\n\n    more of a",
]


def _both(text: str) -> tuple[str, str]:
    stock = markup.converter(gated=False)
    return markup.to_html(text), stock.convert(text)


@pytest.mark.parametrize("text", TRICKY)
def test_fast_path_matches_stock_converter(text):
    fast, stock = _both(text)
    assert fast == stock


def test_fast_path_matches_on_every_bundled_source():
    sources = sorted([*ROOT.glob("content/**/*.md"), *ROOT.glob("tests/fixtures/**/*.md"),
                      *REAL.glob("**/*.md")])
    assert len(sources) > 50
    for source in sources:
        try:
            body = parse_front_matter(source.read_text("utf-8")).body
        except (ValueError, UnicodeDecodeError):
            continue  # the bad-input fixtures
        fast, stock = _both(body)
        assert fast == stock, source


def test_fast_path_is_in_use_and_steps_aside_for_unknown_patterns():
    assert isinstance(markup.converter().treeprocessors["inline"],
                      markup._GatedInlineProcessor)
    nl2br = markup.converter((*markup.EXTENSIONS, "nl2br"))  # adds a pattern matching "\n"
    assert not isinstance(nl2br.treeprocessors["inline"], markup._GatedInlineProcessor)
    assert nl2br.convert("one\ntwo") == "<p>one<br />\ntwo</p>"
    assert "plain_paragraph" in markup.converter().parser.blockprocessors
    definitions = markup.converter((*markup.EXTENSIONS, "def_list"))  # adds block processors
    assert "plain_paragraph" not in definitions.parser.blockprocessors
    assert "<dl>" in definitions.convert("Term\n:   Definition")


def test_syntax_passes_are_skipped_only_for_texts_without_their_syntax():
    md = markup.converter()
    assert isinstance(md.treeprocessors["attr_list"], markup._SkippedWithout)
    assert isinstance(md.treeprocessors["unescape"], markup._SkippedWithout)
    assert isinstance(md.treeprocessors["task-list"], markup._SkippedWithout)
    assert isinstance(md.preprocessors["list_layout"], markup._SkippedWithout)
    assert markup.to_html("- [x] done") == \
        '<ul class="task-list">\n<li class="task-list-item">' \
        '<input type="checkbox" disabled checked/> done</li>\n</ul>'
    assert markup.to_html("Text\n- item") == "<p>Text</p>\n<ul>\n<li>item</li>\n</ul>"
    assert markup.to_html("Para\n{: .lead }") == '<p class="lead">Para</p>'
    assert markup.to_html(r"\*not em\*") == "<p>*not em*</p>"


def test_fast_path_matches_on_mixed_texts():
    """Texts made of lines that start, end or only resemble the constructs the gates
    look for, in many orders: each converts as the stock converter converts it."""
    lines = ["- a", "  - b", "    - c", "1. x", "2. y", "   1. z", "Para text", "", "",
             "    code", "> q", "> - q", ">   - r", "* * *", "~~s~~ and ~t~", "- [ ] t",
             "- [x] u", "see www.x.org.", "https://a.b/c?d=1&e=2", "mail a@b.org", "  more",
             "Title", "---", "```", "<div>", "</div>", "| a | b |", "|---|---|", "[^1]: n",
             "x[^1]", "\\~~x~~", "+ p", "10. ten", "\t- tab", "## H", "WWW.CAPS.ORG",
             "<irc://x.y>", "~~~", "*em* _u_", "_u_ alone", "a~~b~~c", "-", "[TOC]",
             "Word: [link](/a/) *em* - x", "Pipe | mid", "Hash # mid > gt", "==="]
    stock = markup.converter(gated=False)
    state = 3
    for _ in range(400):
        chosen = []
        for _ in range(1 + state % 11):
            state = (state * 1103515245 + 12345) % 2**31
            chosen.append(lines[state % len(lines)])
        text = "\n".join(chosen)
        assert markup.to_html(text) == stock.reset().convert(text), text


def test_block_level_lookup_matches_stock():
    fast, stock = markup.converter(), markup.converter(gated=False)
    fast.convert("x")  # the set is taken when a text is converted
    for tag in ("p", "DIV", "h2", "span", "a", "hr/", "section", "em", "", None, 3):
        assert fast.is_block_level(tag) == stock.is_block_level(tag), tag


def test_block_processor_order_is_kept_and_follows_changes():
    md = markup.converter()
    blocks = md.parser.blockprocessors
    stock = markup.converter(gated=False).parser.blockprocessors
    assert [type(getattr(p, "wrapped", p)) for p in blocks
            if p.__class__.__name__ != "_PlainParagraph"] == [type(p) for p in stock]
    first = list(blocks)
    blocks.deregister("hr")
    assert len(list(blocks)) == len(first) - 1
    blocks.register(first[-1], "again", 1000)
    assert next(iter(blocks)) is first[-1]
