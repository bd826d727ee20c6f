"""Share cards: a 1200 by 630 JPEG for every article and every language home, with the
title set in the page's own script (Arabic joined right to left, Devanagari
conjuncts, Chinese wrapped between characters) over the brand colour or the
article's photo.

Cards are queued work. Planning names each card and its key, a hash of everything
that shapes it (texts, language, fonts, background, brand, layout version); the
render phase makes the bytes only when ``.newshub-cache/cards/<key>.jpg`` is
missing, so a rebuild with nothing changed draws no card.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cache, lru_cache, partial
from pathlib import Path
from urllib.parse import urlsplit

import PIL
from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from generator import imaging, typeset
from generator.config import SiteConfig
from generator.errors import Problem, warning
from generator.i18n import localised_date
from generator.model import Page, Site
from generator.render import Job
from generator.theme import BUNDLED_THEMES, DEFAULT_THEME, theme_files
from generator.views import card_path, derived, section_name

WIDTH, HEIGHT = 1200, 630
LAYOUT_VERSION = 4  # bump when the drawing changes, so cached cards are drawn again
MAX_BYTES = 300_000  # WhatsApp shows no preview for larger images
QUALITIES = (86, 80, 72, 64, 56, 48)
PAD = 72
MARK = 56  # logo box
TITLE_SIZES = (76, 72, 68, 64, 60, 56, 52, 48, 44, 40)
TITLE_BOTTOM = 500
TITLE_TOP = 176
FONT_FILES = ("NotoSans-Bold.ttf", "NotoSansArabic-Bold.ttf", "NotoSansDevanagari-Bold.ttf",
              "NotoSansCJKsc-Bold-GB2312.otf")  # Latin, Greek and Cyrillic; Arabic and Persian
DEFAULT_FONTS = tuple(BUNDLED_THEMES / DEFAULT_THEME / "fonts" / n for n in FONT_FILES)
DEFAULT_BRAND = "#0b6e4f"
WHITE = (255, 255, 255)
LEADING = {"NotoSansArabic-Bold.ttf": 1.45, "NotoSansDevanagari-Bold.ttf": 1.4}  # tall marks
FOOT = 580  # baseline of the date and host line
NO_RAQM = ("Pillow cannot shape text here (no Raqm layout: libraqm/FriBiDi missing), so "
           "share cards are drawn unshaped: Arabic, Persian and Hindi titles will look "
           "broken. Install FriBiDi (Debian: apt-get install libfribidi0) or a Pillow "
           "built with libraqm, then rebuild")


@dataclass(frozen=True, slots=True)
class Card:
    """Everything one card shows; its hash is the card's cache key."""

    path: str  # in the output folder
    lang: str
    direction: str
    title: str
    kicker: str  # section name, above the title
    meta: str  # date, or the language's description on a home card
    organisation: str
    host: str
    brand_color: str
    fonts: tuple[Path, ...]
    shaped: bool  # drawn with Raqm
    background: Path | None = None
    logo: Path | None = None


FILES = ("fonts", "background", "logo")  # in the key by content, not by where they are
KEY_FIELDS = tuple(f.name for f in fields(Card) if f.name not in ("path", *FILES))


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    if not site.config.share_cards:
        return
    folder, digest_of = _folder(site), file_digests(site)
    for lang in site.config.language_codes:
        yield _job(home_card(site, lang), folder, digest_of)
    articles = [page for page in site.pages.values() if page.kind == "article"]
    known = _remembered(site)
    known.forget_beyond(len(articles))
    for page in articles:
        yield known.job(page, partial(_article_job, site, page))


def article_job(site: Site, page: Page) -> Job:
    """The article's card job (its key and bytes): remembered between builds while its
    page record and the card settings stay the same (feeds name the same card)."""
    return _remembered(site).job(page, partial(_article_job, site, page))


def _article_job(site: Site, page: Page) -> Job:
    return _job(article_card(site, page), _folder(site), file_digests(site))


def _folder(site: Site) -> Path:
    return derived(site, ("card folder",), partial(imaging.cache_dir, site.config, "cards"))


