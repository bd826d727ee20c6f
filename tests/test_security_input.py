"""Hostile input costs bounded work and never gives ill-formed output (issue #15).

Each case writes a small site, builds it with the real command line in a process with
a memory limit and a time limit, and asserts what a reader or an editor would see:
``path:line`` messages and exit 1 with the previous output byte for byte; or a warning,
exit 0 and feeds that a strict XML parser and feedparser read.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest
from PIL import Image

from generator import typeset
from generator.outputs import cards
from tests.conftest import REPO

MEMORY = 2 * 1024 ** 3  # bytes of address space for a build: a bomb fails fast under it
SECONDS = 120

CONFIG = """\
base_url = "https://example.org/"
[organisation]
name = "Test Relief"
[languages.en]
"""

GOOD = """---
title: Good
date: 2026-01-02T10:00:00+00:00
tags: [water]
---

Fine.
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def newshub(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it, in a process that cannot take more
    than ``MEMORY`` or ``SECONDS``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "generator", *args, "--site", str(site)],
                          capture_output=True, text=True, timeout=SECONDS, env=env,
                          preexec_fn=_limit_memory, check=False)


def write(site: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def make_site(tmp_path: Path, files: dict[str, str | bytes] | None = None,
              config: str = CONFIG) -> Path:
    site = tmp_path / "site"
    write(site, {"site.toml": config, "content/en/news/good.md": GOOD, **(files or {})})
    return site


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def built(tmp_path: Path, files: dict[str, str | bytes] | None = None,
          config: str = CONFIG) -> tuple[Path, dict[str, bytes]]:
    """A site built once without problems, and its output."""
    site = make_site(tmp_path, files, config)
    result = newshub(site, "build", "--quiet")
    assert result.returncode == 0, result.stderr
    return site, snapshot(site / "output")


def refused(site: Path, before: dict[str, bytes], *expected: str) -> str:
    """Build again: exit 1, each expected text in the messages, no traceback, and the
    previous output left exactly as it was."""
    result = newshub(site, "build", "--quiet")
    assert result.returncode == 1, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(site / "output") == before
    return result.stderr


# Front matter: anchors, aliases, nesting, size, types ---------------------------------

ALIAS_BOMB = """---
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
title: *i
date: 2026-01-01
---

Boom.
"""


def test_an_alias_bomb_fails_fast_with_little_memory(tmp_path: Path) -> None:
    site, before = built(tmp_path)
    write(site, {"content/en/news/bomb.md": ALIAS_BOMB})
    start = time.monotonic()
    refused(site, before, "content/en/news/bomb.md:2: YAML anchors and aliases are not "
                          "allowed in front matter")
    assert time.monotonic() - start < 30


def test_an_anchor_or_alias_alone_is_refused_at_its_line(tmp_path: Path) -> None:
    site, before = built(tmp_path)
    write(site, {"content/en/news/anchor.md": "---\ntitle: &t Anchored\ndate: 2026-01-01\n"
                                              "summary: *t\n---\n\nx\n"})
    refused(site, before, "content/en/news/anchor.md:2: YAML anchors and aliases")


@pytest.mark.parametrize("depth", [25, 999])
def test_deep_nesting_is_an_error_at_its_key(tmp_path: Path, depth: int) -> None:
    site, before = built(tmp_path)
    nested = "[" * depth + "]" * depth
    write(site, {"content/en/news/deep.md": f"---\ntitle: Deep\ndate: 2026-01-01\n"
                                            f"extra: {nested}\n---\n\nx\n"})
    refused(site, before, "content/en/news/deep.md:4: front matter nests lists and "
                          "mappings more than 20 levels deep")
    assert not [p for p in (site / "output").rglob("*") if "newshub-tmp" in p.name]


@pytest.mark.parametrize(("text", "line"), [
    ("+++\ntitle = 'Deep'\ndate = 2026-01-01\nextra = " + "[" * 5000 + "]" * 5000 + "\n+++\n",
     2),
    ('{"title": "Deep", "date": "2026-01-01", "extra": ' + "[" * 20000 + "]" * 20000 + "}\n",
     1),
    ('{"title": "Deep", "date": "2026-01-01", "extra": ' + "[" * 25 + "]" * 25 + "}\n", 1),
])
def test_deep_nesting_in_toml_or_json_front_matter_is_an_error(tmp_path: Path, text: str,
                                                               line: int) -> None:
    site, before = built(tmp_path)
    write(site, {"content/en/news/deep.md": text + "\nx\n"})
    refused(site, before, f"content/en/news/deep.md:{line}: front matter nests lists and "
                          "mappings more than 20 levels deep")


def test_shallow_nesting_in_an_extra_key_still_builds(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/en/news/ok.md": "---\ntitle: Ok\ndate: 2026-01-01\n"
                                                         "extra: {a: [[1, 2], {b: c}]}\n"
                                                         "---\n\nx\n"})
    assert newshub(site, "build", "--quiet").returncode == 0


