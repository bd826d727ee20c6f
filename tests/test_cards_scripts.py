"""Share cards in every script: fonts chosen by coverage (the site's, the theme's, then
the system's), right-to-left lines in the Unicode bidi order with brackets and quotes
mirrored, and every text on every card checked for characters no font has, the same
way by ``build --strict`` and ``check --strict``. Cards are read back with Pillow and
with each font's own character map."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from generator import bidi, fonts, imaging, typeset
from generator.build import build
from generator.cli import main
from generator.config import load_config
from generator.errors import SiteError
from generator.model import Site
from generator.outputs import cards
from tests.conftest import FIXTURES, Built, build_copy, linked_site

LANGUAGES = ("am", "he", "bn", "my", "km", "ko", "ja", "zh-Hant", "ta", "ur", "fa", "hi",
             "th", "ka", "hy", "si")
SCRIPT_FONTS = {  # a word of the family that draws most of each title
    "am": "ethiopic", "he": "hebrew", "bn": "bengali", "my": "myanmar", "km": "khmer",
    "ko": "kr", "ja": "jp", "zh-Hant": "tc", "ta": "tamil", "ur": "arabic", "fa": "arabic",
    "hi": "devanagari", "th": "thai", "ka": "georgian", "hy": "armenian", "si": "sinhala",
}
NOBODY = "\U0002b740"  # a CJK Extension D ideograph: neither newshub nor Debian has it
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _families() -> set[str]:
    listed, _ = fonts.system_fonts()
    return {item.face.family for item in listed}


SYSTEM_FONTS = pytest.mark.skipif(
    not {"Noto Sans Ethiopic", "Noto Sans Hebrew", "Noto Sans CJK JP", "Noto Sans Myanmar"}
    <= _families(),
    reason="Debian's fonts-noto-core and fonts-noto-cjk are not installed (make fonts, as "
           "root, installs them)")
RAQM = pytest.mark.skipif(not typeset.raqm_available(), reason="Pillow without Raqm")


@pytest.fixture(scope="module")
def every_script(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Sixteen languages, one article each, titled with a sentence in its script."""
    return build_copy(FIXTURES / "every-script", tmp_path_factory.mktemp("every-script"))


def _cards(site: Site, lang: str) -> list[cards.Card]:
    return [cards.article_card(site, site.pages[f"{lang}/news/flood"]),
            cards.home_card(site, lang)]


def _texts(placed: cards.Placed) -> str:
    return "".join(run.text for line in placed.block.lines for run in line.runs)


# Every script, every text


@SYSTEM_FONTS
def test_every_script_is_drawn_without_a_missing_glyph(every_script: Built) -> None:
    assert every_script.code == 0
    site = linked_site(every_script.site)
    assert not [str(p) for p in cards.problems(site)], "every text of every card has its font"
    for lang in LANGUAGES:
        for card in _cards(site, lang):
            with Image.open(every_script.output / card.path) as image:
                assert image.size == (1200, 630)
            placed = cards.layout(card)
            assert {text.field for text in placed} >= {"organisation", "host", "meta", "title"}
            for text in placed:
                for line in text.block.lines:
                    for run in line.runs:
                        boxes = [c for c in run.text if not fonts.covers(run.font, c)]
                        assert not boxes, f"{lang} {text.field}: {run.font} lacks {boxes}"
            [title] = [text for text in placed if text.field == "title"]
            assert sorted(_texts(title).replace(" ", "")) == \
                sorted(card.title.replace(" ", "")), "the whole title, nothing cut off"
            head = title.setter.chain[0]  # the font drawing most of the title's letters
            if card.path.endswith("flood/card.jpg"):
                assert SCRIPT_FONTS[lang] in head.family.lower().split(), (lang, head)


