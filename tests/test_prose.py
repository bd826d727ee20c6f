"""The prose fast path (generator/prose.py) writes exactly Python-Markdown's HTML for
every text it accepts, accepts the stories newshub is measured on, and refuses the
rest."""

import random
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from lxml import html as lxml_html

from generator import markup, prose
from generator.load import parse_front_matter

ROOT = Path(__file__).resolve().parent.parent
REAL = Path("/work/shared/corpus/real")  # real sites' sources, where this machine has them
CORPUS_SCRIPT = ROOT.parent / "shared" / "corpus" / "make_corpus.py"


def _fast(text: str) -> str | None:
    """The fast path's HTML (None: refused), with the ids of the converter pages use."""
    toc = markup._converters()[0].treeprocessors["toc"]
    return prose.to_html(text, toc.html_heading_id)


def _stock(text: str, raw_html: bool = True) -> str:
    """Python-Markdown's HTML, without any of newshub's fast paths."""
    return _stock_converter(raw_html).reset().convert(text)


_STOCK: dict[bool, object] = {}


def _stock_converter(raw_html: bool):
    if raw_html not in _STOCK:
        _STOCK[raw_html] = markup.converter(gated=False, raw_html=raw_html)
    return _STOCK[raw_html]


def _gated(text: str) -> str:
    """The gated converter's HTML (what pages used before the fast path)."""
    md = markup._converters()[0]
    return md.reset().convert(text)


def _bundled_texts() -> list[tuple[str, str]]:
    """Every Markdown text the repository ships (its example site, test fixtures, the
    starter's stories) and the real sites' sources where this machine has them."""
    texts = []
    sources = sorted([*ROOT.glob("content/**/*.md"), *ROOT.glob("tests/fixtures/**/*.md"),
                      *REAL.glob("**/*.md")])
    for source in sources:
        try:
            texts.append((str(source), parse_front_matter(source.read_text("utf-8")).body))
        except (ValueError, UnicodeDecodeError):
            continue  # the bad-input fixtures
    starter = tomllib.loads((ROOT / "generator/starter/texts.toml").read_text("utf-8"))
    for language, words in starter.items():
        for key, text in words.items():
            texts.append((f"starter {language}.{key}", text.replace("{title}", "Relief News")))
    return texts


def test_every_bundled_text_it_accepts_converts_as_python_markdown_does():
    texts = _bundled_texts()
    assert len(texts) > 100
    accepted = 0
    for name, text in texts:
        fast = _fast(text)
        if fast is None:
            continue
        accepted += 1
        assert fast == _stock(text), name
        assert fast == _gated(text), name
        assert fast == markup.to_html(text) == markup.to_html(text, raw_html=False), name
    assert accepted > 20, "the fast path still takes plain stories"


@pytest.mark.skipif(not CORPUS_SCRIPT.is_file(), reason="../shared/corpus is not beside the repo")
def test_it_takes_every_generated_story_and_converts_it_as_python_markdown_does(tmp_path):
    subprocess.run([sys.executable, str(CORPUS_SCRIPT), str(tmp_path), "--articles", "200"],
                   check=True, capture_output=True)
    sources = sorted(tmp_path.glob("content/*/news/*.md"))
    assert len(sources) == 5 * 200
    for source in sources:
        text = parse_front_matter(source.read_text("utf-8")).body
        fast = _fast(text)
        assert fast is not None, source  # the benchmark's stories take the fast path
        assert fast == _stock(text), source
    page = lxml_html.fromstring(f"<div>{fast}</div>")  # what the last story holds
    assert page.xpath("count(//h2[@id])") == 1 and page.xpath("count(//li)") >= 2
    assert page.xpath("//blockquote/p") and page.xpath("//p/strong") and page.xpath("//p/a/@href")


# Pieces of texts for the randomised comparison: the subset's, and what only looks like it.
WORDS = ["news", "Teams", "l'eau", "réponse", "día", "été", "x", "قدمت", "الفرق", "المياه",
         "洪水", "救援队", "ሰላም", "ውሃ", "Привет", "Ελλάδα", "2024", "10", "3.5", "«ok»",
         "(note)", "\"quoted\"", "—", "…", "50%", "$5", "a+b", "a=b", "#tag", "C#", "!", "?",
         "1.", "2)", ":", ";", "ok:", "x\u00a0:", "\u202f!", "e\u0301", "\u200f", "😀"]
