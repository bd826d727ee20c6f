"""Lines of text in any script, shaped by Raqm and fitted into a box (for share cards).

Pillow draws with one font per call, and no single font covers Latin, Arabic,
Devanagari and Chinese. So a line is cut into runs, each drawn with the first font
of a chain that has its glyphs; runs are put in display order with the parts of the
Unicode bidi algorithm a title needs (a right-to-left line holding Latin names and
numbers); and each run is shaped by Raqm in its own direction, which joins Arabic,
builds Devanagari conjuncts and orders digits inside a run. Without Raqm, text is
still laid out (unshaped) and the build says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import ImageDraw, ImageFont, features

COVERAGE_SIZE = 20  # glyph size for coverage checks: small is enough to tell .notdef
NOTDEF = "\U0010fffd"  # a private-use code point no shipped font maps
STRONG_RTL = {"R", "AL"}
NEUTRAL = {"WS", "ON", "B", "S"}  # take the direction of their surroundings
JOINERS = {"Mn", "Mc", "Me", "Cf"}  # marks and joiners stay with the letter before
NO_LINE_START = {"Pe", "Pf", "Po"}  # closing marks (。」) never begin a line
NO_LINE_END = {"Ps", "Pi"}  # opening marks (「《) never end one
SMALL_KANA = set("\u3041\u3043\u3045\u3047\u3049\u3063\u3083\u3085\u3087\u30a1\u30a3"
                 "\u30a5\u30a7\u30a9\u30c3\u30e3\u30e5\u30e7\u30fc\u3005")
ELLIPSIS = "…"
CAP_CENTRE = 0.36  # half a capital's height, in ems: lines centre on it
NO_BREAK_SPACES = "\u00a0\u2007\u202f"  # French "Quoi ?" keeps its "?"
SPACES = re.compile(r"[ \t\r\n]+")
NARROWEST = 0.15  # ems: no visible character is narrower, so no line holds more of them


@cache
def raqm_available() -> bool:
    """Whether Pillow can shape complex scripts (it needs libraqm at run time)."""
    return bool(features.check("raqm"))


def layout_engine(shaped: bool | None = None) -> ImageFont.Layout:
    use_raqm = raqm_available() if shaped is None else shaped
    return ImageFont.Layout.RAQM if use_raqm else ImageFont.Layout.BASIC


@cache
def font(path: Path, size: int, engine: ImageFont.Layout) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=engine)


@cache
def covers(path: Path, char: str) -> bool:
    """Whether the font maps ``char`` to a glyph (not .notdef)."""
    face = font(path, COVERAGE_SIZE, ImageFont.Layout.BASIC)
    if unicodedata.category(char) in ("Zs", "Cc") or char in "\u200c\u200d":
        return True
    return _glyph(face, char) != _glyph(face, NOTDEF)


def _glyph(face: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = face.getmask(char)
    return mask.size, bytes(mask)


def missing(chain: Sequence[Path], text: str) -> str:
    """Characters of ``text`` that no font of the chain has, in order, once each."""
    found = dict.fromkeys(c for c in text if not any(covers(p, c) for p in chain))
    return "".join(found)


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of one line drawn in one font and one direction."""

    text: str
    font: Path
    direction: str  # "ltr" or "rtl"


@dataclass(frozen=True, slots=True)
class Line:
    runs: tuple[Run, ...]  # in display order, left to right
    width: float


@dataclass(frozen=True, slots=True)
class Block:
    """Lines fitted at one size; ``baseline`` is the first line's, from the block's top."""

    lines: tuple[Line, ...]
    size: int
    line_height: int
    baseline: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


