"""The core build, read back with a real HTML parser."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.etree

from generator.cli import main
from tests.conftest import FIXTURES, Built, build_copy

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def alternates(built: Built, path: str) -> dict[str, str]:
    doc = built.html(path)
    return {link.get("hreflang"): link.get("href")
            for link in doc.xpath('//head/link[@rel="alternate"][@hreflang]')}


def output_path(built: Built, url: str) -> Path:
    """The file a URL of the site resolves to, as a static host would serve it."""
    path = unquote(urlsplit(url).path)
    target = built.output / path.lstrip("/")
    return target / "index.html" if path.endswith("/") else target


def test_build_succeeds_and_writes_pretty_urls(multilingual: Built) -> None:
    assert multilingual.code == 0
    files = multilingual.files()
    for expected in ("index.html", "404.html", "sitemap.xml", "robots.txt",
                     "en/index.html", "en/news/index.html", "en/news/wells/index.html",
                     "fr/news/wells/index.html", "ar/news/wells/index.html",
                     "en/about/index.html", "en/tags/water/index.html", "en/tags/index.html",
                     "en/404.html", "ar/404.html", "en/page/2/index.html"):
        assert expected in files, expected


def test_drafts_and_future_posts_are_left_out(multilingual: Built, tmp_path: Path) -> None:
    assert "en/news/secret/index.html" not in multilingual.files()
    assert "en/news/future/index.html" not in multilingual.files()
    with_drafts = build_copy(FIXTURES / "multilingual", tmp_path, "--drafts")
    assert "en/news/secret/index.html" in with_drafts.files()
    assert "en/news/future/index.html" in with_drafts.files()
    badge = with_drafts.html("en/news/secret/index.html").xpath('//*[@class="draft"]')
    assert badge, "drafts shown with --drafts are marked as drafts"


def test_lang_and_direction(multilingual: Built) -> None:
    for lang, direction in (("en", "ltr"), ("fr", "ltr"), ("ar", "rtl")):
        root = multilingual.html(f"{lang}/news/wells/index.html")
        assert root.get("lang") == lang
        assert root.get("dir") == direction


def test_hreflang_is_reciprocal_with_x_default(multilingual: Built) -> None:
    en = alternates(multilingual, "en/news/wells/index.html")
    assert set(en) == {"en", "fr", "ar", "x-default"}
    assert en["x-default"] == en["en"] == "https://hub.example.org/en/news/wells/"
    for lang in ("fr", "ar"):
        other = alternates(multilingual, f"{lang}/news/wells/index.html")
        assert other == en, f"{lang} alternates differ from en"
    only_en = alternates(multilingual, "en/news/appeal/index.html")
    assert set(only_en) == {"en", "x-default"}


def test_every_page_has_canonical(multilingual: Built) -> None:
    for name in multilingual.files():
        if name.endswith("index.html") and name != "index.html":
            canonical = multilingual.html(name).xpath('//link[@rel="canonical"]/@href')
            assert len(canonical) == 1, name
            assert output_path(multilingual, canonical[0]) == multilingual.output / name


def test_switcher_offers_only_existing_translations(multilingual: Built) -> None:
    doc = multilingual.html("en/news/wells/index.html")
    links = doc.xpath('//nav[contains(@class,"langs")]//a')
    assert [a.get("hreflang") for a in links] == ["en", "fr", "ar"]
    assert [a.text_content() for a in links] == ["English", "Français", "العربية"]
    for link in links:
        assert output_path(multilingual, link.get("href")).is_file()
    single = multilingual.html("en/news/appeal/index.html")
    assert not single.xpath('//nav[contains(@class,"langs")]')


def test_dates_are_localised(multilingual: Built) -> None:
    def date_text(lang: str) -> str:
        doc = multilingual.html(f"{lang}/news/wells/index.html")
        return doc.xpath('//p[@class="meta"]/time')[0].text_content()

    assert date_text("en") == "March 14, 2026"
    assert date_text("fr") == "14 mars 2026"
    assert "مارس" in date_text("ar")
    time = multilingual.html("en/news/wells/index.html").xpath('//p[@class="meta"]/time')[0]
    assert time.get("datetime") == "2026-03-14T09:30:00+03:00", "the time zone is kept"


def test_titles_and_front_matter_are_escaped(multilingual: Built) -> None:
    raw = (multilingual.output / "en/news/wells/index.html").read_text(encoding="utf-8")
    assert '<"fixed">' not in raw
    assert "<b>tags</b>" not in raw
    doc = multilingual.html("en/news/wells/index.html")
    assert doc.xpath("//h1")[0].text_content() == 'Wells & pumps: <"fixed"> in 3 days'
    assert doc.xpath('//meta[@name="description"]/@content') == [
        "Summary with <b>tags</b> & ampersands"]


def test_listings_are_newest_first_and_paginated(multilingual: Built) -> None:
    first = multilingual.html("en/index.html")
    titles = [a.text_content() for a in first.xpath('//ol[@class="cards"]//h2/a')]
    assert titles == ['Wells & pumps: <"fixed"> in 3 days', "Winter appeal"]
    second = multilingual.html("en/page/2/index.html")
    assert [a.text_content() for a in second.xpath('//ol[@class="cards"]//h2/a')] == [
        "An older story"]
    assert second.xpath('//a[@rel="prev"]/@href') == ["/en/"]


def test_tag_pages_use_translated_names(multilingual: Built) -> None:
    assert multilingual.html("fr/tags/eau/index.html").xpath("//h1")[0].text_content() \
        .endswith("Eau")
    article = multilingual.html("ar/news/wells/index.html")
    assert [a.text_content() for a in article.xpath('//p[@class="tags"]/a')] == ["المياه"]


def test_urgent_banner_links_the_newest_urgent_post(multilingual: Built) -> None:
    banner = multilingual.html("en/about/index.html").xpath('//aside[@class="urgent"]/a')
    assert [a.get("href") for a in banner] == ["/en/news/appeal/"]
    assert not multilingual.html("fr/about/index.html").xpath('//*[@class="urgent"]')


def test_root_chooser_links_every_language_without_javascript(multilingual: Built) -> None:
    doc = multilingual.html("index.html")
    links = doc.xpath("//main//a")
    assert [(a.get("hreflang"), a.get("href")) for a in links] == [
        ("en", "/en/"), ("fr", "/fr/"), ("ar", "/ar/")]
    assert "navigator.languages" in doc.xpath("//script")[0].text_content()
    assert set(alternates(multilingual, "index.html")) == {"en", "fr", "ar", "x-default"}


def test_sitemap_lists_pages_with_hreflang(multilingual: Built) -> None:
    tree = lxml.etree.parse(str(multilingual.output / "sitemap.xml"))
    urls = {u.findtext(f"{SITEMAP}loc"): u for u in tree.getroot()}
    wells = urls["https://hub.example.org/en/news/wells/"]
    langs = {link.get("hreflang") for link in wells.findall(f"{XHTML}link")}
    assert langs == {"en", "fr", "ar", "x-default"}
    assert "https://hub.example.org/ar/news/wells/" in urls
    for loc in urls:
        assert output_path(multilingual, loc).is_file(), loc
    robots = (multilingual.output / "robots.txt").read_text()
    assert "Sitemap: https://hub.example.org/sitemap.xml" in robots


def test_same_input_gives_identical_output(multilingual: Built, tmp_path: Path) -> None:
    again = build_copy(FIXTURES / "multilingual", tmp_path)
    assert again.files() == multilingual.files()
    for name in multilingual.files():
        assert (again.output / name).read_bytes() == (multilingual.output / name).read_bytes(), \
            name


def test_base_url_with_a_path_prefix(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "multilingual", tmp_path, "--base-url",
                       "https://org.github.io/hub/")
    doc = built.html("en/news/wells/index.html")
    assert doc.xpath('//link[@rel="canonical"]/@href') == [
        "https://org.github.io/hub/en/news/wells/"]
    stylesheet = doc.xpath('//link[@rel="stylesheet"]/@href')[0]
    assert stylesheet.startswith("/hub/assets/style.")
    assert (built.output / stylesheet.removeprefix("/hub/")).is_file()
    assert all(a.startswith("/hub/") for a in doc.xpath("//a/@href | //img/@src")
               if a.startswith("/")), "links written in Markdown get the prefix too"
    assert "/hub/en/news/appeal/" in doc.xpath('//div[@class="body"]//a/@href')


def test_unchanged_rebuild_rewrites_nothing(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "multilingual", tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in built.output.rglob("*") if p.is_file()}
    assert main(["build", "--site", str(built.site), "--output", str(built.output),
                 "--quiet"]) == 0
    assert stamps == {p: p.stat().st_mtime_ns for p in built.output.rglob("*") if p.is_file()}


def test_removed_source_removes_its_output(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "multilingual", tmp_path)
    (built.site / "content/en/news/older.md").unlink()
    assert main(["build", "--site", str(built.site), "--output", str(built.output),
                 "--quiet"]) == 0
    assert not (built.output / "en/news/older/index.html").exists()
    assert not (built.output / "en/page/2/index.html").exists()


def test_progress_is_reported_per_phase(tmp_path: Path) -> None:
    from generator.build import build
    from generator.config import load_config

    site = build_copy(FIXTURES / "multilingual", tmp_path).site
    calls: list[tuple[str, int, int]] = []
    build(load_config(site), tmp_path / "fresh", jobs=1, use_cache=False,
          progress=lambda phase, done, total: calls.append((phase, done, total)))
    phases = {phase for phase, _done, _total in calls}
    assert phases == {"parsing", "rendering"}
    for phase in phases:
        last = [call for call in calls if call[0] == phase][-1]
        assert last[1] == last[2] > 0