GOOD_INLINE = ["**{w}**", "*{w}*", "**{w} {w}**", "*{w} {w}*", "[{w}](/{a}/)",
               "[{w} {w}](/fr/news/{a}/)", "`{w}`", "`{w} {w}`", "[{w}](#{a})",
               "[{w}](/{a}?p=2)", "{w}**{w}**{w}", "{w}*{w}*{w}", "[{w}](https://{h}/{a})",
               "[{w} {w}](https://www.{h}/)", "[{w}](http://{h}:8080/{a}?q=1#top)"]
NEAR_INLINE = ["*", "**", "***", "* {w}*", "*{w} *", "** {w}**", "***{w}***", "**{w}*",
               "*{w}**", "{w}**", "[{w}]", "[{w}] (/{a}/)", "[{w}](/{a} x)", "[{w}](<{a}>)",
               "[{w}](/{a} \"t\")", "]({w})", "[", "]", "`", "``{w}``", "`{w}", "![{w}](/{a}/)",
               "[^1]", "[TOC]", "[ ]", "[x]", "&amp;", "&", "<b>{w}</b>", "<{w}>", "> {w}",
               "\\*", "_{w}_", "~~{w}~~", "~", "http://x.org", "www.x.org", "a@b.org",
               "{: .x}", "|", "**[{w}](/{a}/)**", "[**{w}**](/{a}/)", "*`{w}`*", "[{w}]({w}/)",
               "[{w}](/a(b))", "[{w}](/{a}/)[{w}](/{a}/)", "**{w}****{w}**", "*{w}**{w}**{w}*",
               "[{w}]", "\x02", "\x03", "  ", "\u00a0", "[{w}][{w}]", "**`{w}`**",
               "https://{h}", "({w}://{h})", "[https://{h}](https://{h}/)", "WwW.{h}",
               "[www.{h}](/{a}/)", "[{w}](https://{h} x)", "[{w}](https://{h}/a&b)",
               "`https://{h}`", "**www.{h}**", "[{w}](ftp://{h}/)"]
LINE_STARTS = ["", "", "", "", "# ", "## ", "### ", "###### ", "####### ", "#", "- ", "- ",
               "-", "* ", "+ ", "> ", ">", ">> ", "> > ", "1. ", "2) ", "2019. ", "10 ",
               " ", "  ", "    ", "\t", "=", "---", "===", ": ", "| ", "```", "~~~",
               "<div>", "\u00a0", "\u3000", "٣. ", "- - ", "- # ", "> - ", "-  ", "**", "*",
               "\u2028", "\x85", "\ufeff"]
LINE_ENDS = ["", "", "", "", "", " ", "  ", "\t", "\u00a0", " #", "#", " ##", "\r", "***",
             "\u2028", "\x85"]
BREAKS = ["\n\n", "\n\n", "\n\n", "\n", "\n\n\n", "\n \n", "\r\n\r\n", "\n\n\n\n"]


def _line(rng: random.Random, start: str, near: float) -> str:
    """A line: a start, words with inline marks (some out of shape), an end."""
    parts = [rng.choice(WORDS[:16])] if rng.random() < 0.8 else []  # mostly a letter first
    for _ in range(rng.randint(1, 8)):
        roll = rng.random()
        if roll < near:
            shape = rng.choice(NEAR_INLINE)
        elif roll < 0.35:
            shape = rng.choice(GOOD_INLINE)
        else:
            shape = "{w}"
        shape = shape.replace("{w}", rng.choice(WORDS), 1).replace("{w}", rng.choice(WORDS))
        parts.append(shape.replace("{a}", rng.choice(["a", "x-1", "é"]))
                     .replace("{h}", rng.choice(["example.org", "www.who.int", "x.y"])))
    end = rng.choice(LINE_ENDS) if rng.random() < near * 4 else ""
    return start + " ".join(parts) + end


