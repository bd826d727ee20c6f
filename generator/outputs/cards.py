"""Share cards: a 1200 by 630 JPEG for every article and every language home, with the
title set in the page's own script (Arabic joined right to left, Devanagari
conjuncts, Chinese wrapped between characters) over the brand colour or the
article's photo.

Each card names the fonts its texts need (``fonts.FontBook``: the theme's, then the
system's for scripts the theme lacks), so a Hebrew or Amharic card is drawn in
Hebrew or Ethiopic letters, and every text a card shows is checked: one warning per
language and kind of card names the characters no font has.

Cards are queued work. Planning names each card and its key, a hash of everything
that shapes it (texts, language, the bytes of its fonts, background, brand, layout
version); the render phase makes the bytes only when ``.newshub-cache/cards/<key>.jpg``
is missing, so a rebuild with nothing changed draws no card.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache, lru_cache, partial
from pathlib import Path
from urllib.parse import urlsplit

import PIL
from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from generator import fonts, imaging, jpeg, typeset
from generator.config import CONFIG_FILE, SiteConfig
from generator.errors import Problem, warning
from generator.fonts import Face, FontBook
from generator.i18n import localised_date
from generator.model import Page, Site
from generator.render import Job
from generator.theme import BUNDLED_THEMES, DEFAULT_THEME, theme_candidates, theme_files
from generator.views import card_path, derived, section_name

WIDTH, HEIGHT = 1200, 630
LAYOUT_VERSION = 8  # bump when the drawing changes, so cached cards are drawn again
MAX_BYTES = 300_000  # WhatsApp shows no preview for larger images
QUALITIES = (86, 80, 72, 64, 56, 48)
FRAMES = 16  # shared backgrounds kept per process (a language's cards share one)
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
SCRIPT_LEADING = {  # by a word of the family's name: scripts with marks above and below
    "arabic": 1.45, "naskh": 1.45, "kufi": 1.45, "nastaliq": 1.9, "urdu": 1.9,
    "devanagari": 1.4, "bengali": 1.4, "gujarati": 1.4, "gurmukhi": 1.4, "oriya": 1.4,
    "tamil": 1.35, "telugu": 1.45, "kannada": 1.45, "malayalam": 1.4, "sinhala": 1.45,
    "thai": 1.45, "lao": 1.45, "khmer": 1.6, "myanmar": 1.7, "tibetan": 1.7,
    "ethiopic": 1.3, "hebrew": 1.3, "georgian": 1.3, "armenian": 1.3,
}
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
    fonts: tuple[Face, ...]  # what its texts need, in the order they are tried
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
        yield known.entry(page, partial(_article_entry, site, page))[1]


def paths(site: Site) -> Iterator[tuple[str, str, Page | None]]:
    """Each card ``plan`` makes: its path, language and article (None: a language
    home's), found without making a card (a server plans its cards after it answers)."""
    config = site.config
    if not config.share_cards:
        return
    for lang in config.language_codes:
        yield card_path(config, None, lang).lstrip("/"), lang, None
    for page in site.pages.values():
        if page.kind == "article":
            yield card_path(config, page, page.lang).lstrip("/"), page.lang, page


def home_job(site: Site, lang: str) -> Job:
    """A language home's card job, as ``plan`` makes it."""
    return _job(home_card(site, lang), _folder(site), file_digests(site))


def article_job(site: Site, page: Page) -> Job:
    """The article's card job (its key and bytes): remembered between builds while its
    page record and the card settings stay the same (feeds name the same card)."""
    return _remembered(site).entry(page, partial(_article_entry, site, page))[1]


def _article_entry(site: Site, page: Page) -> tuple[Card, Job]:
    card = article_card(site, page)
    return card, _job(card, _folder(site), file_digests(site))


def _folder(site: Site) -> Path:
    return derived(site, ("card folder",), partial(imaging.cache_dir, site.config, "cards"))


def _remembered(site: Site) -> _RememberedJobs:
    """The remembered card jobs for this build's card settings (looked up once a build)."""
    return derived(site, ("card jobs",), partial(_jobs_for_settings, site))


def _jobs_for_settings(site: Site) -> _RememberedJobs:
    digest_of = file_digests(site)
    book, logo = card_fonts(site), _card_logo(site)
    return _REMEMBERED.for_settings((site.config, book, digest_of(logo) if logo else ""))


def _job(card: Card, folder: Path, digest_of: Callable[[Path], str]) -> Job:
    return Job(card.path, "card", card.lang, produce=partial(card_bytes, card, folder),
               key=key(card, digest_of))


class _RememberedJobs:
    """Each article's card and job, kept while its page record and the card settings
    (the configuration, the fonts and logo bytes) stay the same: a long-running
    ``serve`` plans 10,000 cards after every save, and a page record that is the very
    same object was made from unchanged files (anything a card shows is in it or in the
    settings)."""

    def __init__(self) -> None:
        self.settings: object = None
        self.jobs: dict[int, tuple[Page, Card, Job]] = {}

    def for_settings(self, settings: object) -> _RememberedJobs:
        if settings != self.settings:
            self.settings, self.jobs = settings, {}
        return self

    def forget_beyond(self, pages: int) -> None:
        """Start afresh once pages that left the site (or changed) crowd the memory."""
        if len(self.jobs) > 2 * pages + 100:
            self.jobs = {}

    def entry(self, page: Page, make: Callable[[], tuple[Card, Job]]) -> tuple[Card, Job]:
        entry = self.jobs.get(id(page))
        if entry is None or entry[0] is not page:
            entry = self.jobs[id(page)] = (page, *make())
        return entry[1], entry[2]


_REMEMBERED = _RememberedJobs()


def article_card(site: Site, page: Page) -> Card:
    config = site.config
    return _card(config, page.lang, card_path(config, page, page.lang), page.title,
                 kicker=section_name(config, page.section, page.lang),
                 meta=localised_date(page.date, page.lang,
                                     digits=config.language(page.lang).digits),
                 background=imaging.image_source(config, page), logo=_card_logo(site),
                 book=card_fonts(site))


def home_card(site: Site, lang: str) -> Card:
    config = site.config
    language = config.language(lang)
    return _card(config, lang, card_path(config, None, lang), language.title or config.title,
                 kicker="", meta=language.description or config.description, background=None,
                 logo=_card_logo(site), book=card_fonts(site))


def _card_logo(site: Site) -> Path | None:
    """The organisation's logo file when it is a raster image (looked up once a build)."""
    return derived(site, ("card logo",), partial(_logo_file, site.config))


def card_fonts(site: Site) -> FontBook:
    """The fonts cards may use (looked up once a build, kept while they stay the same)."""
    return derived(site, ("card fonts",), partial(_font_book, site.config))


def _font_book(config: SiteConfig) -> FontBook:
    faces = theme_faces(config)
    folder = imaging.cache_dir(config, "fonts")
    settings = (tuple((face, imaging.digest(face.path)) for face in faces),
                config.cards.fonts, folder)
    if _BOOK[0] != settings:
        if _BOOK[0] is not None:
            typeset.forget_fonts()  # a font file may have changed in place
            forget_frames()
        _BOOK[:] = [settings, FontBook(faces, config.cards.fonts, folder)]
    return _BOOK[1]


_BOOK: list = [None, None]  # the last settings and their FontBook (for serve's builds)


def theme_faces(config: SiteConfig) -> tuple[Face, ...]:
    """The theme's card fonts: the site's own new files first, then newshub's four
    (each replaced by a site's file of the same name), then any other."""
    own = theme_candidates(config)[0] / "fonts"
    return fonts.theme_faces(theme_files(config, "fonts"), own, FONT_FILES)


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
          meta: str, background: Path | None, logo: Path | None, book: FontBook) -> Card:
    organisation = config.organisation.name_in(lang)
    host = config.share_host or urlsplit(config.base_url).netloc
    drawn = "\n".join((title, kicker, meta, organisation, host, _initial(organisation),
                       typeset.ELLIPSIS))
    return Card(
        path=site_path.lstrip("/"), lang=lang, direction=config.language(lang).direction,
        title=title, kicker=kicker, meta=meta, organisation=organisation, host=host,
        brand_color=config.brand_color, fonts=book.faces(lang, drawn),
        shaped=typeset.raqm_available(),
        background=background if background and imaging.is_raster(background) else None,
        logo=logo,
    )


