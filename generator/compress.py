"""Precompressed copies: ``page.html.br`` and ``page.html.gz`` beside every text output
above 1 KB, so a host sends compressed bytes without compressing on every request
(nginx ``gzip_static``/``brotli_static``, Apache's rewrite rules: see the README), and
sends Brotli, which its own on-the-fly compression often does not.

They are made in the render workers right after the bytes they compress (rendering is
parallel, so compressing is too) and staged like any output: only changed bytes reach
the disk, the manifest records each copy under its original's key, and an incremental
build makes them again exactly when their original is rendered again.

The bytes are deterministic: gzip without a file name and with mtime 0, Brotli with
fixed settings. Levels, measured on the example site (212 text files above 1 KB, 2.39 MB;
one core): Brotli quality 5 gives 29.8 % of the bytes at 36 MB/s; qualities 6 to 9 gain
less than 1 % more at up to 15 times the time; 10 and 11 reach 27.0 % and 26.5 % at
2.3 and 0.9 MB/s, which on the 10,000-article benchmark (106 MB of HTML) would add more
than a minute to a five-second build. gzip -6 gives 32.7 % at 39 MB/s, -9 only 0.16 %
less at 34 MB/s. So pages get Brotli 5 and gzip 6, and the theme's fingerprinted
assets (a few small files every reader fetches, cached for a year) get the best of
each, Brotli 11 and gzip 9, which costs milliseconds.
"""

from __future__ import annotations

import gzip
import os

import brotli

SUFFIXES = frozenset({".html", ".css", ".js", ".mjs", ".xml", ".json", ".svg", ".txt",
                      ".webmanifest"})
MIN_BYTES = 1024  # smaller files fit in a packet or two either way
ENCODINGS = (".br", ".gz")  # in the order hosts should prefer them
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
BEST_PREFIX = "assets/"  # the theme's fingerprinted CSS and JS (outputs/static.py)
BEST_BROTLI_QUALITY = 11
BEST_GZIP_LEVEL = 9


def compressible(path: str) -> bool:
    """Whether an output path is text that gets precompressed copies (when large enough)."""
    return os.path.splitext(path)[1].lower() in SUFFIXES


def siblings(path: str) -> tuple[str, ...]:
    """The paths the compressed copies of ``path`` have, whether made or not."""
    return tuple(path + suffix for suffix in ENCODINGS) if compressible(path) else ()


def original(path: str) -> str | None:
    """The output a compressed copy belongs to (``x.html.br`` → ``x.html``), else None."""
    for suffix in ENCODINGS:
        if path.endswith(suffix) and compressible(path[: -len(suffix)]):
            return path[: -len(suffix)]
    return None


def encoded(path: str, data: bytes) -> tuple[tuple[str, bytes], ...]:
    """The compressed copies of an output as (path, bytes): both for text above
    ``MIN_BYTES`` (text that long always compresses), none otherwise."""
    if len(data) <= MIN_BYTES or not compressible(path):
        return ()
    best = path.startswith(BEST_PREFIX)
    return (
        (path + ".br", brotli.compress(data, mode=brotli.MODE_TEXT,
                                       quality=BEST_BROTLI_QUALITY if best else BROTLI_QUALITY)),
        (path + ".gz", gzip.compress(data, BEST_GZIP_LEVEL if best else GZIP_LEVEL, mtime=0)),
    )
