"""``newshub init`` in this process: what it writes for other languages and scripts, and
small things a new site shows (favicon type, the build summary)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import lxml.html
import pytest
import yaml

from generator.cli import main
from generator.starter import InitError, NewSite, create_site, parse_languages, workflow


def test_languages_are_checked_like_site_toml() -> None:
    assert parse_languages(" en, fr ,ar,fr") == ("en", "fr", "ar")
    for bad in ("", "english", "en,zz"):
        with pytest.raises(InitError):
            parse_languages(bad)


def test_a_language_without_starter_texts_gets_the_english_ones(tmp_path: Path) -> None:
    create_site(NewSite(tmp_path / "s", ("sw", "ha"), "Baobab Care"))
    config = tomllib.loads((tmp_path / "s/site.toml").read_text(encoding="utf-8"))
    assert config["default_language"] == "sw"
    assert config["languages"]["sw"]["menu"] == [{"name": "Kuhusu sisi", "page": "about"}]
    assert config["languages"]["ha"]["name"] == "Hausa"
    assert config["taxonomy"]["sections"]["news"] == {"sw": "Habari", "ha": "News"}
    hausa = (tmp_path / "s/content/ha/news/welcome.md").read_text(encoding="utf-8")
    assert "Welcome to our news hub" in hausa


def test_titles_with_quotes_stay_valid_toml_and_yaml(tmp_path: Path) -> None:
    title = 'Aid "Now" \\ Sahel: 100%'
    create_site(NewSite(tmp_path / "s", ("en",), title))
    config = tomllib.loads((tmp_path / "s/site.toml").read_text(encoding="utf-8"))
    assert config["title"] == title and config["organisation"]["name"] == title
    logo = (tmp_path / "s/static/images/logo.svg").read_text(encoding="utf-8")
    assert ">AN</text>" in logo
    assert main(["build", "--site", str(tmp_path / "s"), "--quiet", "--no-cards"]) == 0


def test_card_fonts_are_installed_only_for_scripts_newshub_lacks() -> None:
    fonts = {code: yaml.safe_load(workflow((code,)))["env"]["CARD_FONTS"]
             for code in ("en", "ar", "ru", "hi", "zh", "am", "ko", "he")}
    assert fonts["en"] == fonts["ar"] == fonts["ru"] == fonts["hi"] == fonts["zh"] == ""
    assert "fonts-noto-core" in fonts["am"] and "fonts-noto-cjk" in fonts["ko"]
    assert fonts["he"]


def test_a_png_logo_is_announced_as_png_and_one_page_is_one_page(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "s"
    create_site(NewSite(site, ("en",), "Acacia Aid"))
    (site / "content/en/news").rename(tmp_path / "aside")
    (site / "static/images/logo.png").write_bytes((Path(__file__).parent / "fixtures/scripts/"
                                                   "static/images/banner.jpg").read_bytes())
    config = site / "site.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("images/logo.svg",
                                                                 "images/logo.png"))
    capsys.readouterr()
    assert main(["build", "--site", str(site), "--no-cards"]) == 0
    assert capsys.readouterr().out.startswith("Built 1 page (")
    page = lxml.html.fromstring((site / "output/en/about/index.html").read_bytes())
    assert page.xpath('//link[@rel="icon"]/@type') == ["image/png"]
