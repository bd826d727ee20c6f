"""Published images: every raster image re-encoded without metadata, plus resized
renditions (WebP and the original format) for ``srcset``.

Field photos carry EXIF, and EXIF carries GPS: a published photo can show where the
people in it live. So no image is copied as it is: it is decoded, turned upright
(EXIF orientation), and encoded again with nothing but its pixels and colour profile.
Renditions are named by a digest of their source, so a changed photo gets new URLs;
the bytes are made in the render phase and kept in ``.newshub-cache/images/`` under
a hash of (source bytes, width, format, version), so an unchanged photo is never
encoded twice.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from generator.config import SiteConfig
from generator.model import Page
from generator.sanitize import TAG_OR_COMMENT, attribute, read_attributes

VERSION = 1  # bump when encoding changes, so cached files are made again
CACHE = ".newshub-cache"
# Rendition widths: a 360–430 px phone at a pixel ratio of 2–3 needs 656–1290 px (the
# text column or the full width), and from 640 up each width is at most 1.25 times the
# one below (1.125 from 1280), so a browser that takes the first width at least as wide
# as it needs fetches at most about 1.5 times the pixels it shows there (Chromium often
# takes the width below when it is close).
WIDTHS = (480, 640, 800, 960, 1120, 1280, 1440, 1600)
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
SUFFIXES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
QUALITY = {"JPEG": 82, "WEBP": 78}
# What ``sizes`` says must be the width the theme's stylesheet gives the image, or the
# browser picks the wrong file: the text column (``main``: 42rem at most, 1rem padding
# either side) for images in the text, and the full width of a phone below 42rem for the
# page's lead image (``.hero``: it bleeds into the padding there).
SIZES = "(min-width: 42rem) 40rem, calc(100vw - 2rem)"
HERO_SIZES = "(min-width: 42rem) 40rem, 100vw"
ORIENTATION = 0x0112
SWAPPED = {5, 6, 7, 8}  # orientations that turn the picture a quarter


def cache_dir(config: SiteConfig, kind: str) -> Path:
    """Where made files of a kind are kept between builds (git-ignored)."""
    return config.root / CACHE / kind


def is_raster(path: Path | str) -> bool:
    return Path(path).suffix.lower() in FORMATS


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes, remembered while its size and time stay the same."""
    stat = path.stat()
    return _digest(path, stat.st_size, stat.st_mtime_ns)


@cache
def _digest(path: Path, size: int, mtime: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cached(folder: Path, key: str, make: Callable[[], bytes]) -> bytes:
    """The bytes kept under ``key``, made (and kept) when missing or damaged: each kept
    file ends with a digest of its bytes, checked before they are published (a file
    truncated or changed in the cache is made again). Under ``remaking`` (``--force``)
    every file is made again."""
    target = folder / key
    if not _remake:
        kept = _verified(target)
        if kept is not None:
            return kept
    data = make()
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data + _check_digest(data))
        os.replace(temporary, target)
    except OSError:  # not kept (a read-only or odd cache folder): made again next time
        with suppress(OSError):
            temporary.unlink()
    return data


CHECK_BYTES = 32
_remake = False  # set by ``remaking``; forked render workers inherit it


@contextmanager
def remaking() -> Iterator[None]:
    """Make every cached rendition and card again instead of reading it (``--force``)."""
    global _remake
    previous, _remake = _remake, True
    try:
        yield
    finally:
        _remake = previous


def _check_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=CHECK_BYTES).digest()


def _verified(target: Path) -> bytes | None:
    """A kept file's bytes when its digest still matches them, else None."""
    try:
        raw = target.read_bytes()
    except OSError:
        return None
    data = raw[:-CHECK_BYTES]
    return data if len(raw) > CHECK_BYTES and _check_digest(data) == raw[-CHECK_BYTES:] \
        else None


