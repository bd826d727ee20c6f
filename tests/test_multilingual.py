"""Multilingual depth: fallback listings, inherited front matter, translated tags and
menus, region and script language codes — read back with a real HTML parser."""

from __future__ import annotations

from pathlib import Path

import feedparser
import lxml.html
import pytest

from generator.cli import main
from tests.conftest import FIXTURES, Built, build_copy


@pytest.fixture(scope="module")
def depth(tmp_path_factory: pytest.TempPathFactory) -> Built:
    built = build_copy(FIXTURES / "depth", tmp_path_factory.mktemp("depth"))
    assert built.code == 0
    return built


def card_titles(built: Built, path: str) -> list[tuple[str, str | None, str]]:
    doc = built.html(path)
    return [(a.text_content(), a.get("hreflang"), a.get("href"))
            for a in doc.xpath('//ol[@class="cards"]//h2/a')]


def test_untranslated_stories_are_listed_in_fallback_languages(depth: Built) -> None:
    home = card_titles(depth, "fr/index.html")
    assert ("Solar panels for the warehouse", "en", "/en/news/solar/") in home
    assert ("Puits réparés", None, "/fr/news/wells/") in home
    assert ("Wells repaired", "en", "/en/news/wells/") not in home, "no duplicate of a story"
    section = card_titles(depth, "fr/news/index.html")
    assert ("Solar panels for the warehouse", "en", "/en/news/solar/") in section
    item = depth.html("fr/index.html").xpath('//ol[@class="cards"]/li[@lang="en"]')
    assert len(item) == 1
    assert item[0].xpath('.//span[@class="badge"]')[0].text_content() == "English"


def test_fallback_makes_no_duplicate_pages(depth: Built) -> None:
    files = depth.files()
    assert "fr/news/solar/index.html" not in files
    assert "ar/news/solar/index.html" not in files
    switcher = depth.html("en/news/solar/index.html").xpath('//nav[@class="langs"]//a')
    assert switcher == [], "a story in one language offers no other language"


def test_fallback_is_off_by_default(depth: Built) -> None:
    titles = [title for title, _lang, _href in card_titles(depth, "pt-BR/index.html")]
    assert titles == ["Poços consertados"]


def test_a_language_with_no_content_of_its_own_lists_its_fallback(depth: Built) -> None:
    titles = {title for title, lang, _ in card_titles(depth, "ar/index.html") if lang == "en"}
    assert titles == {"Wells repaired", "Solar panels for the warehouse"}
    assert depth.html("ar/index.html").get("dir") == "rtl"


def test_translations_inherit_what_they_do_not_set(depth: Built) -> None:
    for path in ("fr/news/wells/index.html", "pt-BR/news/wells/index.html"):
        doc = depth.html(path)
        assert doc.xpath('//p[@class="meta"]/time/@datetime') == ["2026-03-14T09:30:00+03:00"]
        tags = doc.xpath('//p[@class="tags"]/a/@href')
        assert len(tags) == 2, path
    zh = depth.html("zh-Hans/news/wells/index.html")
    assert zh.xpath('//p[@class="meta"]/time/@datetime') == ["2026-03-15T09:00:00+08:00"]
    assert len(zh.xpath('//p[@class="tags"]/a')) == 1, "what a translation sets is kept"


def test_inherited_urgency_puts_the_translation_in_the_banner(depth: Built) -> None:
    banner = depth.html("fr/about/index.html").xpath('//aside[@class="urgent"]/a/@href')
    assert banner == ["/fr/news/wells/"]
    assert not depth.html("zh-Hans/index.html").xpath('//*[@class="urgent"]'), \
        "urgent: false in the translation wins"


def test_inherited_image_is_shown(depth: Built) -> None:
    images = depth.html("fr/news/wells/index.html").xpath('//article//img')
    assert images, "the French version shows the English version's image"
    assert images[0].get("alt") == "A repaired well"


def test_feeds_carry_inherited_dates(depth: Built) -> None:
    parsed = feedparser.parse((depth.output / "fr/atom.xml").read_bytes())
    assert parsed.entries[0].published == "2026-03-14T09:30:00+03:00"


