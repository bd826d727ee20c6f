"""The interface catalogs newshub ships: every language complete, with CLDR's plural
forms, the msgids' placeholders and each language's own punctuation; a site in a bundled
language gets its interface without a warning."""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path

import lxml.html
import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from generator.cli import main
from generator.config import babel_locale, load_config
from generator.i18n import DOMAIN, bundled_languages, catalog_path, template_messages
from generator.theme import BUNDLED_LOCALES, theme_files
from tests.conftest import FIXTURES, REPO

# The languages issue #17 names: the UN's six, then those humanitarian newsrooms publish in.
REQUIRED = ("ar", "zh", "en", "fr", "ru", "es", "am", "ti", "so", "ha", "sw", "yo", "ig", "om",
            "rw", "ps", "fa", "fa-AF", "ur", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl",
            "ckb", "tr", "uk", "pt-BR", "pt", "it", "de", "nl", "pl", "ro", "el", "he", "ka", "hy",
            "ko", "ja", "zh-Hant", "ta", "si", "ht")
LANGUAGES = bundled_languages()
TRANSLATED = [code for code in LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
NNBSP = "\u202f"


def template() -> tuple[str | tuple[str, str], ...]:
    return template_messages(theme_files(load_config(REPO), "templates"))


def catalog(code: str) -> Catalog:
    with catalog_path(BUNDLED_LOCALES, code).open("rb") as handle:
        return read_po(handle, locale=babel_locale(code), domain=DOMAIN)


def test_at_least_fifty_languages_ship_including_every_one_the_issue_names() -> None:
    assert len(LANGUAGES) >= 50
    assert sorted(set(REQUIRED) - set(LANGUAGES)) == []
    for code in LANGUAGES:
        Locale.parse(babel_locale(code))  # Babel knows every one
        assert catalog_path(BUNDLED_LOCALES, code).is_file(), \
            "each catalog sits where a site configuring that code looks for it"


@pytest.mark.parametrize("code", LANGUAGES)
def test_each_catalog_has_cldr_plural_forms_and_nothing_fuzzy(code: str) -> None:
    found = catalog(code)
    assert found.num_plurals == Catalog(locale=babel_locale(code)).num_plurals
    assert not found.fuzzy
    assert [m.id for m in found if m.fuzzy] == []
    for message in found:
        if message.pluralizable and code != "en":
            assert len(message.string) == found.num_plurals, message.id


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalog_translates_every_template_string_keeping_its_placeholders(
        code: str) -> None:
    found = catalog(code)
    choose = gettext.c2py(found.plural_expr)
    for msgid in template():
        message = found.get(msgid if isinstance(msgid, str) else msgid[0])
        assert message is not None and not message.fuzzy, (code, msgid)
        if isinstance(msgid, str):
            assert message.string, (code, msgid)
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(msgid)), \
                (code, msgid, message.string)
            continue
        wanted = set(PLACEHOLDER.findall(msgid[1]))
        for index, form in enumerate(message.string):
            assert form, (code, msgid, index)
            assert set(PLACEHOLDER.findall(form)) <= wanted, (code, form)
            numbers = [n for n in range(1001) if choose(n) == index]
            if len(numbers) > 1:  # only a form for one number ("one article") may omit it
                assert set(PLACEHOLDER.findall(form)) == wanted, (code, form)


def test_the_plural_forms_read_right() -> None:
    def articles(code: str, n: int) -> str:
        found = catalog(code)
        return found.get("%(count)s article").string[gettext.c2py(found.plural_expr)(n)] \
            % {"count": n}

    assert [articles("ru", n) for n in (1, 3, 5, 21)] == [
        "1 статья", "3 статьи", "5 статей", "21 статья"]
    assert [articles("uk", n) for n in (1, 2, 11)] == ["1 стаття", "2 статті", "11 статей"]
    assert [articles("pl", n) for n in (1, 4, 5, 22)] == [
        "1 artykuł", "4 artykuły", "5 artykułów", "22 artykuły"]
    assert [articles("he", n) for n in (1, 2, 7)] == ["מאמר אחד", "שני מאמרים", "7 מאמרים"]
    assert [articles("fr", n) for n in (0, 2, 1_000_000)] == [
        "0 article", "2 articles", "1000000 d’articles"]
    assert [articles("ar", n) for n in (11, 100, 103)] == ["11 مقالةً", "100 مقالة", "103 مقالات"]