def test_oversized_front_matter_is_an_error(tmp_path: Path) -> None:
    site, before = built(tmp_path)
    long = "x" * (70 * 1024)
    write(site, {"content/en/news/big.md": f"---\ntitle: Big\ndate: 2026-01-01\n"
                                           f"summary: {long}\n---\n\nx\n"})
    refused(site, before, "content/en/news/big.md:1: front matter is 70 KB, over the 64 KB "
                          "limit")


@pytest.mark.parametrize(("key", "value"), [
    ("title", "[a, b]"), ("title", "{a: b}"), ("summary", "[a, b]"),
    ("image_alt", "[a]"), ("slug", "[a]"), ("translation_key", "{k: v}"),
])
def test_text_fields_must_be_text(tmp_path: Path, key: str, value: str) -> None:
    site, before = built(tmp_path)
    title = "" if key == "title" else "title: Typed\n"
    image = "image: /photo.png\n" if key == "image_alt" else ""
    write(site, {"content/en/news/typed.md": f"---\n{title}{image}{key}: {value}\n"
                                             "date: 2026-01-01\n---\n\nx\n",
                 "static/photo.png": _png(40, 30)})
    line = 2 + bool(title) + bool(image)
    refused(site, before, f"content/en/news/typed.md:{line}: '{key}' must be text, not a")


def test_scalars_in_text_fields_are_kept_as_written(tmp_path: Path) -> None:
    site = make_site(tmp_path, {
        "content/en/news/year.md": "---\ntitle: 2026\nsummary: 1:30\ndate: 2026-01-01\n"
                                   "tags: [no, 3.10]\n---\n\nx\n",
        "content/en/news/no.md": "---\ntitle: No\ndate: 2026-01-02\n---\n\nx\n",
    })
    result = newshub(site, "build", "--quiet")
    assert result.returncode == 0, result.stderr
    output = site / "output"
    year = lxml.html.fromstring((output / "en/news/year/index.html").read_bytes())
    assert year.findtext(".//h1").strip() == "2026"
    assert year.xpath("string(//meta[@name='description']/@content)") == "1:30"
    no = lxml.html.fromstring((output / "en/news/no/index.html").read_bytes())
    assert no.findtext(".//h1").strip() == "No"
    assert (output / "en/tags/no/index.html").is_file()
    assert (output / "en/tags/3.10/index.html").is_file()


def test_html_in_a_title_is_still_refused(tmp_path: Path) -> None:
    site, before = built(tmp_path)
    write(site, {"content/en/news/html.md": "---\ntitle: <b>Bold</b>\ndate: 2026-01-01\n"
                                            "---\n\nx\n"})
    refused(site, before, "content/en/news/html.md:2: title contains HTML markup")


# Characters XML forbids ----------------------------------------------------------------