def _block(rng: random.Random, near: float) -> str:
    """A block of the subset's kinds (a paragraph, a heading, a list, a quote), or with
    a start or a mark out of shape."""
    kind = rng.choice(["p", "p", "p", "h", "ul", "quote"])
    lines = rng.randint(1, 4)
    if kind == "h":
        starts = [rng.choice(["# ", "## ", "### ", "#### ", "###### "])]
    elif kind == "ul":
        starts = ["- "] * lines
    elif kind == "quote":
        starts = ["> "] * lines
    else:
        starts = [""] * lines
    starts = [rng.choice(LINE_STARTS) if rng.random() < near * 2 else start
              for start in starts]
    return "\n".join(_line(rng, start, near) for start in starts)


def _document(rng: random.Random) -> str:
    near = rng.choice([0.0, 0.0, 0.02, 0.05, 0.15])  # how often a piece is out of shape
    blocks = [_block(rng, near)]
    for _ in range(rng.randint(0, 6)):
        block = _block(rng, near)
        if block[:2] == blocks[-1][:2] in ("- ", "> ") and rng.random() < 0.8:
            blocks.append(_line(rng, "", near))  # (a second list or quote joins the first)
        blocks.append(block)
    text = blocks[0]
    for block in blocks[1:]:
        text += (rng.choice(BREAKS) if rng.random() < near * 3 else "\n\n") + block
    return text + rng.choice(["", "\n", "\n\n", " "])


def test_random_texts_it_accepts_convert_as_python_markdown_does():
    """Thousands of texts made of the subset's pieces and near misses (seeded: the same
    texts every run): each the fast path takes converts exactly as Python-Markdown
    converts it, with raw HTML kept or escaped."""
    rng = random.Random(20)
    accepted = refused = 0
    for number in range(5000):
        text = _document(rng)
        fast = _fast(text)
        if fast is None:
            refused += 1
            continue
        accepted += 1
        assert fast == _stock(text), text
        if number % 4 == 0:
            assert fast == _stock(text, raw_html=False), text
    assert accepted > 1000 and refused > 1000, (accepted, refused)  # both sides are tried


EXACT = {
    "": "",
    "\n\n": "",
    "Plain words.": "<p>Plain words.</p>",
    "One\ntwo\n\n\n\nthree": "<p>One\ntwo</p>\n<p>three</p>",
    "## Same\n\n## Same\n\n# Same": '<h2 id="same">Same</h2>\n<h2 id="same_1">Same</h2>\n'
                                    '<h1 id="same_2">Same</h1>',
    "### A **bold** [link](/a/) `code`  ":
        '<h3 id="a-bold-link-code">A <strong>bold</strong> <a href="/a/">link</a> '
        '<code>code</code></h3>',
    "- one\n- *two*\n\n> quoted\n> twice": "<ul>\n<li>one</li>\n<li><em>two</em></li>\n</ul>\n"
                                          "<blockquote>\n<p>quoted\ntwice</p>\n</blockquote>",
    "intra**word**s and 2*3*4": "<p>intra<strong>word</strong>s and 2<em>3</em>4</p>",
    "## عنوان عربي": '<h2 id="عنوان-عربي">عنوان عربي</h2>',
    "A trailing space \nkept": "<p>A trailing space \nkept</p>",
}


@pytest.mark.parametrize("text", EXACT)
def test_small_texts_convert_to_the_expected_html(text):
    assert _fast(text) == EXACT[text] == _stock(text)