def _remembered(site: Site) -> _RememberedJobs:
    """The remembered card jobs for this build's card settings (looked up once a build)."""
    return derived(site, ("card jobs",), partial(_jobs_for_settings, site))


def _jobs_for_settings(site: Site) -> _RememberedJobs:
    digest_of = file_digests(site)
    fonts, logo = _card_fonts(site), _card_logo(site)
    return _REMEMBERED.for_settings((site.config, tuple(map(digest_of, fonts)),
                                     digest_of(logo) if logo else ""))


def _job(card: Card, folder: Path, digest_of: Callable[[Path], str]) -> Job:
    return Job(card.path, "card", card.lang, produce=partial(card_bytes, card, folder),
               key=key(card, digest_of))


class _RememberedJobs:
    """Each article's card job, kept while its page record and the card settings (the
    configuration, the font and logo bytes) stay the same: a long-running ``serve``
    plans 10,000 cards after every save, and a page record that is the very same object
    was made from unchanged files (anything a card shows is in it or in the settings)."""

    def __init__(self) -> None:
        self.settings: object = None
        self.jobs: dict[int, tuple[Page, Job]] = {}

    def for_settings(self, settings: object) -> _RememberedJobs:
        if settings != self.settings:
            self.settings, self.jobs = settings, {}
        return self

    def forget_beyond(self, pages: int) -> None:
        """Start afresh once pages that left the site (or changed) crowd the memory."""
        if len(self.jobs) > 2 * pages + 100:
            self.jobs = {}

    def job(self, page: Page, make: Callable[[], Job]) -> Job:
        entry = self.jobs.get(id(page))
        if entry is None or entry[0] is not page:
            entry = self.jobs[id(page)] = (page, make())
        return entry[1]


_REMEMBERED = _RememberedJobs()


def article_card(site: Site, page: Page) -> Card:
    config = site.config
    return _card(config, page.lang, card_path(config, page, page.lang), page.title,
                 kicker=section_name(config, page.section, page.lang),
                 meta=localised_date(page.date, page.lang,
                                     digits=config.language(page.lang).digits),
                 background=imaging.image_source(config, page), logo=_card_logo(site),
                 fonts=_card_fonts(site))


def home_card(site: Site, lang: str) -> Card:
    config = site.config
    language = config.language(lang)
    return _card(config, lang, card_path(config, None, lang), language.title or config.title,
                 kicker="", meta=language.description or config.description, background=None,
                 logo=_card_logo(site), fonts=_card_fonts(site))


def _card_logo(site: Site) -> Path | None:
    """The organisation's logo file when it is a raster image (looked up once a build)."""
    return derived(site, ("card logo",), partial(_logo_file, site.config))


def _card_fonts(site: Site) -> tuple[Path, ...]:
    return derived(site, ("card fonts",), partial(font_files, site.config))


def _logo_file(config: SiteConfig) -> Path | None:
    logo = config.root / "static" / config.organisation.logo.lstrip("/")
    return logo if config.organisation.logo and imaging.is_raster(logo) and logo.is_file() \
        else None


def file_digests(site: Site) -> Callable[[Path], str]:
    """``imaging.digest`` remembered for the rest of the build: every card names the
    same fonts and logo."""
    known: dict[Path, str] = derived(site, ("card files",), dict)

    def digest_of(path: Path) -> str:
        if path not in known:
            known[path] = imaging.digest(path)
        return known[path]

    return digest_of


def _card(config: SiteConfig, lang: str, site_path: str, title: str, *, kicker: str,
          meta: str, background: Path | None, logo: Path | None,
          fonts: tuple[Path, ...]) -> Card:
    return Card(
        path=site_path.lstrip("/"), lang=lang, direction=config.language(lang).direction,
        title=title, kicker=kicker, meta=meta, organisation=config.organisation.name_in(lang),
        host=urlsplit(config.base_url).netloc, brand_color=config.brand_color,
        fonts=fonts, shaped=typeset.raqm_available(),
        background=background if background and imaging.is_raster(background) else None,
        logo=logo,
    )


