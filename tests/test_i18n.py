"""Interface strings through Babel and gettext: plural rules, fallbacks, catalogs."""

from __future__ import annotations

import gettext
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po, write_po

from generator.cli import main
from generator.config import load_config
from generator.i18n import _date_shape, digits_of, locale_of, localised_date, template_messages
from generator.render import Renderer
from generator.theme import theme_files
from tests.conftest import FIXTURES, REPO, build_copy

COUNT = "{% trans count=n %}{{ count }} article{% pluralize %}{{ count }} articles{% endtrans %}"


def plural(lang: str, n: int) -> str:
    env = Renderer(load_config(REPO)).environment(lang)
    return env.from_string(COUNT).render(n=n)


@pytest.mark.parametrize(("n", "expected"), [
    (0, "لا توجد مقالات"), (1, "مقالة واحدة"), (2, "مقالتان"), (3, "3 مقالات"),
    (10, "10 مقالات"), (11, "11 مقالةً"), (99, "99 مقالةً"), (100, "100 مقالة"),
    (103, "103 مقالات"),
])
def test_arabic_has_six_plural_forms(n: int, expected: str) -> None:
    assert plural("ar", n) == expected


def test_other_languages_follow_their_own_rules() -> None:
    assert [plural("en", n) for n in (1, 2)] == ["1 article", "2 articles"]
    assert [plural("fr", n) for n in (0, 1, 2)] == ["0 article", "1 article", "2 articles"]
    assert plural("zh", 5) == "5 篇文章"


def test_list_pages_count_their_articles_in_the_page_language(tmp_path: Path) -> None:
    built = build_copy(REPO, tmp_path)
    count = built.html("ar/tags/water/index.html").xpath('//p[@class="count"]')[0]
    assert count.text_content().strip().endswith(("مقالات", "مقالة واحدة", "مقالتان"))


def test_a_site_catalog_overrides_the_bundled_one_string_by_string(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "multilingual", source)
    catalog = source / "locales/fr/LC_MESSAGES/messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
                       'msgid "Donate"\nmsgstr "Soutenir"\n\n'
                       'msgid "Skip to content"\nmsgstr ""\n', encoding="utf-8")
    assert main(["build", "--site", str(source), "--output", str(tmp_path / "out"),
                 "--quiet"]) == 0
    page = lxml.html.fromstring((tmp_path / "out/fr/news/wells/index.html").read_bytes())
    links = [a.text_content().strip() for a in page.iter("a")]
    assert "Soutenir" in links, "the site's own string wins"
    assert "Aller au contenu" in links, "an empty site string never hides the bundled one"


def test_a_missing_string_falls_back_to_english_with_one_warning_per_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "multilingual", source)
    config = source / "site.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[languages.be]\n")  # not bundled
    (source / "content/be/news").mkdir(parents=True)
    shutil.copy(source / "content/fr/news/wells.md", source / "content/be/news/wells.md")
    assert main(["i18n", "update", "--site", str(source)]) == 0
    catalog = source / "locales/be/LC_MESSAGES/messages.po"
    with catalog.open("rb") as handle:
        belarusian = read_po(handle)
    for message in belarusian:
        if message.id and message.id not in ("Donate", "Topics:"):
            message.string = ("be",) * 3 if message.pluralizable else "be"
    with catalog.open("wb") as handle:
        write_po(handle, belarusian)
    capsys.readouterr()
    code = main(["build", "--site", str(source), "--output", str(tmp_path / "out")])
    assert code == 0
    err = capsys.readouterr().err
    total = len(template_messages(theme_files(load_config(source), "templates")))
    summary = (f"locales/be/LC_MESSAGES/messages.po: warning: be: 2 of {total} interface "
               "strings missing, shown in English (newshub i18n update)")
    assert [line for line in err.splitlines() if "be:" in line] == [
        line for line in err.splitlines() if line.endswith(summary)], \
        "one line for the language, not one per string"
    assert summary in err
    page = lxml.html.fromstring((tmp_path / "out/be/news/wells/index.html").read_bytes())
    assert "Donate" in [a.text_content() for a in page.iter("a")]
    assert page.xpath('//p[@class="tags"]/span')[0].text == "Topics:"
    wells = source / "content/be/news/wells.md"
    wells.write_text(wells.read_text(encoding="utf-8") + "\nPlus.\n", encoding="utf-8")
    assert main(["build", "--site", str(source), "--output", str(tmp_path / "out"), "-v"]) == 0
    err = capsys.readouterr().err
    assert summary in err, "the next process reports the gap again (from the cache)"
    assert "  be: missing 'Donate' (templates/base.html:" in err, "--verbose lists the strings"
    assert "  be: missing 'Topics:' (templates/article.html:" in err
    catalog.write_text(catalog.read_text(encoding="utf-8").replace(
        'msgid "Donate"\nmsgstr ""', 'msgid "Donate"\nmsgstr "Ахвяраваць"').replace(
        'msgid "Topics:"\nmsgstr ""', 'msgid "Topics:"\nmsgstr "Тэмы:"'), encoding="utf-8")
    assert main(["build", "--site", str(source), "--output", str(tmp_path / "out")]) == 0
    assert "interface strings missing" not in capsys.readouterr().err


