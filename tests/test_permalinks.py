"""``[permalinks]`` (issue #16): a section's pages at addresses made from their date and
title, as Hugo sites have them; translations dated like their source, bundle photos
moving with their page, one collision check for every address."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import feedparser
import lxml.html
import pytest
from PIL import Image

from generator.cli import main
from generator.permalinks import urlize

MakeSite = Callable[..., Path]
CONFIG = """\
base_url = "https://example.org/"
[organisation]
name = "Test Relief"
[languages.en]
[languages.fr]
[permalinks]
news = "/:year/:month/:slug/"
"news/briefs" = "/briefs/:year/:day-:filename/"
stories = "/stories/:title/"
"""


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), (11, 110, 79)).save(buffer, "PNG")
    return buffer.getvalue()


def _page(title: str, date: str | None = None, extra: str = "") -> str:
    dated = f"date: {date}\n" if date else ""
    return f'---\ntitle: "{title}"\n{dated}{extra}---\nText of {title}.\n'


def _build(site: Path, *args: str) -> int:
    return main(["build", "--site", str(site), "--no-cards", "--quiet", *args])


def _html(site: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((site / "output" / path).read_bytes())


@pytest.fixture
def site(make_site: MakeSite) -> Path:
    return make_site({
        "content/en/news/well-repairs/index.md": _page(
            "Well repairs in Goma", "2024-05-07T09:00:00+02:00",
            'image: "pump.png"\nimage_alt: "A new pump"\n'),
        "content/en/news/well-repairs/pump.png": _png(),
        "content/fr/news/well-repairs/index.md": _page("Réparation des puits à Goma"),
        "content/en/news/own-slug.md": _page("Whatever", "2023-12-31T23:30:00-05:00",
                                             "slug: year-end-appeal\n"),
        "content/en/news/fixed.md": _page("Fixed", "2024-01-02T00:00:00Z",
                                          "url: /appeals/fixed/\n"),
        "content/en/news/_index.md": _page("Field news"),
        "content/en/news/briefs/cholera.md": _page("Cholera brief", "2024-02-09T08:00:00Z"),
        "content/en/stories/santé.md": _page("Santé à Goma: 3 — clinics!"),
        "content/en/about.md": _page("About us"),
    }, CONFIG)


def test_pages_take_their_sections_pattern(site: Path) -> None:
    assert _build(site) == 0
    out = site / "output"
    assert (out / "en/2024/05/well-repairs-in-goma/index.html").is_file()
    assert not (out / "en/news/well-repairs").exists()
    assert not (out / "fr/news/well-repairs").exists()
    # a translation without its own date is dated like its source; :slug is its own title
    assert (out / "fr/2024/05/réparation-des-puits-à-goma/index.html").is_file()
    # its own slug; the date's own day, not UTC's (23:30 at -05:00 is still December 31)
    assert (out / "en/2023/12/year-end-appeal/index.html").is_file()
    assert (out / "appeals/fixed/index.html").is_file(), "a page's own url wins (from the root)"
    assert (out / "en/briefs/2024/09-cholera/index.html").is_file(), "the longest section"
    assert (out / "en/stories/santé-à-goma-3-clinics/index.html").is_file(), ":title"
    assert (out / "en/news/index.html").is_file(), "a section keeps its own address"
    assert (out / "en/about/index.html").is_file(), "a page outside the sections stays"


def test_links_feeds_sitemap_and_photos_follow_the_new_address(site: Path) -> None:
    assert _build(site) == 0
    out = site / "output"
    section = _html(site, "en/news/index.html")
    assert "/en/2024/05/well-repairs-in-goma/" in section.xpath("//main//a/@href")
    article = _html(site, "en/2024/05/well-repairs-in-goma/index.html")
    assert article.xpath('//link[@rel="canonical"]/@href') == [
        "https://example.org/en/2024/05/well-repairs-in-goma/"]
    french = article.xpath('//link[@rel="alternate"][@hreflang="fr"]/@href')
    assert french == ["https://example.org/fr/2024/05/r%C3%A9paration-des-puits-%C3%A0-goma/"]
    for page in ("en/2024/05/well-repairs-in-goma/index.html",
                 "fr/2024/05/réparation-des-puits-à-goma/index.html"):
        image = _html(site, page).xpath('//meta[@property="og:image"]/@content')[0]
        assert image.startswith("https://example.org/en/2024/05/well-repairs-in-goma/"), image
        assert (out / image.removeprefix("https://example.org/")).is_file()
    feed = feedparser.parse(io.BytesIO((out / "en/atom.xml").read_bytes()))
    links = {entry.link for entry in feed.entries}
    assert "https://example.org/en/2024/05/well-repairs-in-goma/" in links
    assert "https://example.org/en/news/well-repairs/" not in links
    items = json.loads((out / "en/feed.json").read_text(encoding="utf-8"))["items"]
    assert "https://example.org/en/2023/12/year-end-appeal/" in {i["url"] for i in items}
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "https://example.org/fr/2024/05/r%C3%A9paration-des-puits-%C3%A0-goma/" in sitemap
    assert main(["check", "--site", str(site)]) == 0


def test_the_default_language_at_the_root_has_no_prefix(make_site: MakeSite) -> None:
    site = make_site({"content/en/news/a.md": _page("A", "2024-05-07T09:00:00Z"),
                      "content/fr/news/a.md": _page("A fr")},
                     CONFIG.replace("[organisation]", "default_language_at_root = true\n"
                                                      "[organisation]"))
    assert _build(site) == 0
    assert (site / "output/2024/05/a/index.html").is_file()
    assert (site / "output/fr/2024/05/a-fr/index.html").is_file()


def test_an_undated_page_in_a_dated_pattern_stays_and_is_reported(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": _page("A", "2024-05-07T09:00:00Z"),
                      "content/en/news/faq.md": _page("FAQ")}, CONFIG)
    assert main(["build", "--site", str(site), "--no-cards"]) == 0
    assert (site / "output/en/news/faq/index.html").is_file()
    err = capsys.readouterr().err
    assert "content/en/news/faq.md:1" in err and "permalinks.news dates the address" in err
    assert main(["build", "--site", str(site), "--no-cards", "--strict"]) == 1


def test_two_pages_given_one_address_stop_the_build(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": _page("A", "2024-05-07T09:00:00Z"),
                      "content/en/stories/a.md": _page("Old"),
                      "content/en/stories/b.md": _page("B")},
                     CONFIG.replace('"/stories/:title/"', '"/stories/:slug/"'))
    assert _build(site) == 0
    before = sorted(p.relative_to(site / "output") for p in (site / "output").rglob("*"))
    (site / "content/en/stories/b.md").write_text(_page("B", extra="slug: old\n"),
                                                  encoding="utf-8")
    assert _build(site) == 1
    err = capsys.readouterr().err
    assert "URL /en/stories/old/ is already used by" in err
    assert "content/en/stories/a.md" in err and "content/en/stories/b.md" in err
    after = sorted(p.relative_to(site / "output") for p in (site / "output").rglob("*"))
    assert after == before, "the last good output stays"


@pytest.mark.parametrize(("line", "message"), [
    ('news = "/:year/:slugg/"', "permalinks.news has no token :slugg"),
    ('news = "/:Year/"', "permalinks.news has a ':' that starts no token"),
    ('news = "/../:slug/"', "permalinks.news may hold only path names"),
    ('news = "/a b/:slug/"', "permalinks.news may hold only path names"),
    ('news = "/"', "permalinks.news must be a path pattern"),
    ('news = 3', "permalinks.news must be a path pattern"),
    ('"/" = "/:slug/"', "names no section"),
])
def test_a_bad_pattern_is_an_error_naming_its_line(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str], line: str,
        message: str) -> None:
    config = CONFIG.split("[permalinks]")[0] + f"[permalinks]\n{line}\n"
    site = make_site({"content/en/news/a.md": _page("A", "2024-05-07T09:00:00Z")}, config)
    assert _build(site) == 1
    err = capsys.readouterr().err
    assert f"site.toml:{config.splitlines().index(line) + 1}:" in err, err
    assert message in err
    assert "Traceback" not in err


def test_hugos_page_table_is_read_too(make_site: MakeSite) -> None:
    config = CONFIG.split("[permalinks]")[0] + '[permalinks.page]\nnews = "/n/:slug/"\n'
    site = make_site({"content/en/news/a.md": _page("A", "2024-05-07T09:00:00Z")}, config)
    assert _build(site) == 0
    assert (site / "output/en/n/a/index.html").is_file()


@pytest.mark.parametrize(("title", "segment"), [
    ("Hello, World!", "hello-world"),
    ("Santé à Goma", "santé-à-goma"),
    ("  Floods -- in   Sindh  ", "floods-in-sindh"),
    ("v2.0 + notes_1 ~ @team", "v2.0-+-notes_1-~-@team"),
    ("لاجئون في غزة", "لاجئون-في-غزة"),
    ("洪水 救援", "洪水-救援"),
    ("?#%/\\", ""),
])
def test_titles_become_segments_as_hugos_urlize_makes_them(title: str, segment: str) -> None:
    assert urlize(title) == segment