REFUSED = [
    "Para\n- a list right after a line",  # the list layout pass splits it
    "- a\n\n- b",  # a second list after a blank line joins the first (a loose list)
    "> a\n\n> b",  # so does a second quote
    "- a\n  continued",  # indented: a lazy or nested line
    "- a\nlazy",
    "## Heading\nand text below it",  # a heading shares its block
    "## Closing hashes ##",
    "####### seven",
    "#no space",
    "1. one",
    "2019. A year",
    "3) three",
    "Text\n===",
    "Text\n---",
    "* star item",
    "+ plus item",
    "    code",
    " indented",
    "\tTab",
    "Line\r\nends",
    "Hard  \nbreak",
    "a * b * c",
    "**not closed",
    "***both***",
    "**a*b**",
    "*a **b** c*",
    "[text] alone",
    "[text] (/spaced/)",
    "[text](/url with space/)",
    "[text](</angle/>)",
    '[text](/u/ "title")',
    "[**bold**](/u/)",
    "![image](/i.png)",
    "Note[^1]",
    "[TOC]",
    "- [ ] task",
    "- [x] done",
    "``double``",
    "`open",
    "a & b",
    "a < b",
    "a > b",
    "> > nested",
    ">no space",
    "> - list in a quote",
    "\\*escaped\\*",
    "snake_case",
    "~~struck~~",
    "https://example.org",
    "www.example.org",
    "mail@example.org",
    "Para {: .lead }",
    "a | b",
    "Text\x02with STX",
    "Text\x00",
    "\u00a0leading no-break space",
    "```\nfenced\n```",
    "<div>raw</div>",
]


@pytest.mark.parametrize("text", REFUSED)
def test_texts_outside_the_subset_are_refused(text):
    assert _fast(text) is None
    assert markup.to_html(text) == _stock(text)  # and the converter takes them


def test_it_stands_aside_for_other_extensions(monkeypatch):
    text = "Plain *prose* with a [link](/a/)."
    assert markup.to_html(text) == _fast(text)
    calls = []
    monkeypatch.setattr(prose, "to_html", lambda *args, **_options: calls.append(args))
    markup.to_html(text)
    assert len(calls) == 1, "markup asks the fast path first"
    monkeypatch.setattr(markup, "EXTENSIONS", (*markup.EXTENSIONS, "smarty"))
    markup.to_html(text)
    assert len(calls) == 1, "not with extensions it has not been compared with"


@pytest.mark.parametrize("text", ["a [b](/c/) d", "![i](/x.png)", "a [^1] b", "- [ ] task",
                                  "- [x] done", "[X] box", "[", "a[", "!", "x ![", "[]",
                                  "> quote\n> more", "a > b", ">no space", "x\n>y", "a >",
                                  "see www.x.org", "WWW.X.ORG", "Ww.x", "wW.", "a http://x",
                                  "ftp://", "a: b", "w.w.", "w. and W."])
def test_its_searches_from_each_mark_find_what_whole_text_searches_find(text):
    """The marks looked for from each ``[``, ``>`` or ``:`` (and ``w.``) are those a
    search of the whole text for each longer mark finds."""
    assert prose._bracket_outside(text) == any(m in text for m in prose.OUTSIDE_BRACKETS)
    assert prose._inner_quote_mark(text) == (
        text.count(">") != text.startswith("> ") + text.count("\n> "))
    assert prose._bare_link(text) == any(m in text for m in prose.BARE_LINK)


@pytest.mark.parametrize("control", ["\t", "\r", "\x7f", "\x01"])
def test_a_text_with_a_control_character_is_refused_unless_its_file_held_none(control):
    text = f"A paragraph{control}with a control character.\n\n## Heading"
    assert _fast(text) is None
    toc = markup._converters()[0].treeprocessors["toc"]
    assert prose.to_html(text, toc.html_heading_id, controls=False) is not None  # trusted


@pytest.mark.parametrize("control", ["\t", "\r", "\x7f"])
def test_a_source_holding_a_control_character_xml_allows_is_not_taken_as_prose(
        control, tmp_path):
    """The load phase tells prose its text holds no control character when the file's
    bytes hold none of those XML allows (the others are removed as it is read)."""
    from generator.config import load_config
    from generator.load import load_site

    body = f"Water{control}points restored.\n\nTeams came."
    source = tmp_path / "content" / "en" / "news" / "a.md"
    source.parent.mkdir(parents=True)
    source.write_bytes(f'---\ntitle: "A"\ndate: 2026-01-02\n---\n{body}\n'.encode())
    page = load_site(load_config(tmp_path)).pages[0]
    assert page.body_html == _stock(body.replace("\r", "\n")) != _fast(body.replace(control, " "))
