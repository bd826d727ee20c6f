"""Markdown as editors write it (issue #16): GitHub-style lists, ~~strike~~, task lists
and bare links, checked against the CommonMark and GFM specs' own examples, and through
the raw-HTML sanitiser the way pages get them.

Spec examples are compared after both sides are parsed with lxml and reduced to their
elements, attributes and whitespace-collapsed text (``class`` and heading ``id``
attributes aside: Python-Markdown adds its own). Where Python-Markdown reads a case
differently from CommonMark and newshub keeps Python-Markdown's reading, the example is
an expected failure with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

from generator import markup, sanitize
from generator.markdown_lists import needs_rewrite, rewrite

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "markdown"

FOUR_SPACES_AFTER_A_LIST = (
    "Python-Markdown reads a block indented four spaces after a list as the last item's "
    "content (CommonMark: indented code after the list)")
FENCE_IN_ITEM = ("fenced code inside a list item: Python-Markdown's fenced_code reads a "
                 "fence only at the start of a line")
LOOSENESS = ("Python-Markdown decides item by item whether an item is loose (its text in "
             "<p>), CommonMark decides for the whole list")
EMPTY_ITEM = "Python-Markdown has no empty list items"
PAREN = "Python-Markdown has no ordered lists numbered 1)"
KEPT_PYTHON_MARKDOWN = {
    259: FOUR_SPACES_AFTER_A_LIST, 315: FOUR_SPACES_AFTER_A_LIST,
    265: FENCE_IN_ITEM, 320: FENCE_IN_ITEM, 323: FENCE_IN_ITEM, 326: FENCE_IN_ITEM,
    266: LOOSENESS, 272: LOOSENESS, 273: LOOSENESS, 316: LOOSENESS, 318: LOOSENESS,
    319: LOOSENESS, 321: LOOSENESS,
    268: "Python-Markdown takes list numbers of any length (CommonMark: nine digits)",
    270: 'Python-Markdown keeps the number as written (start="003")',
    275: "an item opening with indented code (five spaces after its marker)",
    276: "an item opening with indented code (five spaces after its marker)",
    280: EMPTY_ITEM, 282: EMPTY_ITEM, 283: EMPTY_ITEM, 284: EMPTY_ITEM, 285: EMPTY_ITEM,
    286: EMPTY_ITEM, 317: EMPTY_ITEM,
    298: PAREN, 299: PAREN, 304: PAREN,
    302: "a setext heading inside a list item's first lines",
    303: "Python-Markdown goes on with a list whose bullet character changes",
    314: ("a line indented four spaces but less than the item's text: CommonMark reads it "
          "as the item's paragraph text, Python-Markdown as a nested item"),
}


def _examples(name: str, kept: dict[int, str]) -> list:
    examples = json.loads((FIXTURES / name).read_text("utf-8"))["examples"]
    return [pytest.param(e["markdown"], e["html"], id=f"example-{e['example']}",
                         marks=[pytest.mark.xfail(reason=kept[e["example"]], strict=True)]
                         if e["example"] in kept else [])
            for e in examples]


def _shape(html: str) -> str:
    """The elements, attributes and text of an HTML fragment, whitespace collapsed."""
    root = lxml.html.fragment_fromstring(html or "<span></span>", create_parent="div")
    return _element(root)


def _element(element: lxml.html.HtmlElement) -> str:
    attributes = sorted((name, "" if value == name else value)  # disabled="disabled"
                        for name, value in element.attrib.items()
                        if name != "class" and not (name == "id" and element.tag[0] == "h"))
    parts = [_words(element.text)]
    for child in element:
        parts += [_element(child), _words(child.tail)]
    return f"<{element.tag}{attributes or ''}>{''.join(parts)}</{element.tag}>"


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


@pytest.mark.parametrize(("text", "expected"),
                         _examples("commonmark_lists.json", KEPT_PYTHON_MARKDOWN))
def test_lists_follow_commonmark(text, expected):
    assert _shape(markup.to_html(text)) == _shape(expected)


@pytest.mark.parametrize(("text", "expected"), _examples("gfm_extensions.json", {}))
def test_github_extensions_follow_gfm(text, expected):
    assert _shape(markup.to_html(text)) == _shape(expected)


def test_a_list_right_after_a_paragraph_line():
    html = markup.to_html("Our teams delivered:\n- water\n- shelter kits\n\nThen more.")
    page = lxml.html.fragment_fromstring(html, create_parent="div")
    assert page.xpath("string(p[1])") == "Our teams delivered:"
    assert page.xpath("ul/li/text()") == ["water", "shelter kits"]
    # only a list numbered 1 interrupts a paragraph: a year at a line's start does not
    assert "<ol" not in markup.to_html("The appeal ran until\n2024. It raised funds.")
    assert "<ol>" in markup.to_html("Steps:\n1. Register\n2. Donate")


@pytest.mark.parametrize("indent", [2, 4])
def test_nested_lists_by_two_or_four_spaces(indent):
    pad = " " * indent
    text = f"- Health\n{pad}- clinics\n{pad}{pad}- mobile\n{pad}- vaccines\n- Water"
    page = lxml.html.fragment_fromstring(markup.to_html(text), create_parent="div")
    assert [li.text.strip() for li in page.xpath("ul/li")] == ["Health", "Water"]
    assert [li.text.strip() for li in page.xpath("ul/li/ul/li")] == ["clinics", "vaccines"]
    assert page.xpath("string(ul/li/ul/li/ul/li)") == "mobile"


def test_item_content_indented_to_its_text():
    text = "1. First\n\n   More about it.\n\n   - a detail\n2. Second"
    page = lxml.html.fragment_fromstring(markup.to_html(text), create_parent="div")
    first = page.xpath("ol/li")[0]
    assert [p.text for p in first.xpath("p")] == ["First", "More about it."]
    assert first.xpath("ul/li/text()") == ["a detail"]
    assert len(page.xpath("ol/li")) == 2


def test_python_markdown_layout_converts_as_before():
    """Texts written for Python-Markdown (four-space nesting, blank lines around lists)
    are left to it as they are."""
    stock = markup.converter(("tables", "footnotes", "fenced_code", "attr_list", "toc",
                              "sane_lists"), gated=False)
    for text in ("- a\n    - b\n        - c\n- d", "1. a\n\n    para\n\n2. b",
                 "- a\n\n        code\n\n- b", "Text\n\n- a\n- b\n\nText"):
        assert rewrite(text.split("\n")) == text.split("\n")
        assert markup.to_html(text) == stock.convert(text)


def test_lists_in_block_quotes():
    page = lxml.html.fragment_fromstring(
        markup.to_html("> We need:\n> - blankets\n>   - wool"), create_parent="div")
    assert page.xpath("blockquote/ul/li/text()")[0].strip() == "blankets"
    assert page.xpath("blockquote/ul/li/ul/li/text()") == ["wool"]


def test_strike_through_but_single_tildes_stay_text():
    assert markup.to_html("~~Postponed~~ Held on 3 May") == \
        "<p><del>Postponed</del> Held on 3 May</p>"
    assert markup.to_html("from ~5 km to ~10 km") == "<p>from ~5 km to ~10 km</p>"
    assert markup.to_html(r"\~~not struck~~") == "<p>~~not struck~~</p>"


def test_bare_links():
    page = lxml.html.fragment_fromstring(markup.to_html(
        "Read https://example.org/report?id=3&lang=fr. Or www.example.org, or write to "
        "press@example.org. Old style: <https://example.org/a> and <irc://example.org/b>."),
        create_parent="div")
    assert page.xpath("p/a/@href") == [
        "https://example.org/report?id=3&lang=fr", "http://www.example.org",
        "mailto:press@example.org", "https://example.org/a", "irc://example.org/b"]
    assert markup.to_html("[a link](https://example.org)") == \
        '<p><a href="https://example.org">a link</a></p>'  # not linked twice
    assert "<a" not in markup.to_html("`https://example.org` in code")


def _task_list(html: str) -> list[tuple[str, bool, bool, str]]:
    page = lxml.html.fragment_fromstring(html, create_parent="div")
    return [(box.get("type"), box.get("disabled") is not None, box.get("checked") is not None,
             " ".join(box.getparent().text_content().split()))
            for box in page.xpath("//li/input")]


@pytest.mark.parametrize("policy", sanitize.POLICIES)
def test_sanitiser_keeps_task_lists_and_strike(policy):
    # <b> makes "safe" clean the body with nh3 rather than skip it
    text = "- [x] Wells **dug** <b>now</b>\n- [ ] ~~Pumps~~ Tanks\n- plain"
    html, removed = sanitize.body_html(text, policy)
    assert removed == ()
    now = "<b>now</b>" if policy == "escape" else "now"
    assert _task_list(html) == [("checkbox", True, True, f"Wells dug {now}"),
                                ("checkbox", True, False, "Pumps Tanks")]
    page = lxml.html.fragment_fromstring(html, create_parent="div")
    assert page.xpath("//li/del/text()") == ["Pumps"]
    assert page.xpath("ul/@class") == ["task-list"]


def test_raw_input_can_only_be_a_disabled_checkbox():
    html, removed = sanitize.body_html(
        'Search: <input type="text" name="q" value="x" onfocus="steal()" checked>', "safe")
    page = lxml.html.fragment_fromstring(html, create_parent="div")
    (box,) = page.xpath("//input")
    assert dict(box.attrib) == {"type": "checkbox", "disabled": "", "checked": ""}
    messages = " ".join(r.message for r in removed)
    for what in ('type="text"', "name=", "value=", "onfocus="):
        assert what in messages
    assert {r.line for r in removed} == {1}


def test_list_gate_is_exact_on_texts_it_skips():
    """needs_rewrite may say yes for nothing, never no for a text the rewrite changes."""
    fragments = ["- a", "  - b", "    - c", "1. x", "2. y", "   1. z", "Para text", "", "",
                 "    code", "> q", "> - q", ">   - r", "* * *", "- [ ] t", "  more", " c",
                 "Title", "---", "```", "+ p", "10. ten", "\t- tab", "## H", "-", "- a\n\n  p"]
    state = 7
    for _ in range(3000):
        lines = []
        for _ in range(1 + state % 9):
            state = (state * 1103515245 + 12345) % 2**31
            lines.append(fragments[state % len(fragments)])
        text = "\n".join(lines)
        if not needs_rewrite(text):
            expanded = text.expandtabs(4).split("\n")
            assert rewrite(expanded) == expanded, text


def test_no_list_markup_is_left_as_text_in_bundled_content():
    """The example site's bodies hold no "- " list line that stayed in a paragraph."""
    for source in sorted((Path(__file__).resolve().parent.parent / "content").rglob("*.md")):
        html = markup.to_html(source.read_text("utf-8").split("\n---\n", 1)[-1])
        assert not re.search(r"<p>[^<]*\n[-*+] ", html), source