@SYSTEM_FONTS
def test_japanese_korean_and_traditional_chinese_get_their_own_cjk_faces(
        every_script: Built) -> None:
    """Han characters differ by language: the bundled Simplified Chinese font draws zh,
    Noto Sans CJK JP, KR and TC draw ja, ko and zh-Hant."""
    site = linked_site(every_script.site)
    book = cards.card_fonts(site)
    for lang, family in (("ja", "Noto Sans CJK JP"), ("ko", "Noto Sans CJK KR"),
                         ("zh-Hant", "Noto Sans CJK TC")):
        card = cards.article_card(site, site.pages[f"{lang}/news/flood"])
        [title] = [text for text in cards.layout(card) if text.field == "title"]
        assert {run.font.family for line in title.block.lines for run in line.runs
                if any(c.isalpha() for c in run.text)} == {family}
        assert "NotoSansCJKsc-Bold-GB2312.otf" in [face.name for face in book.base(lang)]
    assert book.base("zh")[:4] == book.theme[:4], "Simplified Chinese cards are unchanged"


@SYSTEM_FONTS
def test_cards_are_deterministic_and_named_by_their_fonts(every_script: Built,
                                                          tmp_path: Path) -> None:
    site = linked_site(every_script.site)
    used = set()
    for lang in ("he", "ja", "my"):
        card = cards.article_card(site, site.pages[f"{lang}/news/flood"])
        used.update(f"{imaging.digest(face.path)[:40]}-{face.index}.json" for face in card.fonts)
        assert (every_script.output / card.path).read_bytes() == \
            cards.encode(cards.draw(card)), "byte for byte, as published"
        assert any(face.path.is_relative_to("/usr/share/fonts") for face in card.fonts)
    other = build_copy(FIXTURES / "every-script", tmp_path)
    for card in every_script.output.rglob("card.jpg"):
        assert (other.output / card.relative_to(every_script.output)).read_bytes() == \
            card.read_bytes(), "same input and fonts, same bytes"
    kept = {p.name for p in (every_script.site / ".newshub-cache/fonts").iterdir()}
    assert used <= kept and len(used) >= 3, "each face's coverage is kept by its digest"


# Right to left: the bidi order and mirrored brackets


BIDI_SET = [  # (paragraph, logical text, what the line shows, left to right)
    ("rtl", "نیا انٹرفیس(API)", "(API)سیفرٹنا این"),
    ("rtl", "ہم نے نیا انٹرفیس(API) جاری کیا", "ایک یراج (API)سیفرٹنا این ےن مہ"),
    ("rtl", 'הארגון "MSF" פתח 3 מרפאות [2026]', '[2026] תואפרמ 3 חתפ "MSF" ןוגראה'),
    ("rtl", "שלום (world) עולם", "םלוע (world) םולש"),
    ("rtl", "קפה 12.5% ב-(2024)", "(2024)-ב 12.5% הפק"),
    ("rtl", "گزارش «پزشکان بدون مرز» درباره ۳۸ منبع آب",
     "بآ عبنم ۳۸ هرابرد «زرم نودب ناکشزپ» شرازگ"),
    ("rtl", "قال: «نعم (yes)»", "«(yes) معن» :لاق"),
    ("rtl", "فريق Médecins Sans Frontières يصلح 12 بئراً",
     "ًارئب 12 حلصي Médecins Sans Frontières قيرف"),
    ("rtl", "قیمت 12.5% بڑھ گئی", "یئگ ھڑب %12.5 تمیق"),  # after Arabic letters, 12.5 is
    # an Arabic number (rule W2) and % no European terminator: it goes to the left
    ("ltr", "The word שלום (peace) is 3 letters", "The word םולש (peace) is 3 letters"),
    ("ltr", "see (שלום עולם) now", "see (םלוע םולש) now"),
    ("ltr", "a (b שלום) c", "a (b םולש) c"),
]


@pytest.mark.parametrize(("direction", "text", "shown"), BIDI_SET)
def test_the_bidi_set_reads_in_the_expected_visual_order(direction: str, text: str,
                                                         shown: str) -> None:
    assert bidi.display(text, direction) == shown


@pytest.mark.parametrize(("direction", "text", "shown"), BIDI_SET)
def test_the_bidi_set_agrees_with_python_bidi(direction: str, text: str, shown: str) -> None:
    """python-bidi (the Rust unicode-bidi crate) orders but does not mirror."""
    oracle = pytest.importorskip("bidi")
    expected = oracle.get_display(text, base_dir="R" if direction == "rtl" else "L")
    assert bidi.display(text, direction, mirror=False) == expected


