"""The simple front-matter reader gives exactly the YAML loader's values, or steps aside."""

from pathlib import Path

import pytest
import yaml

from generator import frontmatter
from generator.frontmatter import FrontMatterLoader, simple_yaml

ROOT = Path(__file__).resolve().parent.parent
REAL = Path("/work/shared/corpus/real")

SIMPLE = [
    'title: "Water points restored"\ndate: 2026-03-14T09:30:00+03:00\ntags: [water, health]',
    "title: Plain title, with a comma, a:colon and [brackets]\nsummary: 'quoted \\ \"x\"'",
    "title: 2026\nslug: 007\ntranslationKey: yes\nweight: 3\ndraft: false\nurgent: On",
    "weight: 0\nother: 12\nslug: 1:30\nsummary: .inf",
    "tags: [yes, 1, null, ~, 'a b', \"c\", d e]\nkeywords: []\naliases: [ ]",
    "categories: 2026\nimage: null\ndescription:\nsummary:   \nlink_title: ~",
    "extra: [yes, 1, no, 0]\nflag: NULL\nempty:",
    "# a comment\n\ntitle: x\n\n# another\nurl: /a/b/",
    "title: a  b   \nsummary: x#y and x:y and <<\nauthor: = sign",
    "title: 中文标题\nsummary: نص عربي 😀\ntags: [水, 健康]",
    "Title: Upper\ntitle: lower\nTranslationKey: k",
    "title: ...\nsummary: a - b\n",
]
NOT_SIMPLE = [
    "title: x\ntitle: y",  # a key twice
    "tags:\n- a\n- b",  # block list
    "params:\n  a: 1",  # nested mapping
    "title: x # comment",
    "title: 'it''s'",
    'title: "a \\"b\\""',
    "title: a\r",
    "title: a\tb",
    "title: &a x\nsummary: *a",
    "yes: x",  # a key YAML reads as true
    "tags: [a, , b]",
    "tags: [a, b, ]",
    "tags: [a, [b]]",
    "tags: [a: b]",
    "menu: { main: { weight: 40 } }",
    "title: |\n  block",
    "title: !!str 1",
    "title:x",
    "title : x",
    " title: x",
    "",
    "# only a comment",
    "title: a\u2028b",
    "title: a\x85b",
    "title: line:",
    "title: a: b",
    "x: -",
    "weight: -1",  # numbers other than plain whole ones: the loader's
    "weight: 010",
    "weight: 1_000",
    "weight: 1.5",
    "weight: 1:30",
    "weight: .inf",
]


def _loaded(block: str) -> object:
    return yaml.load(block, Loader=FrontMatterLoader) or {}


@pytest.mark.parametrize("block", SIMPLE)
def test_simple_front_matter_reads_as_the_loader_reads_it(block):
    fast = simple_yaml(block)
    assert fast is not None
    assert repr(fast) == repr(_loaded(block))  # types (True, 1, "1") and key order too


@pytest.mark.parametrize("block", NOT_SIMPLE)
def test_anything_else_is_left_to_the_loader(block):
    assert simple_yaml(block) is None


def _sources() -> list[Path]:
    found = [*ROOT.glob("content/**/*.md"), *ROOT.glob("tests/fixtures/**/*.md"),
             *REAL.glob("**/*.md")]
    return sorted(found)


def test_every_bundled_and_real_source_reads_the_same_either_way(monkeypatch):
    sources = _sources()
    assert len(sources) > 150
    fast = [_front(source) for source in sources]
    monkeypatch.setattr(frontmatter, "simple_yaml", lambda block, lines=None: None)
    slow = [_front(source) for source in sources]
    for source, one, other in zip(sources, fast, slow, strict=True):
        assert one == other, source
    assert sum(1 for one in fast if one.startswith("FrontMatter(")) > 100


def _front(source: Path) -> str:
    """The parsed front matter (or the error, with its line) as text: types and order
    count."""
    try:
        return repr(frontmatter.parse_front_matter(source.read_text("utf-8")))
    except UnicodeDecodeError:
        return "not UTF-8"
    except frontmatter.FrontMatterError as exc:
        return f"{type(exc).__name__} {exc.line}: {exc.message}"


def _read(text: str) -> tuple[object, ...]:
    try:
        found = frontmatter.parse_front_matter(text)
    except frontmatter.FrontMatterError as exc:
        return ("error", type(exc).__name__, exc.line, exc.message)
    return ("read", found.values, found.lines, found.body, found.body_line)


def _a_line_down(read: tuple[object, ...]) -> tuple[object, ...]:
    """What ``_read`` gives for the same text after one blank line."""
    if read[0] == "error":
        return (*read[:2], read[2] + 1, read[3])
    _kind, values, lines, body, body_line = read
    return ("read", values, {key: line + 1 for key, line in lines.items()}, body, body_line + 1)


CLOSERS = ["---", "...", "--- ", "---\r", "...x", "----", " ---", "---\t\t", "…"]
LINES = ["title: x", "tags: [a, b]", "list:\n  - c", "tags: &a [x]", "k: *a", "body text",
         "", "Summary: 'y'", "- 1", "weight: 3", "title: [", "deep: " + "[" * 30 + "]" * 30]


@pytest.mark.parametrize("seed", range(4))
def test_a_file_opening_with_three_dashes_reads_as_one_after_a_blank_line(seed):
    """``parse_front_matter`` reads a text starting with a --- line without splitting
    all of it into lines; the general way (taken after a blank line) must agree."""
    import random

    chance = random.Random(seed)
    for _ in range(2000):
        lines = [chance.choice(CLOSERS + LINES * 2) for _ in range(chance.randrange(0, 12))]
        text = "---\n" + "\n".join(lines) + chance.choice(["", "\n", "\n\nBody.\n"])
        assert _read("\n" + text) == _a_line_down(_read(text)), text


def test_a_line_read_before_gives_each_page_its_own_list():
    """Lines whose value is not text are remembered (tags repeat across pages), but
    each page gets a list of its own: changing one never changes another's."""
    block = 'title: "A"\ntags: [water, health]\ndraft: false'
    first = simple_yaml(block)
    first["tags"].append("changed")
    second = simple_yaml(block)
    assert second == {"title": "A", "tags": ["water", "health"], "draft": False}
    assert second == yaml.load(block, Loader=FrontMatterLoader)


@pytest.mark.parametrize("value", ["", "~", "null", "Null", "NULL", "nULL", "none", "x"])
def test_a_text_field_is_unset_only_where_yaml_reads_null(value):
    block = f"title: {value}\ntags: [{value or 'a'}]"
    assert simple_yaml(block) == yaml.load(block, Loader=FrontMatterLoader)