def _initial(organisation: str) -> str:
    """What the drawn mark shows when the logo is not a raster image."""
    return organisation.strip()[:1].upper() or "·"


def key(card: Card, digest_of: Callable[[Path], str] = imaging.digest) -> str:
    """A hash of everything that shapes the card: its texts and settings, and the
    contents (not the paths) of its fonts (which face of a collection too),
    background and logo."""
    files = (*(f"{digest_of(face.path)}#{face.index}" for face in card.fonts),
             *(digest_of(p) if p else "" for p in (card.background, card.logo)))
    return _hashed(card, files)


@lru_cache(maxsize=1 << 15)
def _hashed(card: Card, files: tuple[str, ...]) -> str:
    values = [str(getattr(card, name)) for name in KEY_FIELDS]
    seed = json.dumps([LAYOUT_VERSION, WIDTH, HEIGHT, QUALITIES, PIL.__version__, values,
                       list(files)], ensure_ascii=False)
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def card_bytes(card: Card, folder: Path) -> bytes:
    return imaging.cached(folder, key(card) + ".jpg", partial(card_jpeg, card))


def encode(image: Image.Image) -> bytes:
    """JPEG at the best quality that stays under the preview size limit.

    Colour at half resolution (4:2:0, as the platforms that show cards store them) and
    libjpeg's standard Huffman tables: a card is smaller than at full colour resolution
    with optimised tables (4:4:4), and encoded in a third of the time. Each row of
    blocks is a restart interval (``jpeg``), so a card on a shared frame encodes only
    the rows its own texts touch."""
    data = b""
    for quality in QUALITIES:
        data = jpeg.encode(image, quality)
        if len(data) < MAX_BYTES:
            break
    return data


