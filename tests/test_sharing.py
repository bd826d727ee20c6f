"""Sharing: share cards in every script, Open Graph meta, share links, responsive
images without metadata, and feeds that carry an image. Read back with lxml and
Pillow, the way a link preview or a feed reader would."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import feedparser
import lxml.html
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from generator import imaging, typeset
from generator.build import build
from generator.config import load_config
from generator.outputs import cards
from tests.conftest import FIXTURES, Built, build_copy, linked_site

OG_LOCALES = {"en": "en_US", "ar": "ar_EG", "fa": "fa_IR", "hi": "hi_IN", "zh": "zh_CN",
              "ru": "ru_RU"}
RASTER = (".jpg", ".jpeg", ".png", ".webp")
GPS_IFD = 0x8825


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Titles in Latin, Arabic (with Latin names and digits), Persian, Devanagari,
    Chinese and Cyrillic; photos with GPS and a sideways EXIF orientation."""
    return build_copy(FIXTURES / "scripts", tmp_path_factory.mktemp("scripts"))


def meta(doc: lxml.html.HtmlElement, name: str) -> list[str]:
    return doc.xpath(f'//head/meta[@property="{name}" or @name="{name}"]/@content')


def articles(built: Built) -> list[str]:
    return [name for name in built.files() if name.endswith("/index.html")
            and meta(built.html(name), "og:type") == ["article"]]


def local_file(built: Built, url: str) -> Path:
    return built.output / unquote(urlsplit(url).path).lstrip("/")


# Share cards