@RAQM
@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu Sans Bold (fonts-dejavu-core) "
                                                 "is not installed")
@pytest.mark.parametrize(("direction", "text", "shown"),
                         [case for case in BIDI_SET if "ہ" not in case[1]])
def test_lines_cut_into_runs_draw_what_fribidi_draws_for_the_whole_line(
        direction: str, text: str, shown: str) -> None:
    """With one font that has every letter, the typesetter's runs (cut at bidi levels,
    ordered by us) draw pixel for pixel what Raqm draws for the whole line at once
    (FriBiDi's own bidi, brackets mirrored by HarfBuzz)."""
    assert not [c for c in text if not fonts.covers(DEJAVU, c)]
    setter = typeset.Typesetter((DEJAVU,), "und", direction, ImageFont.Layout.RAQM)
    block = setter.block(text, 40, 4000)
    [line] = block.lines
    if any(run.direction != direction for run in line.runs):
        assert len(line.runs) > 1, "a mixed line is drawn in runs"
    drawn = Image.new("L", (1600, 100))
    setter.draw(ImageDraw.Draw(drawn), block, 0, 0, 1600, 255)
    face = ImageFont.truetype(str(DEJAVU), 40, layout_engine=ImageFont.Layout.RAQM)
    whole = Image.new("L", (1600, 100))
    x = 1600 - face.getlength(text, direction=direction) if direction == "rtl" else 0
    ImageDraw.Draw(whole).text((x, block.baseline), text, font=face, fill=255, anchor="ls",
                               direction=direction)
    assert ImageChops.difference(drawn, whole).getbbox() is None


def test_the_urdu_brackets_close_around_api() -> None:
    """The issue's "…انٹرفیس(API)" came out as "((API": the opening bracket joined the
    Latin run. Now both brackets are right-to-left runs of their own (bidi rule N0),
    drawn mirrored, and the line shows "(API)"."""
    arabic, latin = (next(p for p in cards.DEFAULT_FONTS if p.name == name)
                     for name in ("NotoSansArabic-Bold.ttf", "NotoSans-Bold.ttf"))
    chain = (arabic, latin)
    runs = typeset.display_order(typeset.split_runs("نیا انٹرفیس(API)", chain, "rtl"), "rtl")
    assert [(run.text, run.font, run.direction) for run in runs] == [
        (")", latin, "rtl"), ("API", latin, "ltr"), ("(", latin, "rtl"),
        ("نیا انٹرفیس", arabic, "rtl")]
    shown = "".join(bidi.display(run.text, run.direction) for run in runs)
    assert shown.startswith("(API)") and "((" not in shown
    if typeset.raqm_available():
        face = typeset.font(latin, 60, ImageFont.Layout.RAQM)
        for char, mirror in ((")", "("), ("(", ")")):
            assert bytes(face.getmask(char, direction="rtl")) == bytes(face.getmask(mirror)), \
                "Raqm draws a bracket in a right-to-left run as its mirror image"


def test_unshaped_right_to_left_runs_are_mirrored_and_keep_their_digits() -> None:
    setter = typeset.Typesetter(cards.DEFAULT_FONTS, "he", "rtl", ImageFont.Layout.BASIC)
    run = typeset.Run("(12 ב)", cards.DEFAULT_FONTS[0], "rtl", 1)
    assert setter._text(run) == "(ב 12)"