class ImageError(Exception):
    """An image that cannot be published: not an image, too large, truncated, damaged.
    ``reason`` says which, for a message that names the file."""

    def __init__(self, source: Path, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def limit_pixels(pixels: int) -> None:
    """Images above ``pixels`` are refused (``[limits] image_pixels``): a small file can
    hold a picture that takes gigabytes to decode. Pillow's own check is set to the same
    limit, for every process forked after this."""
    Image.MAX_IMAGE_PIXELS = pixels


@contextmanager
def opened(source: Path) -> Iterator[Image.Image]:
    """The image, open; whatever goes wrong reading it, here or in the ``with`` body,
    raises ``ImageError``."""
    limit = Image.MAX_IMAGE_PIXELS or 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked here
            with Image.open(source) as image:
                width, height = image.size
                if limit and width * height > limit:
                    raise ImageError(source, _too_large(
                        f"{width}×{height} = {width * height:,}", limit))
                yield image
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # twice the limit: Pillow stops reading
        counted = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow's message
        size = f"{int(counted.group(1)):,}" if counted else "its size in"
        raise ImageError(source, _too_large(size, limit)) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(source, "not an image Pillow can read (is the file really a "
                                 f"{source.suffix.lstrip('.').upper()} image?)") from exc
    except Exception as exc:  # a hostile file can fail any way a decoder can
        raise ImageError(source, f"truncated or damaged image ({exc})") from exc


def _too_large(size: str, limit: int) -> str:
    return (f"{size} pixels, over the limit of {limit:,} ([limits] image_pixels in "
            "site.toml): publish a smaller image")


def check(source: Path) -> None:
    """Raise ``ImageError`` for an image that cannot be published. Cheaper than decoding
    it: the header, then a JPEG's data at an eighth of its size, a PNG's checksums, a
    WebP's header and frames as Pillow reads them."""
    with opened(source) as image:
        if image.format == "JPEG":
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
        else:
            image.verify()


def unusable(source: Path) -> str | None:
    """Why ``check`` refuses an image, or None; remembered while its size, time and the
    pixel limit stay the same (one picture may illustrate many pages)."""
    stat = source.stat()
    return _unusable(source, stat.st_size, stat.st_mtime_ns, Image.MAX_IMAGE_PIXELS)


@cache
def _unusable(source: Path, size: int, mtime: int, limit: int | None) -> str | None:
    try:
        check(source)
    except ImageError as exc:
        return exc.reason
    return None


def upright(source: Path) -> Image.Image:
    """The image's pixels turned as EXIF says, with no metadata but a colour profile."""
    with opened(source) as image:
        image.load()
        turned = ImageOps.exif_transpose(image)  # a new image, never the file's
    profile = turned.info.get("icc_profile")
    turned.info = {"icc_profile": profile} if profile else {}
    return turned.convert("RGBA") if turned.mode == "P" else turned


def encode(image: Image.Image, fmt: str) -> bytes:
    """Encode without EXIF, XMP or text chunks (Pillow writes them only when asked)."""
    profile = image.info.get("icc_profile")
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        if image.mode == "CMYK":
            profile = None  # a CMYK profile would misdescribe the RGB pixels
        image = _flatten(image)
    options: dict[str, object] = {"icc_profile": profile} if profile else {}
    if fmt in QUALITY:
        options["quality"] = QUALITY[fmt]
    if fmt == "JPEG":
        options["optimize"] = True
    if fmt == "WEBP":
        options["method"] = 4
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def published_bytes(source: Path, folder: Path) -> bytes:
    """The image as published at its own path: same size and format, no metadata."""
    fmt = FORMATS[source.suffix.lower()]
    return cached(folder, published_key(source), lambda: encode(upright(source), fmt))


def rendition_bytes(source: Path, width: int, fmt: str, folder: Path) -> bytes:
    """The image ``width`` pixels wide in ``fmt``, no metadata."""
    def make() -> bytes:
        image = upright(source)
        if image.width > width:
            height = max(1, round(image.height * width / image.width))
            resized = image.resize((width, height), Image.Resampling.LANCZOS)
            resized.info = image.info
            image = resized
        return encode(image, fmt)

    return cached(folder, _key(source, width, fmt), make)


def rendition_key(rendition: Rendition) -> str:
    """The cache key of a rendition's bytes (what the incremental build compares)."""
    return _key(rendition.source, rendition.width, rendition.format)


def published_key(source: Path) -> str:
    return _key(source, 0, FORMATS[source.suffix.lower()])


def _key(source: Path, width: int, fmt: str) -> str:
    seed = f"{digest(source)}:{width}:{fmt}:{VERSION}:{QUALITY.get(fmt)}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32] + "." + SUFFIXES[fmt]


@dataclass(frozen=True, slots=True)
class Rendition:
    """One resized file: where it goes, its size and format, and what it is made from."""

    path: str  # site path
    width: int
    height: int
    format: str
    source: Path


@dataclass(frozen=True, slots=True)
class Picture:
    """An image with its renditions, largest last, in WebP and in its own format."""

    path: str  # site path of the image itself
    width: int
    height: int
    format: str
    renditions: tuple[Rendition, ...]

    def srcset(self, fmt: str, url: Callable[[str], str]) -> str:
        return ", ".join(f"{url(r.path)} {r.width}w" for r in self.renditions if r.format == fmt)

    def fallback(self) -> Rendition:
        """The largest rendition in the image's own format, for ``src``."""
        return [r for r in self.renditions if r.format == self.format][-1]


def size(source: Path) -> tuple[int, int] | None:
    """Width and height as shown, EXIF orientation applied (reads the header only)."""
    try:
        with opened(source) as image:
            width, height = image.size
            turned = image.getexif().get(ORIENTATION) in SWAPPED
    except ImageError:
        return None
    return (height, width) if turned else (width, height)


def picture(source: Path, site_path: str) -> Picture | None:
    """The renditions an image gets; None for files that are not raster images."""
    if not is_raster(source) or not source.is_file():
        return None
    stat = source.stat()
    return _picture(source, site_path, stat.st_size, stat.st_mtime_ns)


@cache
def _picture(source: Path, site_path: str, length: int, mtime: int) -> Picture | None:
    found = size(source)
    if found is None:
        return None
    width, height = found
    fmt = FORMATS[source.suffix.lower()]
    folder, name = site_path.rsplit("/", 1)
    stem = name.rsplit(".", 1)[0]
    tag = digest(source)[:8]
    renditions = []
    for fmt_out in dict.fromkeys(("WEBP", fmt)):
        for target in sorted({min(w, width) for w in WIDTHS}):
            path = f"{folder}/{stem}-{target}w-{tag}.{SUFFIXES[fmt_out]}"
            renditions.append(Rendition(path, target, max(1, round(height * target / width)),
                                        fmt_out, source))
    return Picture(site_path, width, height, fmt, tuple(renditions))


def picture_html(found: Picture, url: Callable[[str], str], alt: str, *,
                 hero: bool = False, css_class: str = "") -> str:
    """``<picture>`` with a WebP source and an ``<img>`` in the original format; a
    ``hero`` is the page's lead image (full width on phones, fetched first)."""
    largest = found.fallback()
    loading = 'fetchpriority="high"' if hero else 'loading="lazy"'
    sizes = attribute(HERO_SIZES if hero else SIZES)
    source = ""
    if found.format != "WEBP":
        source = (f'<source type="image/webp" srcset="{attribute(found.srcset("WEBP", url))}" '
                  f'sizes="{sizes}">')
    classes = f' class="{attribute(css_class)}"' if css_class else ""
    return (f'<picture>{source}<img{classes} src="{attribute(url(largest.path))}" '
            f'srcset="{attribute(found.srcset(found.format, url))}" sizes="{sizes}" '
            f'width="{attribute(largest.width)}" height="{attribute(largest.height)}" '
            f'alt="{attribute(alt)}" {loading} decoding="async"></picture>')


def bundle_pictures(page: Page) -> dict[str, Picture]:
    """The page bundle's raster images by file name."""
    found = {}
    for resource in page.resources:
        shown = picture(resource, page.path + resource.name)
        if shown is not None:
            found[resource.name] = shown
    return found


def pictures_key(config: SiteConfig, page: Page) -> tuple[str, ...]:
    """What a page's ``<picture>`` markup depends on: its renditions' names, which carry
    a digest of each image's bytes (so a replaced photo re-renders the page)."""
    shown = list(bundle_pictures(page).values()) if page.resources else []
    source = image_source(config, page)
    hero = picture(source, page.image) if source is not None else None
    return tuple(r.path for p in (*shown, hero) if p is not None for r in p.renditions)


def rewrite_images(body: str, page: Page, url: Callable[[str], str]) -> str:
    """Turn ``<img src="photo.jpg">`` of bundle images in the body into ``<picture>``."""
    pictures = bundle_pictures(page) if page.resources else {}
    if not pictures:
        return body

    def replace(match: re.Match[str]) -> str:
        if match.group(1) or (match.group(2) or "").lower() != "img":  # an end tag, a comment
            return match.group(0)
        attributes = read_attributes(match.group(3))
        found = pictures.get(attributes.get("src", "").removeprefix("./"))
        if found is None:
            return match.group(0)
        return picture_html(found, url, attributes.get("alt", ""),
                            css_class=attributes.get("class", ""))

    return TAG_OR_COMMENT.sub(replace, body) if "<img" in body else body


def image_source(config: SiteConfig, page: Page) -> Path | None:
    """The file behind a page's front-matter image (its bundle's, ``static/``, or the
    one a translation inherits from its source)."""
    if not page.image:
        return None
    if page.image_file is not None:
        return page.image_file
    if page.image.startswith(page.path):
        name = page.image[len(page.path):]
        return next((p for p in page.resources if p.name == name), None)
    file = config.root / "static" / page.image.lstrip("/")
    return file if file.is_file() else None
