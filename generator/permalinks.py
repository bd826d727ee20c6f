"""Permalink patterns: a section's articles at addresses made from their date and title.

``site.toml`` maps a section (its folder under ``content/<lang>/``; a nested one as
``news/briefs``) to a pattern, as Hugo's ``[permalinks]`` does::

    [permalinks]
    news = "/:year/:month/:slug/"

A page in that section (or below it: the longest matching section wins) is then
published at the pattern under its language's home (``/fr/2024/05/une-histoire/``). A
page's own ``url`` wins over a pattern; section pages (``_index.md``) keep their path.
Patterns are applied in the link phase, after translations have taken the date they
do not set, so that every version of a story is dated the same way; all addresses
then go through the one collision check.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from generator.errors import Problem, warning

if TYPE_CHECKING:
    from generator.config import SiteConfig
    from generator.model import Page

SEGMENT_BYTES = 255  # as load.SEGMENT_BYTES: one name of a file system
TOKEN = re.compile(r":([a-z]+)")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
DATED = frozenset({"year", "month", "monthname", "day", "weekday", "weekdayname", "yearday"})
NOT_IN_PATTERN = re.compile(r"[\s<>\"'\\?#%\x00-\x1f\x7f]")


def _filename(page: Page) -> str:
    """The source's name without ``.md``; a bundle's folder name."""
    return page.id.rsplit("/", 1)[-1]


def _slug(page: Page) -> str:
    """The page's own ``slug``, else its title as Hugo's ``urlize`` makes it."""
    return page.slug if "slug" in page.fields_set else urlize(page.title)


def _slug_or_filename(page: Page) -> str:
    return page.slug if "slug" in page.fields_set else _filename(page)


def _date(part: Callable[[datetime], str]) -> Callable[[Page], str]:
    def value(page: Page) -> str:
        assert page.date is not None  # undated pages keep their path (see apply)
        return part(page.date)
    return value


TOKENS: Mapping[str, Callable[[Page], str]] = {
    "year": _date(lambda d: f"{d.year:04d}"),
    "month": _date(lambda d: f"{d.month:02d}"),
    "monthname": _date(lambda d: MONTHS[d.month - 1]),
    "day": _date(lambda d: f"{d.day:02d}"),
    "weekday": _date(lambda d: str(d.isoweekday() % 7)),  # Sunday is 0, as in Go
    "weekdayname": _date(lambda d: WEEKDAYS[d.isoweekday() % 7]),
    "yearday": _date(lambda d: str(d.timetuple().tm_yday)),
    "section": lambda page: page.section,
    "sections": lambda page: "/".join(page.sections),
    "title": lambda page: urlize(page.title),
    "slug": _slug,
    "filename": _filename,
    "contentbasename": _filename,
    "slugorfilename": _slug_or_filename,
    "slugorcontentbasename": _slug_or_filename,
}


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a permalink pattern, or None when it can."""
    if not isinstance(pattern, str) or not pattern.strip("/"):
        return "must be a path pattern such as \"/:year/:month/:slug/\""
    unknown = sorted({t for t in TOKEN.findall(pattern) if t not in TOKENS})
    if unknown:
        return (f"has no token {', '.join(':' + t for t in unknown)} (newshub knows "
                f"{', '.join(':' + t for t in TOKENS)})")
    if NOT_IN_PATTERN.search(TOKEN.sub("", pattern)) or ".." in pattern.split("/"):
        return "may hold only path names, '/' and tokens (no spaces, '..', '?', '#', '%')"
    if ":" in TOKEN.sub("", pattern):
        return "has a ':' that starts no token (tokens are lower case, such as :year)"
    return None


def urlize(text: str) -> str:
    """Text as one URL segment, the way Hugo's ``urlize`` makes it: lower case, letters,
    digits and marks of any script kept with ``. _ - + ~ @``, each run of spaces and
    dashes one ``-``, everything else dropped (``Santé à Goma!`` → ``santé-à-goma``)."""
    kept: list[str] = []
    dash = False
    for char in unicodedata.normalize("NFC", text):
        if char.isalnum() or unicodedata.category(char).startswith("M") or char in "._+~@":
            if dash and kept:
                kept.append("-")
            dash = False
            kept.append(char)
        elif char.isspace() or char == "-" or unicodedata.category(char) == "Pd":
            dash = True
    return "".join(kept).lower()


def addresses(config: SiteConfig, pages: list[Page],
              problems: list[Problem]) -> dict[str, str]:
    """Page id → the address its section's pattern gives it, for each page that moves."""
    moved: dict[str, str] = {}
    for page in pages:
        path = _address(config, page, problems) if config.permalinks else None
        if path and path != page.path:
            moved[page.id] = path
    return moved


def _pattern_for(patterns: Mapping[str, str], page: Page) -> tuple[str, str] | None:
    """The section key and pattern of the longest section holding ``page``."""
    for depth in range(len(page.sections), 0, -1):
        key = "/".join(page.sections[:depth])
        if key in patterns:
            return key, patterns[key]
    return None


def _address(config: SiteConfig, page: Page, problems: list[Problem]) -> str | None:
    found = _pattern_for(config.permalinks, page) if page.kind != "section" \
        and "url" not in page.fields_set else None
    if found is None:
        return None
    key, pattern = found
    if set(TOKEN.findall(pattern)) & DATED and page.date is None:
        problems.append(warning(page.source, 1, f"permalinks.{key} dates the address, but "
                                                f"this page has no date: it stays at {page.path}"))
        return None
    names = [TOKEN.sub(lambda match: TOKENS[match.group(1)](page), part)
             for part in pattern.strip("/").split("/")]
    if any(not name or name in (".", "..") or len(name.encode()) > SEGMENT_BYTES
           for name in names):
        problems.append(warning(page.source, 1, f"permalinks.{key} gives this page an empty "
                                                f"or too long name: it stays at {page.path}"))
        return None
    return config.root_path(page.lang) + "".join(f"{name}/" for name in names)
