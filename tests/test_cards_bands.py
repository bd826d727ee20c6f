"""Share cards encoded in bands: a card on its language's frame encodes only the rows of
blocks its own texts touch and takes the others from the frame, and the file is byte
for byte the one encoding the whole card gives. Read back with Pillow."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageDraw, ImageFont

from generator import fonts, imaging, jpeg, typeset
from generator.model import Site
from generator.outputs import cards
from tests.conftest import FIXTURES, Built, build_copy, linked_site

LATIN = next(p for p in cards.DEFAULT_FONTS if p.name == "NotoSans-Bold.ttf")


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_copy(FIXTURES / "scripts", tmp_path_factory.mktemp("scripts"))


def every_card(site: Site) -> list[cards.Card]:
    return [*(cards.home_card(site, lang) for lang in site.config.language_codes),
            *(cards.article_card(site, page) for page in site.pages.values()
              if page.kind == "article")]


def _gradient() -> Image.Image:
    return Image.linear_gradient("L").resize((cards.WIDTH, cards.HEIGHT)).convert("RGB")


def test_a_band_encoded_alone_replaces_the_same_rows_of_the_whole_image() -> None:
    base = _gradient()
    image = base.copy()
    text = ImageFont.truetype(str(LATIN), 76)
    ImageDraw.Draw(image).text((72, 300), "Wells reach 38 villages", font=text,
                               fill=(255, 255, 255), anchor="ls")
    ImageDraw.Draw(image).rectangle((0, 620, 40, 630), fill=(200, 0, 0))  # the last rows
    difference = ImageChops.difference(image, base)
    touched = {row for row in range(40) if difference.crop(
        (0, row * jpeg.ROW, image.width, (row + 1) * jpeg.ROW)).getbbox() is not None}
    found = jpeg.bands(touched)
    assert [band.stop for band in found][-1] == 40 and len(found) == 2
    bands = {band.start: jpeg.rows(jpeg.encode(image.crop(
        (0, band.start * jpeg.ROW, image.width, min(image.height, band.stop * jpeg.ROW))), 86))
        for band in found}
    whole = jpeg.encode(image, 86)
    assert jpeg.splice(jpeg.rows(jpeg.encode(base, 86)), bands) == whole
    assert jpeg.splice(jpeg.rows(whole), {}) == whole
    assert len(jpeg.rows(whole).rows) == 40, "one restart interval per 16 rows"
    with Image.open(io.BytesIO(whole)) as decoded:
        assert decoded.size == image.size and decoded.info.get("comment", b"") == b""


def test_a_band_outside_the_image_is_refused() -> None:
    base = jpeg.rows(jpeg.encode(_gradient(), 86))
    band = jpeg.rows(jpeg.encode(_gradient().crop((0, 0, cards.WIDTH, 32)), 86))
    with pytest.raises(ValueError, match="outside"):
        jpeg.splice(base, {39: band})


def test_runs_are_placed_glyph_for_glyph_as_imagedraw_text_draws_them() -> None:
    setter = typeset.Typesetter((LATIN,), "en", "ltr", typeset.layout_engine())
    block = setter.fit("Wells reach 38 villages in the dry north", 700, 300, (76, 60), 3)
    drawn, stamped = _gradient(), _gradient()
    canvas = ImageDraw.Draw(drawn)
    for number, line in enumerate(block.lines):
        x: float = 100.5
        for run in line.runs:
            canvas.text((x, 50 + block.baseline + number * block.line_height), run.text,
                        font=typeset.font(run.font, block.size, setter.engine),
                        fill=(17, 17, 17), anchor="ls",
                        **setter._options(run))
            x += setter.measure(run.text, block.size)
    setter.draw(ImageDraw.Draw(stamped), block, 100.5, 50, 700, (17, 17, 17))  # type: ignore[arg-type]
    assert ImageChops.difference(drawn, stamped).getbbox() is None


@pytest.mark.parametrize("at", [(100, 60), (-50, 10), (900, 10), (100, -30), (-2000, 0)])
@pytest.mark.parametrize("fill", [(255, 255, 255), (17, 17, 17), (11, 110, 79)])
def test_a_mark_is_filled_as_imagedraw_fills_its_mask_even_cut_by_the_edges(
        at: tuple[int, int], fill: tuple[int, int, int]) -> None:
    mask, _offset = ImageFont.truetype(str(LATIN), 76).getmask2("Wells reach", "L",
                                                                 anchor="ls")
    drawn, stamped = (_gradient().crop((0, 0, cards.WIDTH, 100)) for _ in range(2))
    canvas = ImageDraw.Draw(drawn)
    canvas.draw.draw_bitmap(at, mask, canvas.draw.draw_ink(fill))
    typeset.stamp(ImageDraw.Draw(stamped), [typeset.Mark(*at, mask)], fill)
    assert drawn.tobytes() == stamped.tobytes()


def test_cards_on_a_frame_encode_only_the_bands_their_texts_touch(
        scripts: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    site = linked_site(scripts.site)
    home = cards.home_card(site, "en")
    cards.card_jpeg(home)  # the frame, encoded once
    heights: list[int] = []
    encode = jpeg.encode

    def counted(image: Image.Image, quality: int) -> bytes:
        heights.append(image.height)
        return encode(image, quality)

    monkeypatch.setattr(jpeg, "encode", counted)
    data = cards.card_jpeg(home)
    assert heights and sum(heights) < cards.HEIGHT / 2, "the frame's rows are not encoded again"
    monkeypatch.undo()
    assert data == cards.encode(cards.draw(home))


def test_every_card_is_the_whole_card_encoded_and_published_so(scripts: Built) -> None:
    site = linked_site(scripts.site)
    drawn = every_card(site)
    assert any(card.background for card in drawn) and any(not c.background for c in drawn)
    for card in drawn:
        data = cards.card_jpeg(card)
        assert data == cards.encode(cards.draw(card)), card.path
        assert (scripts.output / card.path).read_bytes() == data, card.path


def test_two_runs_give_the_same_cards_whatever_was_remembered(scripts: Built,
                                                              tmp_path: Path) -> None:
    """A second build in a fresh folder (empty caches) publishes the same bytes, and a
    card is the same drawn first or after every other (frames and glyphs remembered)."""
    other = build_copy(FIXTURES / "scripts", tmp_path)

    def hashes(output: Path) -> dict[str, str]:
        return {p.relative_to(output).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(output.rglob("card.jpg"))}

    assert len(hashes(scripts.output)) == 13
    assert hashes(scripts.output) == hashes(other.output)
    site = linked_site(scripts.site)
    drawn = every_card(site)
    cards.forget_frames()
    typeset.forget_fonts()
    alone = [cards.card_jpeg(card) for card in drawn]
    after = [cards.card_jpeg(card) for card in reversed(drawn)][::-1]
    assert alone == after


# A first build reads no bundled font's tables


def test_the_shipped_coverage_is_what_the_bundled_fonts_map() -> None:
    shipped = json.loads(fonts.SHIPPED.read_text(encoding="utf-8"))
    assert shipped == fonts.shipped_records(cards.DEFAULT_FONTS), (
        "a bundled font changed: write its coverage again with .venv/bin/python -c "
        "'from generator import fonts; from generator.outputs import cards; "
        "fonts.write_shipped(cards.DEFAULT_FONTS)'")


def test_a_first_build_takes_the_bundled_fonts_coverage_from_the_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "scripts", site)
    read: list[Path] = []
    original = fonts._read

    def reading(path: Path, index: int) -> object:
        read.append(path)
        return original(path, index)

    monkeypatch.setattr(fonts, "_read", reading)
    for face in cards.DEFAULT_FONTS:  # as a new process knows them: not at all
        fonts._INFO.pop((face, 0), None)
        fonts._BY_DIGEST.pop((imaging.digest(face), 0), None)
    cards._BOOK[:] = [None, None]
    book = cards.card_fonts(linked_site(site))
    assert not set(read) & set(cards.DEFAULT_FONTS)
    assert {face.family for face in book.theme} >= {"Noto Sans", "Noto Sans Arabic"}
    kept = {p.name for p in (site / ".newshub-cache/fonts").iterdir()}
    assert len(kept) == 4, "kept in the site's cache as a face read from its tables is"


def test_the_bundled_truetype_faces_carry_no_hinting_instructions() -> None:
    """FreeType would run a font's instructions for every glyph of every title; the
    bundled faces have none (see themes/default/fonts/README.md)."""
    for path in cards.DEFAULT_FONTS:
        with TTFont(path, lazy=True) as face:
            if "glyf" in face:
                assert not {"fpgm", "prep", "cvt "} & set(face.keys()), path.name
                assert face["maxp"].maxSizeOfInstructions == 0, path.name


def test_cards_over_photos_remember_the_glyphs_their_shared_texts_repeat(
        scripts: Built) -> None:
    site = linked_site(scripts.site)
    photos = [card for card in every_card(site) if card.background]
    assert len(photos) >= 2
    typeset.forget_fonts()
    for card in photos:
        assert cards.card_jpeg(card) == (scripts.output / card.path).read_bytes()
    assert typeset._kept_glyphs.cache_info().hits >= len(photos) - 1, \
        "the host, on every card, is rasterised once"


def test_without_restart_markers_a_card_is_encoded_whole(
        scripts: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Pillow that ignores ``restart_marker_rows`` gives one piece per image: the card
    is then drawn and encoded whole, not spliced into a broken file."""
    def unmarked(image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=False,
                   subsampling=jpeg.SUBSAMPLING, comment=b"")
        return buffer.getvalue()

    monkeypatch.setattr(jpeg, "encode", unmarked)
    cards.forget_frames()
    site = linked_site(scripts.site)
    for card in every_card(site):
        data = cards.card_jpeg(card)
        assert data == cards.encode(cards.draw(card))
        with Image.open(io.BytesIO(data)) as decoded:
            decoded.load()
    cards.forget_frames()