def test_each_language_writes_its_own_colon() -> None:
    french = catalog("fr")
    assert french.get("Topics:").string == f"Thèmes{NNBSP}:"
    assert french.get("Follow:").string == f"S’abonner{NNBSP}:"
    for message in french:
        if message.id and isinstance(message.string, str):
            assert not re.search(f"[^{NNBSP}]:", message.string), \
                f"a narrow no-break space before every French colon: {message.string!r}"
    for code in ("zh", "zh-Hant", "ja"):
        assert catalog(code).get("Topics:").string.endswith("："), code
    assert catalog("ar").get("Topics:").string == "المواضيع:"
    assert catalog("am").get("Topics:").string.endswith("፦")
    assert catalog("km").get("Topics:").string.endswith("៖")
    assert catalog("hy").get("Topics:").string.endswith("՝")


def test_a_site_in_amharic_and_ukrainian_gets_their_interface_without_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "multilingual", source)
    config = source / "site.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + '\n[languages.am]\nname = "አማርኛ"\n\n[languages.uk]\nname = "Українська"\n',
                      encoding="utf-8")
    for code, title in (("am", "ጉድጓዶች ተጠገኑ"), ("uk", "Колодязі відремонтовано")):
        (source / f"content/{code}/news").mkdir(parents=True)
        wells = (source / "content/fr/news/wells.md").read_text(encoding="utf-8")
        (source / f"content/{code}/news/wells.md").write_text(
            re.sub(r'title: ".*"', f'title: "{title}"', wells), encoding="utf-8")
    capsys.readouterr()
    assert main(["build", "--site", str(source), "--output", str(tmp_path / "out"),
                 "--no-cards"]) == 0
    err = capsys.readouterr().err
    assert "interface strings" not in err and "no catalog" not in err, err
    for code in ("am", "uk"):
        page = lxml.html.fromstring(
            (tmp_path / f"out/{code}/news/wells/index.html").read_bytes())
        strings = catalog(code)
        links = [a.text_content() for a in page.iter("a")]
        assert strings.get("Skip to content").string in links
        assert strings.get("Donate").string in links
        assert page.xpath('//p[@class="tags"]/span')[0].text == strings.get("Topics:").string
        assert page.xpath('//p[@class="feeds"]')[0].text.strip() == \
            strings.get("Follow:").string
    assert main(["i18n", "status", "--site", str(source)]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    total = len(template())
    assert rows["am"][-2:] == [f"{total}/{total}", "0"]
    assert rows["uk"][-2:] == [f"{total}/{total}", "0"]
    assert rows["en"][-1] == "source"


def test_status_shows_each_language_coverage_and_what_is_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "multilingual", source)
    config = source / "site.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[languages.be]\n[languages.lt]\n",
                      encoding="utf-8")
    belarusian = source / "locales/be/LC_MESSAGES/messages.po"
    belarusian.parent.mkdir(parents=True)
    belarusian.write_text('msgid ""\nmsgstr ""\n"Language: be\\n"\n\n'
                          'msgid "Donate"\nmsgstr "Ахвяраваць"\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["i18n", "status", "--site", str(source)]) == 0
    out = capsys.readouterr().out.splitlines()
    total = len(template())
    rows = {line.split()[0]: line for line in out[1:] if line.split()[1] != "missing:"}
    assert list(rows) == ["en", "fr", "ar", "be", "lt"], "the site's languages, in its order"
    assert rows["fr"].split()[-2:] == [f"{total}/{total}", "0"]
    assert rows["be"].split()[-2:] == [f"1/{total}", str(total - 1)]
    assert rows["lt"].endswith(f"0/{total}  {total} (no catalog)")
    missing = next(line for line in out if line.startswith("be missing: "))
    assert "'Skip to content'" in missing and "'Donate'" not in missing
    assert main(["i18n", "status", "--all", "--site", str(source)]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert set(LANGUAGES) <= set(listed) and {"be", "lt"} <= set(listed)