def test_region_and_script_codes_end_to_end(depth: Built) -> None:
    doc = depth.html("pt-BR/news/wells/index.html")
    assert doc.get("lang") == "pt-BR"
    hreflangs = set(doc.xpath('//head/link[@rel="alternate"]/@hreflang'))
    assert {"en", "fr", "pt-BR", "zh-Hans", "x-default"} <= hreflangs
    assert doc.xpath('//p[@class="meta"]/time')[0].text_content() == "14 de março de 2026"
    assert doc.xpath('//meta[@property="og:locale"]/@content') == ["pt_BR"]
    zh = depth.html("zh-Hans/news/wells/index.html")
    assert zh.get("lang") == "zh-Hans"
    assert zh.xpath('//meta[@property="og:locale"]/@content') == ["zh_CN"]
    feed = feedparser.parse((depth.output / "pt-BR/rss.xml").read_bytes())
    assert feed.feed.language == "pt-BR"


def test_translation_of_names_a_missing_language(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    built = build_copy(FIXTURES / "depth", tmp_path)
    page = built.site / "content/zh-Hans/news/wells.md"
    page.write_text(page.read_text(encoding="utf-8").replace("urgent: false",
                                                             "translation_of: es"))
    capsys.readouterr()
    code = main(["build", "--site", str(built.site), "--output", str(built.output), "-q"])
    assert code == 1
    assert "content/zh-Hans/news/wells.md:1: translation_of 'es'" in capsys.readouterr().err


def test_a_page_without_a_date_and_no_source_is_an_undated_page(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "depth", tmp_path)
    (built.site / "content/fr/news/orphan.md").write_text("---\ntitle: Orpheline\n---\n")
    code = main(["build", "--site", str(built.site), "--output", str(built.output), "-q"])
    assert code == 0, "undated pages are valid anywhere (FAQ, docs, glossary)"
    page = lxml.html.fromstring((built.output / "fr/news/orphan/index.html").read_bytes())
    assert not page.xpath("//time"), "no date is shown"
    section = lxml.html.fromstring((built.output / "fr/news/index.html").read_bytes())
    assert section.xpath('//a[@href="/fr/news/orphan/"]'), "listed in its section"
    feed = (built.output / "fr/atom.xml").read_text(encoding="utf-8")
    assert "orphan" not in feed, "undated pages are not in feeds"


def test_bad_fallback_is_a_config_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    built = build_copy(FIXTURES / "depth", tmp_path)
    config = built.site / "site.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('fallback = ["en"]',
                                                                 'fallback = ["de"]', 1))
    capsys.readouterr()
    code = main(["build", "--site", str(built.site), "--output", str(built.output), "-q"])
    assert code == 1
    assert "languages.fr.fallback: 'de' is not another configured language" in \
        capsys.readouterr().err


def test_menus_per_language_with_fallback(depth: Built) -> None:
    def menu(path: str) -> list[tuple[str, str]]:
        links = depth.html(path).xpath('//nav[@class="sections"]//a')
        return [(a.text_content(), a.get("href")) for a in links]

    assert menu("en/index.html")[-2:] == [
        ("About us", "/en/about/"), ("Annual report", "https://depth.example.org/report.pdf")]
    assert menu("fr/index.html")[-1] == ("Qui sommes-nous", "/fr/about/"), \
        "French falls back to the default menu's pages that exist in French"
    assert all(href.startswith("/pt-BR/") for _name, href in menu("pt-BR/index.html")), \
        "no English page and no external item leaks into another language's menu"


def test_tag_slugs_per_language_linked_by_hreflang(depth: Built) -> None:
    files = depth.files()
    for path in ("en/tags/water/", "fr/tags/eau/", "pt-BR/tags/agua/", "zh-Hans/tags/water/",
                 "fr/tags/sante/"):
        assert path + "index.html" in files, path
    doc = depth.html("fr/tags/eau/index.html")
    alternates = {link.get("hreflang"): link.get("href")
                  for link in doc.xpath('//head/link[@rel="alternate"][@hreflang]')}
    assert alternates["en"] == "https://depth.example.org/en/tags/water/"
    assert alternates["pt-BR"] == "https://depth.example.org/pt-BR/tags/agua/"
    assert alternates["zh-Hans"] == "https://depth.example.org/zh-Hans/tags/water/"
    article = depth.html("fr/news/wells/index.html").xpath('//p[@class="tags"]/a/@href')
    assert "/fr/tags/eau/" in article


def test_a_menu_item_for_a_missing_page_is_reported(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    built = build_copy(FIXTURES / "depth", tmp_path)
    config = built.site / "site.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('page = "about"',
                                                                 'page = "team"'))
    capsys.readouterr()
    code = main(["build", "--site", str(built.site), "--output", str(built.output)])
    assert code == 0
    assert "languages.en.menu: no page or section 'team' in content/en/" in capsys.readouterr().err