CONTROLLED = (
    '---\ntitle: "Form\\ffeed and \\0 nul"\ndate: 2026-01-03T10:00:00+00:00\n'
    'summary: "Bell\\a"\ntags: [water]\n---\n\n'
    "A form \x0c feed, a vertical \x0b tab,\n"
    "an escape \x1b[31m and a nul \x00 byte.\n"
)


def test_control_characters_are_removed_with_warnings_and_feeds_stay_well_formed(
        tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/en/news/ctl.md": CONTROLLED.encode("utf-8")})
    result = newshub(site, "build")
    assert result.returncode == 0, result.stderr
    for line, code in ((8, "000C"), (8, "000B"), (9, "001B"), (9, "0000"), (2, "000C"),
                       (2, "0000"), (4, "0007")):
        assert f"content/en/news/ctl.md:{line}: warning: removed a control character " \
               f"U+{code}" in result.stderr, result.stderr
    output = site / "output"
    for feed in ("en/atom.xml", "en/rss.xml", "en/tags/water/atom.xml", "sitemap.xml"):
        lxml.etree.fromstring((output / feed).read_bytes())  # raises on ill-formed XML
    for feed in ("en/atom.xml", "en/rss.xml"):
        parsed = feedparser.parse((output / feed).read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        titles = [entry.title for entry in parsed.entries]
        assert "Formfeed and  nul" in titles
    items = json.loads((output / "en/feed.json").read_text(encoding="utf-8"))["items"]
    assert any(item["title"] == "Formfeed and  nul" for item in items)
    check = newshub(site, "check")
    assert "not well-formed" not in check.stdout


def test_check_reports_xml_and_json_that_do_not_parse(tmp_path: Path) -> None:
    site, _ = built(tmp_path)
    output = site / "output"
    atom = (output / "en/atom.xml").read_bytes()
    (output / "en/atom.xml").write_bytes(atom.replace(b"<title>", b"<title>\x0c", 1))
    (output / "en/feed.json").write_text('{"items": [\n', encoding="utf-8")
    (output / "sitemap.xml").write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a '
                                         b'"aaaa">]>\n<urlset>&a;</urlset>\n')
    result = newshub(site, "check")
    assert result.returncode == 1
    report = result.stdout
    assert "output/en/atom.xml:" in report and "not well-formed XML" in report
    assert "output/en/feed.json:2: error: not valid JSON" in report
    assert "output/sitemap.xml:2: error: XML declares an entity" in report


# Tags ----------------------------------------------------------------------------------

def test_thousands_of_tags_are_cut_to_the_limit_and_nothing_grows(tmp_path: Path) -> None:
    tags = ", ".join(str(n) for n in range(8_000))  # as many as 64 KB of front matter holds
    site = make_site(tmp_path, {
        "content/en/news/many.md": f"---\ntitle: Many\ndate: 2026-01-03\ntags: [{tags}]\n"
                                   "---\n\nx\n",
    })
    start = time.monotonic()
    result = newshub(site, "build", "--no-cards")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 60
    assert "content/en/news/many.md:4: warning: 8000 tags: only the first 50 are kept " \
           "([limits] tags in site.toml)" in result.stderr
    output = site / "output"
    tag_pages = [p for p in (output / "en/tags").iterdir() if p.is_dir()]
    assert len(tag_pages) == 51  # the first 50 and the other article's "water"
    assert not (output / "en/tags/50").exists()
    assert sum(p.stat().st_size for p in output.rglob("*") if p.is_file()) < 20 * 1024 ** 2
    feed = feedparser.parse((output / "en/tags/0/atom.xml").read_bytes())
    assert len(feed.entries[0].tags) == 50


def test_the_tag_limit_is_configurable(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/en/news/few.md": "---\ntitle: Few\ndate: 2026-01-03\n"
                                                          "tags: [a, b, c, d]\n---\n\nx\n"},
                     CONFIG + "[limits]\ntags = 3\n")
    result = newshub(site, "build", "--no-cards")
    assert result.returncode == 0, result.stderr
    assert "4 tags: only the first 3 are kept" in result.stderr
    assert (site / "output/en/tags/c").is_dir()
    assert not (site / "output/en/tags/d").exists()


