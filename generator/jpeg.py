"""Baseline JPEG encoded a band of rows at a time, for images that differ from a shared
base in a few bands (share cards: a language's cards share their frame).

Each row of 8×8-pixel blocks (16 pixel rows at 4:2:0) is its own restart interval: the
encoder resets its predictions at a restart marker, so a row's coded bytes depend on
that row's pixels alone. An image that differs from its base only in some rows is
then the base's coded rows with those rows replaced by the coded rows of a band
encoded alone (same quality, tables and width): byte for byte the file that encoding
the whole image would give (``tests/test_cards_bands.py`` holds that), for a fraction
of the work.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image

SUBSAMPLING = 2  # 4:2:0: colour at half resolution, in 16×16 blocks
ROW = 16  # pixel rows in a row of blocks at 4:2:0
SOS = b"\xff\xda"
EOI = b"\xff\xd9"
RESTART = re.compile(rb"\xff[\xd0-\xd7]")  # in coded data an 0xFF is followed by 0x00


def encode(image: Image.Image, quality: int) -> bytes:
    """JPEG with libjpeg's standard Huffman tables and a restart marker after each row
    of blocks (``comment=b""``: Pillow otherwise copies a photo's JPEG comment)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=False, subsampling=SUBSAMPLING,
               restart_marker_rows=1, comment=b"")
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class Rows:
    """A JPEG from ``encode`` cut at its restart markers: the headers (up to the
    scan's), and the coded bytes of each row of blocks."""

    head: bytes
    rows: tuple[bytes, ...]


def rows(data: bytes) -> Rows:
    """``data`` (from ``encode``) cut into its headers and its rows' coded bytes."""
    start = data.index(SOS)
    body = start + 2 + int.from_bytes(data[start + 2:start + 4], "big")
    if not data.endswith(EOI):
        raise ValueError("not a whole JPEG: no end-of-image marker")
    return Rows(data[:body], tuple(RESTART.split(data[body:-len(EOI)])))


def whole(found: Rows, height: int) -> bool:
    """Whether an image ``height`` pixels high was cut into all its rows of blocks (a
    Pillow that ignores ``restart_marker_rows`` writes none: one piece)."""
    return len(found.rows) == -(-height // ROW)


def splice(base: Rows, bands: Mapping[int, Rows]) -> bytes:
    """The base image with rows replaced: ``bands`` maps the index of a band's first row
    of blocks to that band encoded alone (as wide as the base, at the same quality)."""
    coded = list(base.rows)
    for first, band in bands.items():
        if first < 0 or first + len(band.rows) > len(coded):
            raise ValueError(f"a band of {len(band.rows)} rows at row {first} is outside "
                             f"the image's {len(coded)}")
        coded[first:first + len(band.rows)] = band.rows
    parts = [base.head]
    for index, row in enumerate(coded):
        if index:
            parts.append(bytes((0xFF, 0xD0 + (index - 1) % 8)))
        parts.append(row)
    parts.append(EOI)
    return b"".join(parts)


def block_rows(top: int, bottom: int, height: int) -> range:
    """The rows of blocks that pixel rows ``top`` (included) to ``bottom`` (excluded)
    touch, in an image ``height`` pixels high."""
    top, bottom = max(0, top), min(height, bottom)
    return range(top // ROW, -(-bottom // ROW)) if bottom > top else range(0)


def bands(touched: set[int]) -> list[range]:
    """Rows of blocks gathered into runs of consecutive rows, top first."""
    found: list[range] = []
    for row in sorted(touched):
        if found and found[-1].stop == row:
            found[-1] = range(found[-1].start, row + 1)
        else:
            found.append(range(row, row + 1))
    return found
