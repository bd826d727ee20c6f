"""Every language as its readers write it (issue #17): the organisation's name per
language, English fallback isolated on right-to-left pages, the locale's own digits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import feedparser
import lxml.html
import pytest

from generator.cli import main

STORY = '---\ntitle: "{title}"\ndate: 2026-03-14T09:30:00+03:00\n---\n{title}.\n'
CONFIG = """\
base_url = "https://example.org/"
[organisation.name]
en = "Acacia Aid"
ar = "أكاسيا للإغاثة"
fa = "کمک اقاقیا"
[languages.en]
[languages.ar]
[languages.fa]
[languages.ps]
digits = "latin"
[languages.ug]
"""


@pytest.fixture
def site(make_site: Callable[..., Path]) -> Path:
    folder = make_site({"content/en/news/a.md": STORY.format(title="Wells"),
                        "content/ar/news/a.md": STORY.format(title="آبار"),
                        "content/fa/news/a.md": STORY.format(title="چاه‌ها"),
                        "content/ps/news/a.md": STORY.format(title="څاګانې"),
                        "content/ug/news/a.md": STORY.format(title="قۇدۇقلار")}, CONFIG)
    assert main(["build", "--site", str(folder), "--no-cards", "--quiet"]) == 0
    return folder


def _page(site: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((site / "output" / path).read_bytes())


def test_the_organisation_is_named_in_each_language(site: Path) -> None:
    footer = {lang: _page(site, f"{lang}/index.html").xpath("//footer//bdi")[0].text
              for lang in ("en", "ar", "fa", "ps")}
    assert footer == {"en": "Acacia Aid", "ar": "أكاسيا للإغاثة", "fa": "کمک اقاقیا",
                      "ps": "Acacia Aid"}, "a language without its own name gets the default"
    assert _page(site, "ar/index.html").xpath('//a[@class="brand"]/bdi'), "isolated too"
    atom = feedparser.parse((site / "output/ar/atom.xml").read_bytes())
    assert atom.feed.author == "أكاسيا للإغاثة"


def test_english_fallback_is_isolated_on_right_to_left_pages(site: Path) -> None:
    uyghur = _page(site, "ug/news/index.html")  # no bundled Uyghur catalog: English
    count = uyghur.xpath('//p[@class="count"]')[0].text_content()
    assert count == "\u20681 article\u2069", "isolated: it reads '1 article', not 'article 1'"
    assert uyghur.xpath('//a[@class="skip"]')[0].text == "\u2068Skip to content\u2069"
    english = _page(site, "en/news/index.html")
    assert "\u2068" not in english.xpath('//p[@class="count"]')[0].text_content()


def test_dates_in_the_locale_digits_unless_latin(site: Path) -> None:
    persian = _page(site, "fa/news/a/index.html").xpath("//time")[0].text
    assert "۱۴" in persian and "۲۰۲۶" in persian, "CLDR's default for fa: Persian digits"
    pashto = _page(site, "ps/news/a/index.html").xpath("//time")[0].text
    assert "14" in pashto and "2026" in pashto, 'digits = "latin" opts out'
    arabic = _page(site, "ar/news/a/index.html").xpath("//time")[0].text
    assert "2026" in arabic, "CLDR's default for ar is Latin digits"


def test_check_names_the_photo_an_editor_wrote_at_its_body_line(
        make_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    photo = (Path(__file__).parent / "fixtures/scripts/static/images/banner.jpg").read_bytes()
    site = make_site({"content/en/news/x/photo.jpg": photo,
                      "content/en/news/x/index.md": '---\ntitle: "X"\ndate: 2026-01-01\n'
                                                    'image: photo.jpg\nimage_alt: "A photo"\n'
                                                    '---\n\nIntro.\n\n![](photo.jpg)\n'})
    assert main(["build", "--site", str(site), "--no-cards", "--quiet"]) == 0
    capsys.readouterr()
    main(["check", "--site", str(site)])
    out = capsys.readouterr()
    assert "content/en/news/x/index.md:10: warning: image photo.jpg has empty alt text" in \
        out.out + out.err