def font_files(config: SiteConfig) -> tuple[Path, ...]:
    """The card fonts, each from the first theme layer that has it (a site's own
    ``themes/<name>/fonts/`` replaces a font file by file)."""
    fonts = theme_files(config, "fonts")
    return tuple(fonts.get(name, default) for name, default in zip(FONT_FILES, DEFAULT_FONTS,
                                                                   strict=True))


def key(card: Card, digest_of: Callable[[Path], str] = imaging.digest) -> str:
    """A hash of everything that shapes the card: its texts and settings, and the
    contents (not the paths) of its fonts, background and logo."""
    files = tuple(digest_of(p) if p else "" for p in (*card.fonts, card.background, card.logo))
    return _hashed(card, files)


@lru_cache(maxsize=1 << 15)
def _hashed(card: Card, files: tuple[str, ...]) -> str:
    values = [str(getattr(card, name)) for name in KEY_FIELDS]
    seed = json.dumps([LAYOUT_VERSION, WIDTH, HEIGHT, QUALITIES, PIL.__version__, values,
                       list(files)], ensure_ascii=False)
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def card_bytes(card: Card, folder: Path) -> bytes:
    return imaging.cached(folder, key(card) + ".jpg", lambda: encode(draw(card)))


def encode(image: Image.Image) -> bytes:
    """JPEG at the best quality that stays under the preview size limit."""
    data = b""
    for quality in QUALITIES:
        buffer = io.BytesIO()
        # comment=b"": Pillow otherwise writes the comment of the photo the card was
        # drawn from (a JPEG's COM segment: a camera's, an editor's note).
        image.save(buffer, "JPEG", quality=quality, optimize=True, subsampling=0, comment=b"")
        data = buffer.getvalue()
        if len(data) < MAX_BYTES:
            break
    return data


def chain(fonts: tuple[Path, ...], text: str) -> tuple[Path, ...]:
    """The fonts with the one drawing most of the text's letters first."""
    letters = Counter(next((f for f in fonts if typeset.covers(f, c)), None)
                      for c in text if unicodedata.bidirectional(c) in ("L", "R", "AL"))
    head = max(fonts, key=lambda f: letters.get(f, 0))
    return (head, *(f for f in fonts if f != head))


def draw(card: Card) -> Image.Image:
    """The card's pixels: background, organisation, section, title, date, host, brand bar."""
    engine = typeset.layout_engine(card.shaped)
    image, ink = _background(card)
    canvas = ImageDraw.Draw(image)
    rtl = card.direction == "rtl"
    soft = (224, 224, 224) if ink == WHITE else (51, 51, 51)  # secondary text
    inner = WIDTH - 2 * PAD

    _mark(image, card, (WIDTH - PAD - MARK if rtl else PAD, 52), engine)
    org = _setter(card, card.organisation, engine)
    block = org.fit(card.organisation, inner - MARK - 20, 60, (32, 28, 24), 1)
    org.draw(canvas, block, PAD if rtl else PAD + MARK + 20, 52 + (MARK - block.height) // 2,
             inner - MARK - 20, ink)

    host = _setter(card, card.host, engine, "en", "ltr")
    block = host.fit(card.host, 420, 40, (26, 22), 1)
    host_width = round(block.lines[0].width) if block.lines else 0
    host.draw(canvas, block, PAD if rtl else WIDTH - PAD - host_width, FOOT - block.baseline,
              host_width, soft)
    meta = _setter(card, card.meta, engine)
    meta_width = inner - host_width - 40
    block = meta.fit(card.meta, meta_width, 40, (28, 24), 1)
    meta.draw(canvas, block, WIDTH - PAD - meta_width if rtl else PAD, FOOT - block.baseline,
              meta_width, soft)

    title = _setter(card, card.title, engine)
    block = title.fit(card.title, inner, TITLE_BOTTOM - TITLE_TOP, TITLE_SIZES, 4)
    top = TITLE_BOTTOM - block.height
    title.draw(canvas, block, PAD, top, inner, ink)
    if card.kicker:
        kicker = _setter(card, card.kicker, engine)
        block = kicker.fit(card.kicker, inner, 44, (28,), 1)
        kicker.draw(canvas, block, PAD, max(124, top - block.height), inner, soft)
    canvas.rectangle((0, HEIGHT - 14, WIDTH, HEIGHT), fill=_brand(card))
    return image.convert("RGB")