def test_a_language_without_any_catalog_gets_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "multilingual", source)
    config = source / "site.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[languages.be]\n")
    (source / "content/be").mkdir(parents=True)
    shutil.copy(source / "content/fr/about.md", source / "content/be/about.md")
    assert main(["build", "--site", str(source), "--output", str(tmp_path / "out"),
                 "--no-cards"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "be:" in line]
    assert len(lines) == 1 and lines[0].endswith(
        "locales/be/LC_MESSAGES/messages.po: warning: be: no catalog, the "
        f"{len(template_messages(theme_files(load_config(source), 'templates')))} interface "
        "strings are shown in English (newshub i18n update)"), lines


def test_update_in_a_site_writes_only_what_the_bundle_lacks(tmp_path: Path) -> None:
    site = build_copy(FIXTURES / "multilingual", tmp_path).site
    assert main(["i18n", "update", "--site", str(site)]) == 0
    assert not (REPO / "locales" / "messages.pot").samefile(site / "locales/messages.pot")
    french = (site / "locales/fr/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert 'msgid "Donate"' not in french, "the bundled catalog translates it: inherited"
    built = main(["build", "--site", str(site), "--output", str(tmp_path / "again"),
                  "--quiet"])
    assert built == 0
    page = lxml.html.fromstring((tmp_path / "again/fr/news/wells/index.html").read_bytes())
    assert "Aller au contenu" in [a.text_content().strip() for a in page.iter("a")], \
        "after i18n update the skip link is still in French"
    pot = site / "locales/messages.pot"
    before = pot.read_bytes()
    assert main(["i18n", "extract", "--site", str(site)]) == 0
    assert pot.read_bytes() == before, "no new strings, no change (POT-Creation-Date kept)"


def test_extract_update_compile(tmp_path: Path) -> None:
    site = build_copy(FIXTURES / "multilingual", tmp_path).site
    shutil.copytree(REPO / "themes", site / "themes")
    config = site / "site.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[languages.be]\n')
    assert main(["i18n", "extract", "--site", str(site)]) == 0
    pot = (site / "locales/messages.pot").read_text(encoding="utf-8")
    assert 'msgid "Donate"' in pot and 'msgid_plural "%(count)s articles"' in pot
    assert main(["i18n", "update", "--site", str(site)]) == 0
    belarusian = (site / "locales/be/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert "nplurals=3" in belarusian, "a new catalog gets the language's plural rule from CLDR"
    assert 'msgid "Donate"' in belarusian, "no bundled catalog: every string is to translate"
    assert main(["i18n", "compile", "--site", str(site)]) == 0
    with (site / "locales/be/LC_MESSAGES/messages.mo").open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    assert translations.gettext("Donate") == "Donate"


@pytest.mark.parametrize("code", ["en", "ar", "fr", "es", "zh-Hans", "uk", "bn", "am", "pt-BR",
                                  "ru", "ja", "he", "fa"])
def test_dates_read_as_babel_writes_them_field_by_field_or_whole(code: str) -> None:
    """``localised_date`` puts a date together from each field's text (the month's name,
    the day, the year, the weekday) where a style's fields each show one part of the
    date; it gives what Babel's ``format_date`` gives, digits localised the same way."""
    styles = ("long", "medium", "short", "full", "d MMM y", "EEE, MMM d, ''yy", "y-'W'ww")
    for style in styles:
        for offset in range(0, 30_000, 61):
            day = date(1961, 3, 1) + timedelta(days=offset)
            moment = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)
            expected = format_date(day, format=style, locale=locale_of(code)).translate(
                digits_of(code, "native"))
            assert localised_date(moment, code, style) == expected, (style, day)
    assert _date_shape(code, "long") is not None  # (each field: one part of the date)
    assert _date_shape(code, "y-'W'ww") is None  # (the week of the year: the whole date)