# Share-card titles ---------------------------------------------------------------------

def _setter() -> typeset.Typesetter:
    fonts = tuple(sorted((REPO / "themes/default/fonts").glob("*.[ot]tf")))
    return typeset.Typesetter(fonts, "en", "ltr", typeset.layout_engine())


@pytest.mark.parametrize("title", [
    "word " * 200_000,  # a megabyte of words
    "x" * 1_000_000,  # a megabyte without a break
    "y" * 3_000,  # one long word: cut letter by letter this took minutes
])
def test_a_huge_title_is_set_for_a_card_in_bounded_time(title: str) -> None:
    setter = _setter()
    width = cards.WIDTH - 2 * cards.PAD
    height = cards.TITLE_BOTTOM - cards.TITLE_TOP
    start = time.perf_counter()
    block = setter.fit(title, width, height, cards.TITLE_SIZES, 4)
    assert time.perf_counter() - start < 5
    assert len(block.lines) == 4
    assert block.lines[-1].runs[-1].text.endswith(typeset.ELLIPSIS)
    assert all(line.width <= width + 1 for line in block.lines)


def test_a_short_title_is_set_whole() -> None:
    block = _setter().fit("Water points restored", 1056, 324, cards.TITLE_SIZES, 4)
    assert "".join(run.text for line in block.lines for run in line.runs) == \
        "Water points restored"


def test_a_build_with_a_long_title_draws_its_card(tmp_path: Path) -> None:
    title = "x" * 60_000  # one 60 KB word (front matter allows it): cut letter by letter
    site = make_site(tmp_path, {"content/en/news/long.md": f"---\ntitle: {title}\n"
                                                           "date: 2026-01-03\n---\n\nx\n"})
    start = time.monotonic()
    result = newshub(site, "build", "--quiet")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 60
    cards_made = list((site / "output").rglob("*.jpg"))
    assert cards_made


# Images --------------------------------------------------------------------------------

def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 110, 80)).save(buffer, "PNG")
    return buffer.getvalue()


BUNDLE = """---
title: Photo
date: 2026-01-03
image: photo.jpg
image_alt: A photo
---

Text.

![A second photo](second.jpg)
"""


def _bundle(tmp_path: Path, config: str = CONFIG) -> tuple[Path, dict[str, bytes]]:
    return built(tmp_path, {"content/en/news/photo/index.md": BUNDLE,
                            "content/en/news/photo/photo.jpg": _jpeg(300, 200),
                            "content/en/news/photo/second.jpg": _jpeg(200, 100)}, config)


def test_a_jpg_holding_text_names_the_image_and_the_front_matter_line(tmp_path: Path) -> None:
    site, before = _bundle(tmp_path)
    write(site, {"content/en/news/photo/photo.jpg": "this is not a picture\n"})
    stderr = refused(site, before, "content/en/news/photo/index.md:4: image "
                                   "content/en/news/photo/photo.jpg: not an image")
    assert "rendering" not in stderr