def _setter(card: Card, text: str, engine: ImageFont.Layout, lang: str = "",
            direction: str = "") -> typeset.Typesetter:
    fonts = chain(card.fonts, text)
    return typeset.Typesetter(fonts, lang or card.lang, direction or card.direction, engine,
                              LEADING.get(fonts[0].name, 1.22))


def _brand(card: Card) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(card.brand_color)[:3]  # type: ignore[return-value]
    except ValueError:
        return ImageColor.getrgb(DEFAULT_BRAND)[:3]  # type: ignore[return-value]


def _background(card: Card) -> tuple[Image.Image, tuple[int, int, int]]:
    """The photo darkened towards the text, or the brand colour; and the text colour."""
    photo = _photo(card.background) if card.background else None
    if photo is not None:
        base = ImageOps.fit(photo, (WIDTH, HEIGHT), Image.Resampling.LANCZOS).convert("RGBA")
        return Image.composite(_black(), base, _shade(120, 210)), WHITE
    brand = _brand(card)
    light = _luminance(brand) > 0.4
    return _plain(brand, light).copy(), (17, 17, 17) if light else WHITE


@cache
def _plain(brand: tuple[int, int, int], light: bool) -> Image.Image:
    """The brand colour, darkening towards the bottom (kept: most cards share it)."""
    base = Image.new("RGBA", (WIDTH, HEIGHT), (*brand, 255))
    return Image.composite(_black(), base, _shade(0, 40 if light else 90))


@cache
def _shade(top: int, bottom: int) -> Image.Image:
    """A vertical mask from ``top`` to ``bottom`` (0 keeps the image, 255 is black)."""
    return Image.linear_gradient("L").resize((WIDTH, HEIGHT)).point(
        lambda v: top + v * (bottom - top) // 255)


@cache
def _black() -> Image.Image:
    return Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 255))


def _photo(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as image:
            image.draft("RGB", (WIDTH, HEIGHT))  # decode a JPEG at a smaller scale: faster
            image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, Image.DecompressionBombError):
        return None


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _mark(image: Image.Image, card: Card, at: tuple[int, int],
          engine: ImageFont.Layout) -> None:
    """The organisation's raster logo, or a drawn mark with its initial (Pillow cannot
    draw SVG logos)."""
    logo = _logo(card.logo) if card.logo else None
    if logo is not None:
        image.alpha_composite(logo, (at[0] + (MARK - logo.width) // 2,
                                     at[1] + (MARK - logo.height) // 2))
        return
    canvas = ImageDraw.Draw(image)
    canvas.rounded_rectangle((at[0], at[1], at[0] + MARK, at[1] + MARK), radius=12,
                             fill=(255, 255, 255, 255))
    initial = card.organisation.strip()[:1].upper() or "·"
    setter = _setter(card, initial, engine)
    block = setter.block(initial, 34, MARK)
    width = round(block.lines[0].width) if block.lines else 0
    setter.draw(canvas, block, at[0] + (MARK - width) // 2, at[1] + (MARK - block.height) // 2,
                width, _brand(card))


def _logo(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as original:
            logo = ImageOps.exif_transpose(original).convert("RGBA")
    except (OSError, Image.DecompressionBombError):
        return None
    logo.thumbnail((MARK, MARK), Image.Resampling.LANCZOS)
    return logo


@lru_cache(maxsize=1 << 15)
def _missing(fonts: tuple[Path, ...], title: str) -> str:
    return typeset.missing(fonts, title)  # the same titles, build after build


def problems(site: Site, shaped: bool | None = None) -> list[Problem]:
    """One warning when Raqm is missing; one per card title with characters no font has."""
    if not site.config.share_cards:
        return []
    shaped = typeset.raqm_available() if shaped is None else shaped
    found = [] if shaped else [warning(None, None, NO_RAQM)]
    fonts = font_files(site.config)
    for page in site.pages.values():
        if page.kind != "article":
            continue
        missing = _missing(fonts, page.title)
        if missing:
            found.append(warning(page.source, None, f"the share card cannot draw {missing!r} "
                                                    "(no card font has it): it shows as boxes"))
    return found