@pytest.mark.parametrize("name", ["example", "scripts"])
def test_every_article_has_a_card_that_previews(name: str,
                                                request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    assert built.code == 0
    pages = articles(built)
    assert len(pages) >= 6
    for page in pages:
        doc = built.html(page)
        canonical = doc.xpath('//link[@rel="canonical"]/@href')[0]
        [image] = meta(doc, "og:image")
        assert urlsplit(image).netloc == urlsplit(canonical).netloc, "absolute, same host"
        assert image == canonical + "card.jpg"
        card = local_file(built, image)
        assert card.stat().st_size < 300_000, f"{card}: WhatsApp shows no larger previews"
        with Image.open(card) as opened:
            assert opened.size == (1200, 630)
            assert opened.format == "JPEG"
        assert meta(doc, "og:image:width") == ["1200"]
        assert meta(doc, "og:image:height") == ["630"]
        assert meta(doc, "og:image:alt") == [doc.xpath("//h1")[0].text_content()]


def test_other_pages_use_their_language_home_card(scripts: Built) -> None:
    for lang in OG_LOCALES:
        for page in (f"{lang}/index.html", f"{lang}/news/index.html", f"{lang}/404.html"):
            doc = scripts.html(page)
            assert meta(doc, "og:image") == [f"https://cards.example.org/{lang}/card.jpg"]
            assert meta(doc, "og:type") == ["website"]
        with Image.open(scripts.output / lang / "card.jpg") as card:
            assert card.size == (1200, 630)


def test_open_graph_and_twitter_meta(scripts: Built) -> None:
    for lang, locale in OG_LOCALES.items():
        doc = scripts.html(f"{lang}/news/wells/index.html")
        assert meta(doc, "og:locale") == [locale]
        assert set(meta(doc, "og:locale:alternate")) == set(OG_LOCALES.values()) - {locale}
        assert meta(doc, "og:title") == [doc.xpath("//h1")[0].text_content()]
        assert meta(doc, "og:url") == doc.xpath('//link[@rel="canonical"]/@href')
        assert meta(doc, "og:description") == doc.xpath('//meta[@name="description"]/@content')
        assert meta(doc, "article:published_time") == ["2026-05-06T07:45:00+03:00"]
        assert meta(doc, "article:modified_time") == ["2026-05-06T07:45:00+03:00"]
        assert meta(doc, "twitter:card") == ["summary_large_image"]
        assert meta(doc, "og:site_name")


def card_font(name: str, size: int, engine: ImageFont.Layout) -> ImageFont.FreeTypeFont:
    fonts = {path.name: path for path in cards.DEFAULT_FONTS}
    return ImageFont.truetype(str(fonts[name]), size, layout_engine=engine)


@pytest.mark.skipif(not typeset.raqm_available(), reason="Pillow without Raqm")
@pytest.mark.parametrize(("text", "font", "lang", "direction"), [
    ("يصلح بئراً", "NotoSansArabic-Bold.ttf", "ar", "rtl"),
    ("بازسازی منبع آب", "NotoSansArabic-Bold.ttf", "fa", "rtl"),
    ("स्वास्थ्य कर्मियों", "NotoSansDevanagari-Bold.ttf", "hi", "ltr"),
])
def test_complex_scripts_are_shaped_like_raqm_shapes_them(text: str, font: str, lang: str,
                                                          direction: str) -> None:
    raqm = card_font(font, 64, ImageFont.Layout.RAQM)
    basic = card_font(font, 64, ImageFont.Layout.BASIC)
    shaped = raqm.getmask(text, direction=direction, language=lang)
    unshaped = basic.getmask(text)
    assert (shaped.size, bytes(shaped)) != (unshaped.size, bytes(unshaped)), \
        "joined Arabic and Devanagari conjuncts differ from glyphs set one by one"
    setter = typeset.Typesetter((raqm_path(font), *cards.DEFAULT_FONTS), lang, direction,
                                ImageFont.Layout.RAQM)
    block = setter.block(text, 64, 2000)
    assert len(block.lines) == 1 and len(block.lines[0].runs) == 1
    drawn = Image.new("L", (1000, 200))
    setter.draw(ImageDraw.Draw(drawn), block, 0, 0, 1000, 255)
    reference = Image.new("L", (1000, 200))
    x = 1000 - block.lines[0].width if direction == "rtl" else 0
    ImageDraw.Draw(reference).text((x, block.baseline), text, font=raqm, fill=255, anchor="ls",
                                   direction=direction, language=lang)
    assert ImageChops.difference(drawn, reference).getbbox() is None, \
        "the card's typesetter draws exactly Raqm's glyph run"


def raqm_path(name: str) -> Path:
    return next(p for p in cards.DEFAULT_FONTS if p.name == name)


def test_cards_are_drawn_with_shaping_and_published_as_drawn(scripts: Built) -> None:
    site = linked_site(scripts.site)
    for lang in ("ar", "fa", "hi"):
        page = site.pages[f"{lang}/news/wells"]
        card = cards.article_card(site, page)
        published = (scripts.output / card.path).read_bytes()
        assert published == cards.encode(cards.draw(card)), "deterministic, byte for byte"
        if typeset.raqm_available():
            unshaped = cards.draw(cards.Card(**{**_fields(card), "shaped": False}))
            assert ImageChops.difference(cards.draw(card), unshaped).getbbox() is not None


def test_cards_drawn_on_a_shared_frame_equal_cards_drawn_alone(scripts: Built) -> None:
    """What a language's cards share is drawn once and copied: a card is the same
    whichever cards were drawn before it, and the same drawn on a fresh frame."""
    site = linked_site(scripts.site)
    drawn = [cards.article_card(site, page) for page in site.pages.values()
             if page.kind == "article"]
    drawn += [cards.home_card(site, lang) for lang in site.config.language_codes]
    cards.forget_frames()
    first = [cards.encode(cards.draw(card)) for card in drawn]
    assert cards._frame.cache_info().hits > 0, "cards of a language share their frame"
    cards.forget_frames()
    again = [cards.encode(cards.draw(card)) for card in reversed(drawn)][::-1]
    assert first == again
    for card, data in zip(drawn, first, strict=True):
        assert (scripts.output / card.path).read_bytes() == data, card.path


def _fields(card: cards.Card) -> dict:
    return {name: getattr(card, name) for name in card.__dataclass_fields__}


def test_a_mixed_arabic_line_keeps_names_and_numbers_in_reading_order() -> None:
    fonts = cards.DEFAULT_FONTS
    arabic, latin = raqm_path("NotoSansArabic-Bold.ttf"), raqm_path("NotoSans-Bold.ttf")
    chain = (arabic, *[f for f in fonts if f != arabic])
    line = "فريق Médecins Sans Frontières يصلح 12 بئراً"
    runs = typeset.display_order(typeset.split_runs(line, chain, "rtl"), "rtl")
    assert [(run.text, run.font, run.direction) for run in runs] == [
        (" يصلح 12 بئراً", arabic, "rtl"),  # leftmost: the end; the space joins it (N1)
        ("Médecins Sans Frontières", latin, "ltr"),  # a name reads left to right inside
        ("فريق ", arabic, "rtl"),  # rightmost: the first word
    ]
    if typeset.raqm_available():
        raqm = card_font("NotoSansArabic-Bold.ttf", 40, ImageFont.Layout.RAQM)
        in_rtl = raqm.getmask("2026", direction="rtl", language="ar")
        in_ltr = raqm.getmask("2026", direction="ltr")
        assert bytes(in_rtl) == bytes(in_ltr), "digits stay left to right in Arabic"


def test_chinese_wraps_between_characters_but_never_before_closing_marks() -> None:
    cjk = raqm_path("NotoSansCJKsc-Bold-GB2312.otf")
    setter = typeset.Typesetter((cjk, *cards.DEFAULT_FONTS), "zh", "ltr",
                                typeset.layout_engine())
    title = "凯西拉区12个村庄的38个供水点已修复，约2.1万人重新获得安全饮用水。"
    for width in range(300, 900, 37):
        block = setter.block(title, 48, width)
        texts = ["".join(run.text for run in line.runs) for line in block.lines]
        assert "".join(texts) == title, "nothing lost, no spaces added"
        assert len(texts) > 1
        for text, line in zip(texts, block.lines, strict=True):
            assert text[0] not in "，。", f"line starts with a closing mark: {text}"
            assert line.width <= width
        assert all("2.1" in t or "2." not in t for t in texts), "numbers are not split"


def test_titles_shrink_to_fit_and_long_ones_end_with_an_ellipsis() -> None:
    latin = raqm_path("NotoSans-Bold.ttf")
    setter = typeset.Typesetter((latin,), "en", "ltr", typeset.layout_engine())
    short = setter.fit("Short title", 1000, 300, (76, 60, 40), 3)
    assert short.size == 76 and len(short.lines) == 1
    long = setter.fit("word " * 200, 1000, 300, (76, 60, 40), 3)
    assert long.size == 40 and len(long.lines) <= 3
    assert long.lines[-1].runs[-1].text.endswith("…")


def test_card_fonts_are_shipped_with_their_licence_and_cover_every_language() -> None:
    folder = FIXTURES.parent.parent / "themes/default/fonts"
    assert "SIL Open Font License" in (folder / "OFL.txt").read_text(encoding="utf-8")
    assert sum(p.stat().st_size for p in folder.iterdir()) < 25_000_000
    samples = {
        "en": "Quick brown fox jumps over the lazy dog: 1,234.5% (sic)!",
        "fr": "Œuvre à l’école : « déjà » très près — Noël, garçon, où ?",
        "es": "¿Dónde está el niño? ¡Año de pingüinos y señales!",
        "ru": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "ar": "صِف خَلقَ خَودِ كَمِثلِ الشَمسِ إِذ بَزَغَت، ١٢٣ «نداء»؟",
        "fa": "بازسازی ۳۸ منبع آب؛ گزارش پزشکی ژاله و چگونگی کار",
        "hi": "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार",
        "zh": "凯西拉区的供水点已修复，约２．１万人重新获得安全饮用水。《报告》“呼吁”",
    }
    for lang, text in samples.items():
        assert typeset.missing(cards.DEFAULT_FONTS, text) == "", lang


# Meta and share links


def test_share_links_decode_to_the_page_url_and_title(scripts: Built, example: Built) -> None:
    for built in (scripts, example):
        for page in articles(built):
            doc = built.html(page)
            title = doc.xpath("//h1")[0].text_content()
            canonical = doc.xpath('//link[@rel="canonical"]/@href')[0]
            links = {a.text_content(): a.get("href") for a in doc.xpath('//nav[@class="share"]//a')}
            query = {name: parse_qs(urlsplit(href).query) for name, href in links.items()}
            assert query["WhatsApp"] == {"text": [f"{title} {canonical}"]}
            assert query["Telegram"] == {"url": [canonical], "text": [title]}
            assert query["Facebook"] == {"u": [canonical]}
            assert query["X"] == {"url": [canonical], "text": [title]}
            assert query["LinkedIn"] == {"url": [canonical]}
            mail = [href for href in links.values() if href.startswith("mailto:")]
            assert parse_qs(urlsplit(mail[0]).query) == {"subject": [title], "body": [canonical]}
            assert [a.get("href") for a in doc.xpath('//nav[@class="share"]//a[@class="copy"]')] \
                == [canonical]
            hosts = {urlsplit(href).netloc for href in links.values()}
            assert hosts <= {"wa.me", "t.me", "www.facebook.com", "x.com", "www.linkedin.com",
                             "", urlsplit(canonical).netloc}


def test_share_labels_are_in_the_page_language(example: Built) -> None:
    doc = example.html("fr/news/water-points-restored/index.html")
    nav = doc.xpath('//nav[@class="share"]')[0]
    assert nav.get("aria-label") != "Share"
    assert "WhatsApp" in nav.xpath(".//a")[0].get("aria-label")
    assert nav.xpath('.//a[@class="copy"]')[0].text_content() != "Copy link"


def test_share_button_script_is_inline_and_small(example: Built) -> None:
    doc = example.html("en/news/water-points-restored/index.html")
    nav = doc.xpath('//nav[@class="share"]')[0]
    assert nav.xpath(".//button")[0].get("hidden") is not None, "shown only with navigator.share"
    scripts = [s.text or "" for s in doc.xpath("//script")]
    assert all(not s.get("src") for s in doc.xpath("//script"))
    assert any("navigator.share" in s for s in scripts)
    assert not doc.xpath("//iframe")


@pytest.mark.parametrize("name", ["example", "scripts"])
def test_no_page_loads_anything_from_another_host(name: str,
                                                  request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    host = urlsplit(load_config(built.site).base_url).netloc
    for page in (p for p in built.files() if p.endswith(".html")):
        doc = built.html(page)
        assert not doc.xpath("//iframe | //embed | //object"), page
        loaded = doc.xpath('//link[not(@rel="alternate") and not(@rel="canonical")]/@href'
                           " | //script/@src | //img/@src | //video/@src | //audio/@src"
                           " | //video/@poster | //source/@src")
        loaded += [part.split()[0] for value in doc.xpath("//img/@srcset | //source/@srcset")
                   for part in value.split(",") if part.strip()]
        loaded += meta(doc, "og:image")
        for url in loaded:
            assert urlsplit(url).netloc in ("", host), f"{page} loads {url}"


@pytest.mark.parametrize("name", ["example", "scripts"])
def test_article_page_weight_stays_small(name: str, request: pytest.FixtureRequest) -> None:
    """HTML (with its inline scripts) and CSS, gzipped, share links and meta included:
    everything but the article's own text, which is the editors' to size."""
    built: Built = request.getfixturevalue(name)
    css = next((built.output / "assets").glob("style.*.css")).read_bytes()
    for page in articles(built):
        doc = built.html(page)
        for body in doc.xpath('//div[@class="body"]'):
            body.clear()
        html = lxml.html.tostring(doc, encoding="utf-8")
        total = len(gzip.compress(html, 9, mtime=0)) + len(gzip.compress(css, 9, mtime=0))
        assert total <= 8000, f"{page}: {total} bytes gzipped"


# Responsive images, without metadata


@pytest.mark.parametrize("name", ["example", "scripts"])
def test_no_published_image_keeps_exif_gps_or_xmp(name: str,
                                                  request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    published = [p for p in built.output.rglob("*") if p.suffix.lower() in RASTER]
    assert published
    for path in published:
        with Image.open(path) as image:
            exif = image.getexif()
            assert not exif.get_ifd(GPS_IFD), f"{path} keeps GPS"
            assert not dict(exif), f"{path} keeps EXIF"
            assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info, path
        assert b"<x:xmpmeta" not in path.read_bytes()


def test_fixture_photos_do_carry_gps(scripts: Built, example: Built) -> None:
    sources = [scripts.site / "content/en/news/wells/photo.jpg",
               scripts.site / "content/en/news/wells/tank.png",
               scripts.site / "static/images/banner.jpg"]
    sources += list((example.site / "content").rglob("*.jpg"))
    for source in sources:
        with Image.open(source) as image:
            assert image.getexif().get_ifd(GPS_IFD), f"{source}: the test needs GPS to strip"


def test_exif_orientation_is_applied(scripts: Built) -> None:
    source = scripts.site / "content/en/news/wells/photo.jpg"
    with Image.open(source) as original:
        assert original.size == (800, 600) and original.getexif()[0x0112] == 6
    with Image.open(scripts.output / "en/news/wells/photo.jpg") as published:
        assert published.size == (600, 800), "turned upright, as cameras meant it"
    hero = scripts.html("en/news/wells/index.html").xpath("//picture//img[@class='hero']")[0]
    assert (hero.get("width"), hero.get("height")) == ("600", "800")
    site = linked_site(scripts.site)
    assert site.pages["en/news/wells"].image_size == (600, 800)


def test_pictures_have_webp_sources_srcset_and_sizes(scripts: Built) -> None:
    doc = scripts.html("en/news/wells/index.html")
    pictures = doc.xpath("//main//picture")
    assert len(pictures) == 2, "the hero and the image in the body"
    hero, body = pictures
    for picture in pictures:
        [source] = picture.xpath("source")
        [img] = picture.xpath(".//img")  # libxml2 does not know <source> is void
        assert source.get("type") == "image/webp"
        assert source.get("sizes") == img.get("sizes")
        for value, kind in ((source.get("srcset"), "WEBP"), (img.get("srcset"), None)):
            for candidate in value.split(", "):
                url, width = candidate.split()
                with Image.open(local_file(scripts, url)) as file:
                    assert f"{file.width}w" == width
                    assert kind is None or file.format == kind
        assert img.get("width") and img.get("height") and img.get("alt")
        assert img.get("decoding") == "async"
    assert hero.xpath(".//img/@fetchpriority") == ["high"]
    assert not hero.xpath(".//img/@loading"), "the hero is above the fold"
    assert body.xpath(".//img/@loading") == ["lazy"]
    assert body.xpath(".//img/@src")[0].endswith(".png")


def test_translations_show_the_image_they_inherit(scripts: Built) -> None:
    hero = scripts.html("ar/news/wells/index.html").xpath("//picture//img[@class='hero']")[0]
    assert hero.get("src").startswith("/en/news/wells/photo-600w-")
    assert local_file(scripts, hero.get("src")).is_file()
    site = linked_site(scripts.site)
    card = cards.article_card(site, site.pages["ar/news/wells"])
    assert card.background == scripts.site / "content/en/news/wells/photo.jpg"


def test_renditions_are_capped_at_the_original_width(scripts: Built) -> None:
    widths = {int(m) for m in re.findall(r"banner-(\d+)w-", " ".join(scripts.files()))}
    assert widths == {min(width, 1000) for width in imaging.WIDTHS}  # 1000 px wide
    assert max(widths) == 1000


# Caches and determinism


def test_a_second_build_draws_no_card_and_output_is_identical(tmp_path: Path) -> None:
    first = build_copy(FIXTURES / "scripts", tmp_path / "one")
    folder = first.site / ".newshub-cache" / "cards"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(before) == 13, "7 articles and 6 language homes"
    fresh = tmp_path / "fresh-output"
    result = build(load_config(first.site), fresh)
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert after == before, "every card came from the cache; none was drawn again"
    assert result.counts["card"] == 13
    for card in first.output.rglob("card.jpg"):
        assert (fresh / card.relative_to(first.output)).read_bytes() == card.read_bytes()

    other = build_copy(FIXTURES / "scripts", tmp_path / "two")
    assert {p.name for p in (other.site / ".newshub-cache" / "cards").iterdir()} == \
        set(before), "keys come from contents, not from where the site is"
    for card in first.output.rglob("*.jpg"):
        assert (other.output / card.relative_to(first.output)).read_bytes() == \
            card.read_bytes(), "same input, same bytes, even with an empty cache"

    article = first.site / "content/ru/news/wells.md"
    article.write_text(article.read_text(encoding="utf-8").replace("38", "39"),
                       encoding="utf-8")
    build(load_config(first.site), fresh)
    drawn = {p.name for p in folder.iterdir()} - set(before)
    assert len(drawn) == 1, "only the changed article's card is drawn"


def test_a_replaced_photo_gets_new_renditions_and_pages_follow(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "scripts", tmp_path)
    banner = built.site / "static/images/banner.jpg"
    Image.new("RGB", (1200, 400), (20, 90, 160)).save(banner)
    build(load_config(built.site), built.output)
    doc = built.html("ru/news/wells/index.html")
    [hero] = doc.xpath("//picture//img[@class='hero']")
    assert (hero.get("width"), hero.get("height")) == ("1200", "400")
    for value in doc.xpath("//picture//img/@srcset | //picture/source/@srcset"):
        for candidate in value.split(", "):
            assert local_file(built, candidate.split()[0]).is_file(), candidate


def test_images_are_cached_by_content(scripts: Built) -> None:
    folder = scripts.site / ".newshub-cache" / "images"
    names = sorted(p.name for p in folder.iterdir())
    site = linked_site(scripts.site)
    page = site.pages["en/news/wells"]
    [photo] = [r for r in page.resources if r.name == "photo.jpg"]
    assert imaging.published_key(photo) in names
    data = imaging.published_bytes(photo, folder)
    assert data == (scripts.output / "en/news/wells/photo.jpg").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == names, "served from the cache"


# Without Raqm, and with glyphs no font has


def test_without_raqm_the_build_says_so_once(scripts: Built) -> None:
    site = linked_site(scripts.site)
    warnings = [str(p) for p in cards.problems(site, shaped=False)]
    assert len([w for w in warnings if "Raqm" in w]) == 1
    assert "unshaped" in warnings[0] and "libfribidi" in warnings[0]
    assert not [w for w in cards.problems(site, shaped=True) if "Raqm" in w]
    card = cards.article_card(site, site.pages["ar/news/wells"])
    basic = cards.draw(cards.Card(**{**_fields(card), "shaped": False}))
    assert basic.size == (1200, 630), "cards are still drawn, in basic layout"


def test_a_title_no_font_can_draw_is_reported(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "scripts", site)
    article = site / "content/en/news/wells/index.md"
    article.write_text(article.read_text(encoding="utf-8").replace(
        "Wells restored", "Wells \U0002b740 restored"), encoding="utf-8")
    result = build(load_config(site), tmp_path / "out")
    messages = [str(p) for p in result.warnings if "share card" in p.message]
    assert len(messages) == 1 and "content/en/news/wells/index.md" in messages[0]
    assert "\U0002b740" in messages[0]


# Feeds


def test_feeds_carry_an_image_with_its_real_length(scripts: Built) -> None:
    """The article's own image when it has one, else its share card."""
    photo = "https://cards.example.org/en/news/wells/photo.jpg"
    card = "https://cards.example.org/en/news/appeal/card.jpg"
    rss = feedparser.parse((scripts.output / "en/rss.xml").read_bytes())
    found = {entry.link: entry.enclosures for entry in rss.entries}
    [with_photo] = found["https://cards.example.org/en/news/wells/"]
    [with_card] = found["https://cards.example.org/en/news/appeal/"]
    assert (with_photo.href, with_photo.type) == (photo, "image/jpeg")
    assert (with_card.href, with_card.type) == (card, "image/jpeg")
    for enclosure in (with_photo, with_card):
        assert int(enclosure.length) == local_file(scripts, enclosure.href).stat().st_size
    atom = feedparser.parse((scripts.output / "en/atom.xml").read_bytes())
    assert sorted(link.href for entry in atom.entries for link in entry.links
                  if link.rel == "enclosure") == [card, photo]
    document = json.loads((scripts.output / "en/feed.json").read_text(encoding="utf-8"))
    assert sorted(item["image"] for item in document["items"]) == [card, photo]


def test_without_cards_previews_use_the_article_image(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "scripts", tmp_path, "--no-cards")
    assert built.code == 0
    assert not [name for name in built.files() if name.endswith("card.jpg")]
    english = built.html("en/news/wells/index.html")
    assert meta(english, "og:image") == ["https://cards.example.org/en/news/wells/photo.jpg"]
    assert meta(english, "og:image:width") == ["600"]
    assert meta(english, "twitter:card") == ["summary_large_image"]
    appeal = built.html("en/news/appeal/index.html")
    assert meta(appeal, "og:image") == [] and meta(appeal, "twitter:card") == ["summary"]
    rss = feedparser.parse((built.output / "en/rss.xml").read_bytes())
    found = {entry.link: entry.get("enclosures", []) for entry in rss.entries}
    assert found["https://cards.example.org/en/news/appeal/"] == []
    assert not (built.site / ".newshub-cache" / "cards").exists()