@dataclass(frozen=True, slots=True)
class Typesetter:
    """Sets text of one language: its font chain, paragraph direction and engine."""

    chain: tuple[Path, ...]  # the language's own font first
    lang: str
    direction: str
    engine: ImageFont.Layout = ImageFont.Layout.RAQM
    leading: float = 1.22  # line height per size; scripts with tall marks need more

    def fit(self, text: str, width: int, height: int, sizes: Sequence[int],
            max_lines: int) -> Block:
        """The largest size at which ``text`` fits; at the smallest, cut with an ellipsis.

        Text longer than the box could hold at the smallest size is cut first, so a
        title of a megabyte costs no more than one of a few lines."""
        text = SPACES.sub(" ", text).strip()
        longest = max(1, max_lines * int(width / (sizes[-1] * NARROWEST)))
        if len(text) > longest:
            text = text[:longest].rstrip() + ELLIPSIS
        for size in sizes:
            block = self.block(text, size, width)
            if len(block.lines) <= max_lines and block.height <= height:
                return block
        size = sizes[-1]
        return self.block(text, size, width,
                          max_lines=max(1, min(max_lines, height // self._line_height(size))))

    def block(self, text: str, size: int, width: int, max_lines: int = 0) -> Block:
        pieces = wrap(tokens(text), lambda s: self.measure(s, size), width)
        if max_lines and len(pieces) > max_lines:
            pieces = [*pieces[:max_lines - 1], self._ellipsize(pieces[max_lines - 1], size,
                                                               width)]
        lines = tuple(self.line(piece, size) for piece in pieces)
        height = self._line_height(size)
        return Block(lines, size, height, round(height / 2 + size * CAP_CENTRE))

    def line(self, text: str, size: int) -> Line:
        runs = display_order(split_runs(text, self.chain, self.direction), self.direction)
        return Line(runs, sum(self._length(run, size) for run in runs))

    def measure(self, text: str, size: int) -> float:
        return sum(self._length(run, size) for run in split_runs(text, self.chain,
                                                                 self.direction))

    def draw(self, draw: ImageDraw.ImageDraw, block: Block, left: int, top: int, width: int,
             fill: str | tuple[int, ...]) -> None:
        """Draw a block in a box: lines start at the paragraph's start edge."""
        for number, line in enumerate(block.lines):
            baseline = top + block.baseline + number * block.line_height
            x = left + width - line.width if self.direction == "rtl" else left
            for run in line.runs:
                draw.text((x, baseline), self._text(run), font=font(run.font, block.size,
                                                                     self.engine),
                          fill=fill, anchor="ls", **self._options(run))
                x += self._length(run, block.size)

    def _ellipsize(self, text: str, size: int, width: int) -> str:
        words = tokens(text.removesuffix(ELLIPSIS))
        while words and self.measure("".join(words).rstrip() + ELLIPSIS, size) > width:
            words.pop()
        return "".join(words).rstrip() + ELLIPSIS

    def _line_height(self, size: int) -> int:
        return round(size * self.leading)

    def _length(self, run: Run, size: int) -> float:
        return font(run.font, size, self.engine).getlength(self._text(run), **self._options(run))

    def _text(self, run: Run) -> str:
        if self.engine == ImageFont.Layout.RAQM or run.direction == "ltr":
            return run.text
        return run.text[::-1]  # unshaped fallback: at least the letters come in order

    def _options(self, run: Run) -> dict[str, str]:
        if self.engine != ImageFont.Layout.RAQM:
            return {}
        options = {"direction": run.direction}
        if run.font == self.chain[0]:
            options["language"] = self.lang
        return options


def split_runs(text: str, chain: Sequence[Path], direction: str) -> list[Run]:
    """Cut a line where the font changes; neutrals and marks stay in the current run."""
    parts: list[tuple[Path, list[str]]] = []  # characters gathered, joined once
    for char in text:
        current = parts[-1][0] if parts else None
        sticky = (unicodedata.category(char) in JOINERS
                  or unicodedata.bidirectional(char) not in ("L", "R", "AL"))
        if current is not None and sticky and covers(current, char):
            chosen = current
        else:
            chosen = next((p for p in chain if covers(p, char)), chain[0])
        if parts and parts[-1][0] == chosen:
            parts[-1][1].append(char)
        else:
            parts.append((chosen, [char]))
    runs = [Run(text, path, _direction(text, direction))
            for path, text in ((path, "".join(chars)) for path, chars in parts)]
    return _settle_neutrals(runs, direction)


def _direction(text: str, paragraph: str) -> str:
    classes = {unicodedata.bidirectional(c) for c in text}
    if classes & STRONG_RTL:
        return "rtl"
    return "ltr" if "L" in classes else paragraph


def _settle_neutrals(found: list[Run], paragraph: str) -> list[Run]:
    """Spaces and punctuation after a run against the paragraph direction belong to
    what follows (bidi rule N1/N2: between opposite directions, the paragraph wins)."""
    runs = list(found)
    settled: list[Run] = []
    for index, run in enumerate(runs):
        if run.direction == paragraph:
            settled.append(run)
            continue
        body = run.text.rstrip("".join(c for c in run.text
                                       if unicodedata.bidirectional(c) in NEUTRAL))
        tail = run.text[len(body):]
        if not tail or not body:
            settled.append(run)
            continue
        settled.append(Run(body, run.font, run.direction))
        following = runs[index + 1] if index + 1 < len(runs) else None
        if following is not None and all(covers(following.font, c) for c in tail):
            runs[index + 1] = Run(tail + following.text, following.font, following.direction)
        else:
            settled.append(Run(tail, run.font, paragraph))
    return settled


def display_order(runs: Sequence[Run], paragraph: str) -> tuple[Run, ...]:
    """Runs left to right: groups of one direction reversed in a right-to-left
    paragraph, and runs within a right-to-left group reversed (bidi rule L2)."""
    groups: list[list[Run]] = []
    for run in runs:
        if groups and groups[-1][0].direction == run.direction:
            groups[-1].append(run)
        else:
            groups.append([run])
    if paragraph == "rtl":
        groups.reverse()
    return tuple(run for group in groups
                 for run in (reversed(group) if group[0].direction == "rtl" else group))


def tokens(text: str) -> list[str]:
    """Unbreakable pieces, each keeping the spaces after it: words, and single
    ideographs where Chinese and Japanese may break (not before 。 or after 「)."""
    pieces: list[list[str]] = []  # characters gathered, joined once
    previous = ""
    for char in text:
        if pieces and not _break_before(previous, char):
            pieces[-1].append(char)
        else:
            pieces.append([char])
        previous = char
    return ["".join(piece) for piece in pieces]


def _break_before(previous: str, char: str) -> bool:
    if _breaking_space(char):
        return False
    if _breaking_space(previous):
        return True
    if (unicodedata.category(char) in NO_LINE_START or char in SMALL_KANA
            or unicodedata.category(previous) in NO_LINE_END):
        return False
    if unicodedata.category(char) in JOINERS:
        return False
    return _ideographic(previous) or _ideographic(char)


def _breaking_space(char: str) -> bool:
    return char.isspace() and char not in NO_BREAK_SPACES


def _ideographic(char: str) -> bool:
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF
            or 0x20000 <= code <= 0x3FFFF)


def wrap(pieces: list[str], measure: Callable[[str], float], width: float) -> list[str]:
    """Greedy lines of whole pieces; a piece wider than a line is cut between letters."""
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = current + piece
        if not current or measure(candidate.rstrip()) <= width:
            current = candidate
            continue
        lines.append(current.rstrip())
        current = piece
    if current.strip():
        lines.append(current.rstrip())
    return [part for line in lines for part in _cut(line, measure, width)]


def _cut(line: str, measure: Callable[[str], float], width: float) -> list[str]:
    """The line in pieces that fit, cut between letters but never before a mark: each
    cut found by halving (a few measures, not one per letter)."""
    pieces = []
    while len(line) >= 2 and measure(line) > width:
        low, high = 1, len(line) - 1  # the longest start of the line that fits
        while low < high:
            middle = (low + high + 1) // 2
            if measure(line[:middle]) <= width:
                low = middle
            else:
                high = middle - 1
        end = low
        while end > 1 and unicodedata.category(line[end]) in JOINERS:
            end -= 1
        pieces.append(line[:end])
        line = line[end:].lstrip()
    pieces.append(line)
    return pieces