@RAQM
@SYSTEM_FONTS
def test_hebrew_and_persian_titles_are_drawn_as_raqm_draws_them(every_script: Built) -> None:
    """As for Arabic: each line of one run is Raqm's own right-to-left glyph run, set
    from the right edge; a line of several runs reads in the bidi order."""
    site = linked_site(every_script.site)
    for lang in ("he", "fa", "ur"):
        card = cards.article_card(site, site.pages[f"{lang}/news/flood"])
        [title] = [text for text in cards.layout(card) if text.field == "title"]
        block = title.block
        for line in block.lines:
            single = typeset.Block((line,), block.size, block.line_height, block.baseline)
            drawn = Image.new("L", (1200, 200))
            title.setter.draw(ImageDraw.Draw(drawn), single, 0, 0, 1056, 255)
            text = "".join(run.text for run in line.runs)
            if len(line.runs) == 1:
                face = typeset.font(line.runs[0].font, block.size, ImageFont.Layout.RAQM)
                reference = Image.new("L", (1200, 200))
                ImageDraw.Draw(reference).text(
                    (1056 - line.width, block.baseline), text, font=face, fill=255,
                    anchor="ls", direction="rtl", language=lang)
                assert ImageChops.difference(drawn, reference).getbbox() is None, lang
    ur = cards.article_card(site, site.pages["ur/news/flood"])
    [title] = [text for text in cards.layout(ur) if text.field == "title"]
    lines = ["".join(bidi.display(r.text, r.direction) for r in line.runs)
             for line in title.block.lines]
    assert any("(API)سیفرٹنا" in line for line in lines), "the issue's Urdu title"
    assert not any("((API" in line for line in lines)


# Fonts by coverage, from the site, the theme and the system