def test_a_truncated_image_names_the_body_line_that_shows_it(tmp_path: Path) -> None:
    site, before = _bundle(tmp_path)
    data = _jpeg(200, 100)
    write(site, {"content/en/news/photo/second.jpg": data[: len(data) // 2]})
    refused(site, before, "content/en/news/photo/index.md:10: image "
                          "content/en/news/photo/second.jpg: truncated or damaged")


def test_an_image_over_the_pixel_limit_is_an_error(tmp_path: Path) -> None:
    config = CONFIG + "[limits]\nimage_pixels = 100_000\n"
    site, before = _bundle(tmp_path, config)
    write(site, {"content/en/news/photo/photo.jpg": _jpeg(400, 300)})
    refused(site, before, "content/en/news/photo/index.md:4: image "
                          "content/en/news/photo/photo.jpg: 400×300 = 120,000 pixels, over "
                          "the limit of 100,000 ([limits] image_pixels in site.toml)")


def test_a_decompression_bomb_is_refused_quickly(tmp_path: Path) -> None:
    site, before = _bundle(tmp_path)
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 MP in a few kilobytes
    write(site, {"content/en/news/photo/second.jpg": buffer.getvalue()})
    refused(site, before, "content/en/news/photo/index.md:10: image "
                          "content/en/news/photo/second.jpg: 400,000,000 pixels")


def test_a_damaged_static_image_names_its_file(tmp_path: Path) -> None:
    site, before = built(tmp_path)
    write(site, {"static/images/banner.png": _png(60, 40)[:-30]})
    stderr = refused(site, before, "static/images/banner.png: truncated or damaged image")
    assert "rendering" not in stderr


# site.toml -----------------------------------------------------------------------------

def _top(line: str) -> str:
    return f"{line}\n{CONFIG}"  # line 1


def _organisation(line: str) -> str:
    return CONFIG.replace("[organisation]\n", f"[organisation]\n{line}\n")  # line 3


def _after(lines: str) -> str:
    return f"{CONFIG}{lines}\n"  # CONFIG has 4 lines: the first added is line 5


@pytest.mark.parametrize(("text", "expected"), [
    (_top('brand_color = "red;background:url(https://evil.example/x)"'),
     "site.toml:1: brand_color must be a hex colour"),
    (_top('brand_color = "#12345"'), "site.toml:1: brand_color must be a hex colour"),
    (_organisation('donate_url = "javascript:alert(1)"'),
     "site.toml:3: organisation.donate_url must be an http(s), mailto: or relative URL "
     "('javascript:' links are not allowed)"),
    (_organisation('donate_url = "https://ok.example/a b"'),
     "site.toml:3: organisation.donate_url must be"),
    (_organisation("donate_url = '/donate/\" onclick=\"x'"),
     "site.toml:3: organisation.donate_url must be"),
    (_organisation('email = "press at example"'), "site.toml:3: organisation.email must be"),
    (_after('[organisation.social]\nX = "data:text/html,<script>alert(1)</script>"'),
     "site.toml:6: organisation.social.X must be"),
    (_after('menu = [{ name = "Give", url = "JavaScript:alert(1)" }]'),
     "site.toml:5: languages.en.menu.url must be"),
    (_top('title = "News\\u000c"'), "site.toml:1: title holds a control character (U+000C)"),
    (CONFIG.replace('org/"', 'org/\\"><script>x</script>"'),
     "site.toml:1: base_url must be an absolute http(s) URL"),
    (_top('feed_entries = "many"'), "site.toml:1: feed_entries must be a positive integer"),
    (_after("[limits]\ntags = 0"), "site.toml:6: limits.tags must be a positive whole number"),
    (_after("[limits]\nimage_pixel = 10"),
     "site.toml:6: unknown key 'limits.image_pixel'; did you mean 'limits.image_pixels'?"),
])
def test_site_toml_values_are_validated(tmp_path: Path, text: str, expected: str) -> None:
    site, before = built(tmp_path)
    (site / "site.toml").write_text(text, encoding="utf-8")
    refused(site, before, expected)


@pytest.mark.parametrize("link", ["https://example.org/give?x=1#y", "mailto:give@example.org",
                                  "/give/", "give/", "../give", "#give", "?give"])
def test_ordinary_links_are_accepted(tmp_path: Path, link: str) -> None:
    site = make_site(tmp_path, config=CONFIG.replace(
        '[organisation]\n', f'[organisation]\ndonate_url = "{link}"\n'
                            'email = "press@example.org"\n')
        + '[organisation.social]\nMastodon = "https://social.example/@relief"\n')
    result = newshub(site, "build", "--quiet", "--no-cards")
    assert result.returncode == 0, result.stderr