def card_jpeg(card: Card) -> bytes:
    """``encode(draw(card))``, byte for byte, with less work for a card on the brand
    colour: only the bands of rows its own texts (title, section, date) touch are
    drawn, on a crop of the language's frame, and encoded; the other rows are the
    frame's, encoded once per process."""
    photo = _photo(card.background) if card.background else None
    if photo is not None:
        return encode(_on_photo(card, photo))
    frame = _frame(_shared(card), _stamp(card.logo))
    marks = _own_marks(card, frame.ink, frame.host_width)
    touched = {row for mark, _fill in marks if mark.mask.size[0]
               for row in jpeg.block_rows(mark.y, mark.bottom, HEIGHT)}
    strips = []
    for band in jpeg.bands(touched):
        top, bottom = band.start * jpeg.ROW, min(HEIGHT, band.stop * jpeg.ROW)
        strip = frame.image.crop((0, top, WIDTH, bottom))
        canvas = ImageDraw.Draw(strip)
        for mark, fill in marks:
            if mark.y < bottom and mark.bottom > top:
                typeset.stamp(canvas, (mark,), fill, -top)
        strips.append((band.start, strip))
    data = b""
    for quality in QUALITIES:
        base = frame.rows(quality)
        coded = {first: jpeg.rows(jpeg.encode(strip, quality)) for first, strip in strips}
        if not jpeg.whole(base, HEIGHT) or not all(
                jpeg.whole(coded[first], strip.height) for first, strip in strips):
            return encode(draw(card))  # a Pillow that writes no restart markers
        data = jpeg.splice(base, coded)
        if len(data) < MAX_BYTES:
            break
    return data


def chain(fonts: tuple[Face | Path, ...], text: str) -> tuple[Face | Path, ...]:
    """The fonts with the one drawing most of the text's letters first."""
    letters = Counter(next((f for f in fonts if typeset.covers(f, c)), None)
                      for c in text if unicodedata.bidirectional(c) in ("L", "R", "AL"))
    head = max(fonts, key=lambda f: letters.get(f, 0))
    return (head, *(f for f in fonts if f != head))


@dataclass(frozen=True, slots=True)
class Placed:
    """One text of a card, set and placed: what ``draw`` draws (tests read its runs)."""

    field: str  # "title", "kicker", "meta", "organisation", "host" or "mark"
    setter: typeset.Typesetter
    block: typeset.Block
    left: int
    top: int
    width: int
    soft: bool = False  # in the secondary text colour


def layout(card: Card, initial: bool | None = None) -> list[Placed]:
    """Every text of the card set in its box: the mark's initial (when there is no
    raster logo), organisation, host, date (or the home's description), title, section."""
    shared = _shared_layout(card, initial)
    host = next(text.width for text in shared if text.field == "host")
    return [*shared, *_own_layout(card, host)]