@SYSTEM_FONTS
def test_a_font_in_the_sites_theme_folder_draws_its_script_and_names_the_cards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without system fonts, a Hebrew title is boxes and says so; a Hebrew font put in
    the site's themes/default/fonts/ draws it, and a different font there redraws the
    Hebrew cards only (the font's bytes are in the card's key)."""
    hebrew, serif = _system_face("Noto Sans Hebrew"), _system_face("Noto Serif Hebrew")
    monkeypatch.setattr(fonts, "system_fonts", lambda: ((), "nowhere (test)"))
    site = _hebrew_site(tmp_path / "site")
    first = build(load_config(site), tmp_path / "out")
    warned = sorted(p.message for p in first.warnings if "share card" in p.message)
    assert len(warned) == 2
    assert warned[0].startswith("he: the article share card cannot draw")
    assert warned[1].startswith("he: the language home share card (static pages")
    assert "NotoSans-Bold.ttf" in warned[0] and "nowhere (test)" in warned[0]

    own = site / "themes/default/fonts"
    own.mkdir(parents=True)
    shutil.copy(hebrew, own / "MyHebrew-Bold.ttf")
    folder = site / ".newshub-cache/cards"
    before = {p.name for p in folder.iterdir()}
    second = build(load_config(site), tmp_path / "out")
    assert not [p for p in second.warnings if "share card" in p.message]
    card = cards.article_card(linked_site(site), linked_site(site).pages["he/news/clinics"])
    [title] = [text for text in cards.layout(card) if text.field == "title"]
    assert title.setter.chain[0].name == "MyHebrew-Bold.ttf"
    drawn = {p.name for p in folder.iterdir()} - before
    assert len(drawn) == 2, "the Hebrew article and home cards, not the English ones"

    shutil.copy(serif, own / "MyHebrew-Bold.ttf")
    before = {p.name for p in folder.iterdir()}
    build(load_config(site), tmp_path / "out")
    assert len({p.name for p in folder.iterdir()} - before) == 2, "a new font, new cards"


def _hebrew_site(root: Path) -> Path:
    (root / "content/en/news").mkdir(parents=True)
    (root / "content/he/news").mkdir(parents=True)
    (root / "site.toml").write_text(
        'base_url = "https://he.example.org/"\ntitle = "Relief"\n[organisation]\n'
        'name = "Relief"\n[languages.en]\ntitle = "Relief"\n[languages.he]\n'
        'title = "סיוע"\n', encoding="utf-8")
    for lang, title in (("en", "Three mobile clinics"), ("he", "שלוש מרפאות ניידות")):
        (root / f"content/{lang}/news/clinics.md").write_text(
            f'---\ntitle: "{title}"\ndate: 2026-05-06\n---\n\nText.\n', encoding="utf-8")
    return root


def _system_face(family: str) -> Path:
    listed, _ = fonts.system_fonts()
    return sorted((item.face for item in listed if item.face.family == family),
                  key=fonts.rank)[0].path


@SYSTEM_FONTS
def test_cards_fonts_names_preferred_families(tmp_path: Path) -> None:
    site = _hebrew_site(tmp_path / "site")
    settings = site / "site.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + '[cards]\nfonts = '
                        '["Noto Serif Hebrew", "No Such Family"]\n', encoding="utf-8")
    linked = linked_site(site)
    card = cards.article_card(linked, linked.pages["he/news/clinics"])
    [title] = [text for text in cards.layout(card) if text.field == "title"]
    assert title.setter.chain[0].family == "Noto Serif Hebrew"
    assert "bold" in title.setter.chain[0].style.lower(), "cards are set in bold"
    [unknown] = [str(p) for p in cards.problems(linked) if "No Such Family" in p.message]
    assert "site.toml" in unknown and "[cards] fonts" in unknown


@pytest.mark.parametrize("value", ['fonts = "Noto Sans"', "fonts = [1]", 'font = ["x"]'])
def test_cards_table_is_validated(tmp_path: Path, value: str) -> None:
    site = _hebrew_site(tmp_path / "site")
    settings = site / "site.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + f"[cards]\n{value}\n",
                        encoding="utf-8")
    with pytest.raises(SiteError, match="cards"):
        load_config(site)


@SYSTEM_FONTS
def test_without_fontconfig_the_font_folders_are_searched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)
    fonts.system_fonts.cache_clear()
    try:
        listed, where = fonts.system_fonts()
        assert "no fontconfig" in where and listed
        book = fonts.FontBook(cards.theme_faces(load_config(FIXTURES / "scripts")), ())
        faces = book.faces("he", "שלום Relief")
        assert any(ord("ש") in fonts.coverage(face) for face in faces)
        assert book.unavailable("he", "שלום") == ""
    finally:
        fonts.system_fonts.cache_clear()


def test_coverage_is_the_fonts_character_map() -> None:
    latin, arabic = cards.DEFAULT_FONTS[0], cards.DEFAULT_FONTS[1]
    assert fonts.covers(latin, "A") and not fonts.covers(latin, "ب")
    assert fonts.covers(arabic, "ب") and not fonts.covers(arabic, "A")
    assert fonts.covers(latin, "\u200f") and fonts.covers(latin, "\u202f"), \
        "direction marks and spaces never show a box"
    assert not fonts.covers(latin, NOBODY)


# One warning per language and kind of card; build and check agree


def test_every_card_text_is_checked_once_per_language_and_kind(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "scripts", site, ignore=shutil.ignore_patterns(".newshub-cache"))
    settings = site / "site.toml"
    text = settings.read_text(encoding="utf-8")
    text = text.replace('ru = "Новости"', f'ru = "Новости {NOBODY}"')
    text = text.replace('title = "Карточки помощи"',
                        f'title = "Карточки помощи"\ndescription = "Помощь {NOBODY}"')
    settings.write_text(text, encoding="utf-8")
    (site / "content/ru/news/second.md").write_text(
        f'---\ntitle: "Второй {NOBODY}"\ndate: 2026-05-07\n---\n\nТекст.\n',
        encoding="utf-8")
    result = build(load_config(site), tmp_path / "out")
    found = [p for p in result.warnings if "share card" in p.message]
    assert [p.message.split(":")[0] for p in found] == ["ru", "ru"], "one per kind"
    article, home = sorted(found, key=lambda p: "home" in p.message)
    assert article.message.startswith("ru: 2 article share cards cannot draw")
    assert "title" in article.message and "section" in article.message
    assert NOBODY in article.message
    assert home.path == site / "site.toml" and "description" in home.message
    assert "Fonts tried: NotoSans-Bold.ttf, NotoSansArabic-Bold.ttf" in article.message

    output = tmp_path / "cli-out"
    built = main(["build", "--site", str(site), "--output", str(output), "--quiet",
                  "--strict"])
    checked = main(["check", "--site", str(site), "--output", str(output), "--strict"])
    assert (built, checked) == (1, 1), "build --strict and check --strict agree"
    assert main(["check", "--site", str(site), "--output", str(output)]) == 0, \
        "warnings fail only under --strict"


def test_check_strict_passes_where_build_strict_passes(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "scripts", tmp_path, "--strict")
    assert built.code == 0
    assert main(["check", "--site", str(built.site), "--output", str(built.output),
                 "--strict"]) == 0