def _shared_layout(card: Card, initial: bool | None = None) -> list[Placed]:
    """The texts every card of a language shows: the mark's initial, organisation, host."""
    engine = typeset.layout_engine(card.shaped)
    rtl = card.direction == "rtl"
    inner = WIDTH - 2 * PAD
    placed = []
    if initial is None:
        initial = card.logo is None or _logo(card.logo) is None
    if initial:
        at = (WIDTH - PAD - MARK if rtl else PAD, 52)
        letter = _initial(card.organisation)
        setter = _setter(card, letter, engine)
        block = setter.block(letter, 34, MARK)
        width = round(block.lines[0].width) if block.lines else 0
        placed.append(Placed("mark", setter, block, at[0] + (MARK - width) // 2,
                             at[1] + (MARK - block.height) // 2, width))
    org = _setter(card, card.organisation, engine)
    block = org.fit(card.organisation, inner - MARK - 20, 60, (32, 28, 24), 1)
    placed.append(Placed("organisation", org, block, PAD if rtl else PAD + MARK + 20,
                         52 + (MARK - block.height) // 2, inner - MARK - 20))

    host = _setter(card, card.host, engine, "en", "ltr")
    block = host.fit(card.host, 420, 40, (26, 22), 1)
    host_width = round(block.lines[0].width) if block.lines else 0
    placed.append(Placed("host", host, block, PAD if rtl else WIDTH - PAD - host_width,
                         FOOT - block.baseline, host_width, soft=True))
    return placed


def _own_layout(card: Card, host_width: int) -> list[Placed]:
    """The card's own texts: date (or the home's description), title, section."""
    engine = typeset.layout_engine(card.shaped)
    rtl = card.direction == "rtl"
    inner = WIDTH - 2 * PAD
    placed = []
    meta = _setter(card, card.meta, engine)
    meta_width = inner - host_width - 40
    block = meta.fit(card.meta, meta_width, 40, (28, 24), 1)
    placed.append(Placed("meta", meta, block, WIDTH - PAD - meta_width if rtl else PAD,
                         FOOT - block.baseline, meta_width, soft=True))

    title = _setter(card, card.title, engine)
    block = title.fit(card.title, inner, TITLE_BOTTOM - TITLE_TOP, TITLE_SIZES, 4)
    top = TITLE_BOTTOM - block.height
    placed.append(Placed("title", title, block, PAD, top, inner))
    if card.kicker:
        kicker = _setter(card, card.kicker, engine)
        block = kicker.fit(card.kicker, inner, 44, (28,), 1)
        placed.append(Placed("kicker", kicker, block, PAD, max(124, top - block.height), inner,
                             soft=True))
    return placed


def draw(card: Card) -> Image.Image:
    """The card's pixels: background, organisation, section, title, date, host, brand bar.

    What the cards of a language share on the brand colour (background, mark,
    organisation, host, brand bar) is drawn once per process (``_frame``); each card
    draws its own texts on a copy. Over a photo, a card draws them all."""
    photo = _photo(card.background) if card.background else None
    if photo is not None:
        return _on_photo(card, photo)
    frame = _frame(_shared(card), _stamp(card.logo))
    image = frame.image.copy()
    canvas = ImageDraw.Draw(image)
    for mark, fill in _own_marks(card, frame.ink, frame.host_width):
        typeset.stamp(canvas, (mark,), fill)
    return image


def _on_photo(card: Card, photo: Image.Image) -> Image.Image:
    """The card over its photo, darkened towards the bottom: every text drawn here (in
    RGB: the photo is never converted; the shared texts' glyphs are remembered)."""
    base = ImageOps.fit(photo, (WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    image, ink = Image.composite(_black("RGB"), base, _shade(120, 210)), WHITE
    host_width = _draw_shared(image, card, ink)
    canvas = ImageDraw.Draw(image)
    for mark, fill in _own_marks(card, ink, host_width):
        typeset.stamp(canvas, (mark,), fill)
    return image


def _own_marks(card: Card, ink: tuple[int, int, int],
               host_width: int) -> list[tuple[typeset.Mark, tuple[int, int, int]]]:
    """The card's own texts rasterised and placed, each with its colour (a section's
    and a date's glyphs are remembered: a language's cards repeat them)."""
    return [(mark, _soft(ink) if text.soft else ink)
            for text in _own_layout(card, host_width)
            for mark in text.setter.marks(text.block, text.left, text.top, text.width,
                                          keep=text.field != "title")]


@dataclass(frozen=True, slots=True)
class _Frame:
    """A plain card without its own texts, and what drawing them needs."""

    image: Image.Image  # RGB
    ink: tuple[int, int, int]
    host_width: int
    coded: dict[int, jpeg.Rows] = field(default_factory=dict, compare=False)

    def rows(self, quality: int) -> jpeg.Rows:
        """The frame encoded at ``quality``, cut into its rows of blocks (kept)."""
        found = self.coded.get(quality)
        if found is None:
            found = self.coded[quality] = jpeg.rows(jpeg.encode(self.image, quality))
        return found


def _shared(card: Card) -> Card:
    """The card without what only it shows: the same for every card of a language (and
    set of fonts), so the key of its frame."""
    return replace(card, path="", title="", kicker="", meta="", background=None)


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """A file's size and time: a logo changed in place (while serving) is a new frame."""
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


@lru_cache(maxsize=FRAMES)
def _frame(shared: Card, _logo_stamp: tuple[int, int] | None) -> _Frame:
    brand = _brand(shared)
    light = _luminance(brand) > 0.4
    image, ink = _plain(brand, light).copy(), (17, 17, 17) if light else WHITE
    host_width = _draw_shared(image, shared, ink)
    return _Frame(image, ink, host_width)


def _draw_shared(image: Image.Image, card: Card, ink: tuple[int, int, int]) -> int:
    """Draw the mark (logo or initial), organisation, host and brand bar on an opaque
    RGB or RGBA image; the host's width (the date's box ends before it)."""
    canvas = ImageDraw.Draw(image)
    rtl = card.direction == "rtl"
    logo = _mark(image, card, (WIDTH - PAD - MARK if rtl else PAD, 52))
    host_width = 0
    for text in _shared_layout(card, initial=not logo):
        fill = _brand(card) if text.field == "mark" else _soft(ink) if text.soft else ink
        typeset.stamp(canvas, text.setter.marks(text.block, text.left, text.top, text.width,
                                                keep=True), fill)
        if text.field == "host":
            host_width = text.width
    canvas.rectangle((0, HEIGHT - 14, WIDTH, HEIGHT), fill=_brand(card))
    return host_width


def _soft(ink: tuple[int, int, int]) -> tuple[int, int, int]:
    """The secondary text colour (section, date, host)."""
    return (224, 224, 224) if ink == WHITE else (51, 51, 51)


def forget_frames() -> None:
    """Forget the shared frames (a font file changed in place)."""
    _frame.cache_clear()


def _setter(card: Card, text: str, engine: ImageFont.Layout, lang: str = "",
            direction: str = "") -> typeset.Typesetter:
    fonts = chain(card.fonts, text)
    return typeset.Typesetter(fonts, lang or card.lang, direction or card.direction, engine,
                              _leading(fonts[0]))


def _leading(face: Face | Path) -> float:
    """Line height per size: more for scripts with marks above and below the letters."""
    if face.name in LEADING:
        return LEADING[face.name]
    family = face.family.lower().split() if isinstance(face, Face) else []
    return max((SCRIPT_LEADING.get(word, 1.22) for word in family), default=1.22)


def _brand(card: Card) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(card.brand_color)[:3]  # type: ignore[return-value]
    except ValueError:
        return ImageColor.getrgb(DEFAULT_BRAND)[:3]  # type: ignore[return-value]


@cache
def _plain(brand: tuple[int, int, int], light: bool) -> Image.Image:
    """The brand colour, darkening towards the bottom (kept: most cards share it). In
    RGB: a frame is drawn and encoded in RGB, with no conversion."""
    base = Image.new("RGB", (WIDTH, HEIGHT), brand)
    return Image.composite(_black("RGB"), base, _shade(0, 40 if light else 90))


@cache
def _shade(top: int, bottom: int) -> Image.Image:
    """A vertical mask from ``top`` to ``bottom`` (0 keeps the image, 255 is black)."""
    return Image.linear_gradient("L").resize((WIDTH, HEIGHT)).point(
        lambda v: top + v * (bottom - top) // 255)


@cache
def _black(mode: str = "RGBA") -> Image.Image:
    return Image.new(mode, (WIDTH, HEIGHT), (0, 0, 0, 255) if mode == "RGBA" else (0, 0, 0))


def _photo(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as image:
            image.draft("RGB", (WIDTH, HEIGHT))  # decode a JPEG at a smaller scale: faster
            image.load()
            turned = ImageOps.exif_transpose(image)
            return turned if turned.mode == "RGB" else turned.convert("RGB")
    except (OSError, Image.DecompressionBombError):
        return None


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _mark(image: Image.Image, card: Card, at: tuple[int, int]) -> bool:
    """The organisation's raster logo (True), or the white square on which ``layout``
    puts its initial (Pillow cannot draw SVG logos)."""
    logo = _logo(card.logo) if card.logo else None
    if logo is not None:
        left, top = at[0] + (MARK - logo.width) // 2, at[1] + (MARK - logo.height) // 2
        if image.mode == "RGBA":
            image.alpha_composite(logo, (left, top))
        else:  # over the opaque frame: the same pixels, composited in its box alone
            box = (left, top, left + logo.width, top + logo.height)
            under = image.crop(box).convert("RGBA")
            under.alpha_composite(logo)
            image.paste(under.convert("RGB"), box)
        return True
    ImageDraw.Draw(image).rounded_rectangle((at[0], at[1], at[0] + MARK, at[1] + MARK),
                                            radius=12, fill=WHITE)
    return False


def _logo(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as original:
            logo = ImageOps.exif_transpose(original).convert("RGBA")
    except (OSError, Image.DecompressionBombError):
        return None
    logo.thumbnail((MARK, MARK), Image.Resampling.LANCZOS)
    return logo


@dataclass
class _Gap:
    """Characters no font has, on the cards of one language and kind."""

    where: Path | None  # the first card's source
    chars: dict[str, None] = field(default_factory=dict)
    texts: dict[str, None] = field(default_factory=dict)
    cards: int = 0


TEXTS = {"title": "title", "kicker": "section", "organisation": "organisation name",
         "host": "host"}
KINDS = {"article": ("article share card", "article share cards"),
         "home": ("language home share card (static pages and lists use it)",
                  "language home share cards")}


def problems(site: Site, shaped: bool | None = None) -> list[Problem]:
    """One warning when Raqm is missing; one per ``[cards] fonts`` family not found; one
    per language and kind of card (article, language home) whose texts have characters
    no font has, naming them, the texts that hold them and the fonts tried."""
    config = site.config
    if not config.share_cards:
        return []
    shaped = typeset.raqm_available() if shaped is None else shaped
    found = [] if shaped else [warning(None, None, NO_RAQM)]
    book = card_fonts(site)
    settings = config.root / CONFIG_FILE
    for name in book.unknown:
        found.append(warning(settings, None, f"[cards] fonts: no font of the family {name!r} "
                                             "is in the theme's fonts/ folder or installed "
                                             f"(looked in {book.tried()})"))
    gaps: dict[tuple[str, str], _Gap] = {}
    for lang in config.language_codes:
        _gather(gaps, book, "home", home_card(site, lang),
                settings if settings.is_file() else None)
    remembered = _remembered(site)
    for page in site.pages.values():
        if page.kind == "article":
            card = remembered.entry(page, partial(_article_entry, site, page))[0]
            _gather(gaps, book, "article", card, page.source)
    for (lang, kind), gap in gaps.items():
        chars = "".join(gap.chars)
        one, many = KINDS[kind]
        cards = f"{gap.cards} {many}" if gap.cards > 1 else f"the {one}"
        theme = config.theme
        found.append(warning(gap.where, None, (
            f"{lang}: {cards} cannot draw {chars!r} (in the {', '.join(gap.texts)}): no card "
            f"font has {'it' if len(chars) == 1 else 'them'}, so the card shows boxes. "
            f"Fonts tried: {book.tried()}. Install fonts for the script (Debian: "
            f"apt-get install fonts-noto-core fonts-noto-cjk), put one in "
            f"themes/{theme}/fonts/, or name an installed family in [cards] fonts")))
    return found


def _gather(gaps: dict[tuple[str, str], _Gap], book: FontBook, kind: str, card: Card,
            where: Path | None) -> None:
    drawn = "\n".join((card.title, card.kicker, card.meta, card.organisation, card.host,
                       _initial(card.organisation), typeset.ELLIPSIS))
    if not book.unavailable(card.lang, drawn):
        return  # the usual case, answered from what planning the card found
    texts = {**TEXTS, "meta": "date" if kind == "article" else "description"}
    gap = None
    for name, label in texts.items():
        lacking = book.unavailable(card.lang, getattr(card, name))
        if lacking:
            gap = gaps.setdefault((card.lang, kind), _Gap(where))
            gap.chars.update(dict.fromkeys(lacking))
            gap.texts[label] = None
    if gap is not None:
        gap.cards += 1
