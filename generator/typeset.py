"""Lines of text in any script, shaped by Raqm and fitted into a box (for share cards).

Pillow draws with one font per call, and no single font covers Latin, Arabic,
Devanagari and Chinese. So a line is cut into runs, each drawn with the first font
of a chain that has its glyphs (``fonts.covers``: the font's character map); the
line's bidi levels (``bidi``: the Unicode algorithm, brackets paired) cut it too, and
put the runs in display order; and each run is shaped by Raqm in its own direction,
which joins Arabic, builds Devanagari conjuncts, mirrors brackets in right-to-left
runs and orders digits inside a run. Without Raqm, text is still laid out (unshaped,
mirrored by ``bidi``) and the build says so.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont, features

from generator import bidi, fonts
from generator.fonts import Face, FontRef

JOINERS = {"Mn", "Mc", "Me", "Cf"}  # marks and joiners stay with the letter before
NO_LINE_START = {"Pe", "Pf", "Po"}  # closing marks (。」) never begin a line
NO_LINE_END = {"Ps", "Pi"}  # opening marks (「《) never end one
SMALL_KANA = set("\u3041\u3043\u3045\u3047\u3049\u3063\u3083\u3085\u3087\u30a1\u30a3"
                 "\u30a5\u30a7\u30a9\u30c3\u30e3\u30e5\u30e7\u30fc\u3005")
VIRAMA = 9  # canonical combining class: the next consonant stacks under this one
ELLIPSIS = "…"
CAP_CENTRE = 0.36  # half a capital's height, in ems: lines centre on it
NO_BREAK_SPACES = "\u00a0\u2007\u202f"  # French "Quoi ?" keeps its "?"
SPACES = re.compile(r"[ \t\r\n]+")
RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\u200f\u202b\u202e\u2067\ufb1d-\ufdff\ufe70-\ufefe"
                           "\U00010800-\U00010fff\U0001e800-\U0001efff]")  # R, AL, AN, RLM…
NARROWEST = 0.15  # ems: no visible character is narrower, so no line holds more of them


@cache
def raqm_available() -> bool:
    """Whether Pillow can shape complex scripts (it needs libraqm at run time)."""
    return bool(features.check("raqm"))


def layout_engine(shaped: bool | None = None) -> ImageFont.Layout:
    use_raqm = raqm_available() if shaped is None else shaped
    return ImageFont.Layout.RAQM if use_raqm else ImageFont.Layout.BASIC


def forget_fonts() -> None:
    """Forget loaded fonts and which font has which character (font files changed)."""
    font.cache_clear()
    _kept_glyphs.cache_clear()
    _first_fonts.cache_clear()
    _run_length.cache_clear()


@cache
def font(ref: FontRef, size: int, engine: ImageFont.Layout) -> ImageFont.FreeTypeFont:
    path, index = (ref.path, ref.index) if isinstance(ref, Face) else (ref, 0)
    return ImageFont.truetype(str(path), size, index=index, layout_engine=engine)


covers = fonts.covers  # whether the font maps a character to a glyph (its cmap)


def missing(chain: Sequence[FontRef], text: str) -> str:
    """Characters of ``text`` that no font of the chain has, in order, once each."""
    found = dict.fromkeys(c for c in text if not any(covers(p, c) for p in chain))
    return "".join(found)


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of one line drawn in one font and one direction."""

    text: str
    font: FontRef
    direction: str  # "ltr" or "rtl"
    level: int = 0  # bidi embedding level (numbers count at their surroundings' level)


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

    chain: tuple[FontRef, ...]  # the language's own font first
    lang: str
    direction: str
    engine: ImageFont.Layout = ImageFont.Layout.RAQM
    leading: float = 1.22  # line height per size; scripts with tall marks need more

    def fit(self, text: str, width: int, height: int, sizes: Sequence[int],
            max_lines: int) -> Block:
        """The largest size at which ``text`` fits without cutting a word (Thai, Khmer
        and Burmese write many words without a space), else the largest at which it
        fits; at the smallest, cut with an ellipsis.

        Text longer than the box could hold at the smallest size is cut first, so a
        title of a megabyte costs no more than one of a few lines."""
        text = SPACES.sub(" ", text).strip()
        longest = max(1, max_lines * int(width / (sizes[-1] * NARROWEST)))
        if len(text) > longest:
            text = text[:longest].rstrip() + ELLIPSIS
        fitting = None
        for size in sizes:
            block, cut = self._block(text, size, width)
            if len(block.lines) <= max_lines and block.height <= height:
                if not cut:
                    return block
                fitting = fitting or block
        if fitting is not None:
            return fitting
        size = sizes[-1]
        return self.block(text, size, width,
                          max_lines=max(1, min(max_lines, height // self._line_height(size))))

    def block(self, text: str, size: int, width: int, max_lines: int = 0) -> Block:
        return self._block(text, size, width, max_lines)[0]

    def _block(self, text: str, size: int, width: int,
               max_lines: int = 0) -> tuple[Block, bool]:
        """The block, and whether a word had to be cut to fit the width."""
        pieces, cut = _wrap(tokens(text), lambda s: self.measure(s, size), width)
        if max_lines and len(pieces) > max_lines:
            pieces = [*pieces[:max_lines - 1], self._ellipsize(pieces[max_lines - 1], size,
                                                               width)]
        lines = tuple(self.line(piece, size) for piece in pieces)
        height = self._line_height(size)
        return Block(lines, size, height, round(height / 2 + size * CAP_CENTRE)), cut

    def line(self, text: str, size: int) -> Line:
        runs = display_order(split_runs(text, self.chain, self.direction), self.direction)
        return Line(runs, sum(self._length(run, size) for run in runs))

    def measure(self, text: str, size: int) -> float:
        return sum(self._length(run, size) for run in split_runs(text, self.chain,
                                                                 self.direction))

    def draw(self, draw: ImageDraw.ImageDraw, block: Block, left: int, top: int, width: int,
             fill: str | tuple[int, ...]) -> None:
        """Draw a block in a box: lines start at the paragraph's start edge."""
        stamp(draw, self.marks(block, left, top, width), fill)

    def marks(self, block: Block, left: int, top: int, width: int,
              keep: bool = False) -> list[Mark]:
        """The block's runs rasterised and placed as ``draw`` draws them (what
        ``ImageDraw.text`` would draw, glyph for glyph). With ``keep``, each run's
        glyphs are remembered (texts many cards repeat: a section, a date)."""
        rasterise = _kept_glyphs if keep else _glyphs
        found = []
        for number, line in enumerate(block.lines):
            baseline = top + block.baseline + number * block.line_height
            x = left + width - line.width if self.direction == "rtl" else left
            for run in line.runs:
                options = self._options(run)
                mask, offset = rasterise(self._text(run), run.font, block.size, self.engine,
                                         options.get("direction"), options.get("language"),
                                         math.modf(x)[0], math.modf(baseline)[0])
                found.append(Mark(int(x) + offset[0], int(baseline) + offset[1], mask))
                x += self._length(run, block.size)
        return found

    def _ellipsize(self, text: str, size: int, width: int) -> str:
        words = tokens(text.removesuffix(ELLIPSIS))
        while words and self.measure("".join(words).rstrip() + ELLIPSIS, size) > width:
            words.pop()
        return "".join(words).rstrip() + ELLIPSIS

    def _line_height(self, size: int) -> int:
        return round(size * self.leading)

    def _length(self, run: Run, size: int) -> float:
        options = self._options(run)
        return _run_length(self._text(run), run.font, size, self.engine,
                           options.get("direction", ""), options.get("language", ""))

    def _text(self, run: Run) -> str:
        if self.engine == ImageFont.Layout.RAQM or run.direction == "ltr":
            return run.text
        return bidi.display(run.text, "rtl")  # unshaped: letters in order, mirrored

    def _options(self, run: Run) -> dict[str, str]:
        if self.engine != ImageFont.Layout.RAQM:
            return {}
        options = {"direction": run.direction}
        if run.font == self.chain[0]:
            options["language"] = self.lang
        return options


@dataclass(frozen=True, slots=True)
class Mark:
    """A run's glyphs as Pillow rasterises them (a mode "L" coverage mask) and where the
    mask's top left corner goes."""

    x: int
    y: int
    mask: Any  # PIL's core image: what ``FreeTypeFont.getmask2`` returns

    @property
    def bottom(self) -> int:
        return self.y + self.mask.size[1]


def stamp(draw: ImageDraw.ImageDraw, marks: Sequence[Mark], fill: str | tuple[int, ...],
          dy: int = 0) -> None:
    """Fill the marks with ``fill`` (shifted ``dy`` pixels down): the pixels
    ``ImageDraw.text`` gives. On an RGB image each mask is pasted from a block of the
    colour, which blends the same way at a third of the cost of filling through it
    (Pillow's fill tests the image's mode at every channel of every pixel)."""
    colour = ImageColor.getcolor(fill, draw.mode) if isinstance(fill, str) else fill
    if draw.mode != "RGB":
        ink = draw.draw.draw_ink(colour)
        for mark in marks:
            draw.draw.draw_bitmap((mark.x, mark.y + dy), mark.mask, ink)
        return
    for mark in marks:
        width, height = mark.mask.size
        if width and height:
            x, y = mark.x, mark.y + dy
            draw.im.paste(Image.core.fill("RGB", (width, height), colour),
                          (x, y, x + width, y + height), mark.mask)


def _glyphs(text: str, ref: FontRef, size: int, engine: ImageFont.Layout,
            direction: str | None, language: str | None, x: float,
            y: float) -> tuple[Any, tuple[int, int]]:
    """A run's mask and offset from its baseline start, ``x`` and ``y`` the start's
    fractions of a pixel (what ``ImageDraw.text`` asks of the font for anchor "ls")."""
    return font(ref, size, engine).getmask2(text, "L", direction, None, language, 0, "ls",
                                            0, (x, y), stroke_filled=True)


_kept_glyphs = lru_cache(maxsize=256)(_glyphs)


@lru_cache(maxsize=1 << 14)
def _run_length(text: str, ref: FontRef, size: int, engine: ImageFont.Layout, direction: str,
                language: str) -> float:
    """A run's advance, remembered: wrapping measures a line's text before it is set,
    and the cards of a language repeat their section names and dates."""
    options = {"direction": direction} if direction else {}
    if language:
        options["language"] = language
    return font(ref, size, engine).getlength(text, **options)


def split_runs(text: str, chain: Sequence[FontRef], direction: str) -> list[Run]:
    """Cut a line where the font or the bidi level changes, in reading order.

    Each letter takes the first font of the chain that has it; spaces, punctuation
    and marks stay with the run they belong to by level (the letter before, else the
    one after), when its font has them. Numbers in right-to-left text stay in its run
    (Raqm keeps their digits left to right there), so a line is cut no more than it
    must be."""
    levels = _run_levels(text, direction)
    first = _first_fonts(tuple(chain))
    if text and levels.count(levels[0]) == len(levels):
        head = first(text[0])
        if all(first(char) is head for char in text):  # one font has every character
            return [Run(text, head, "rtl" if levels[0] % 2 else "ltr", levels[0])]
    sticky = [_sticky(char) for char in text]
    ahead = _letters_ahead(sticky, levels)
    chosen: list[FontRef] = []
    for index, char in enumerate(text):
        font = first(char)
        if sticky[index]:
            if index and levels[index - 1] == levels[index] and covers(chosen[-1], char):
                font = chosen[-1]  # with the run before
            elif ahead[index] >= 0 and covers(after := first(text[ahead[index]]), char):
                font = after  # else with the run it leads into
        chosen.append(font)
    runs: list[Run] = []
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or chosen[index] is not chosen[start] or \
                levels[index] != levels[start]:  # fonts are the chain's own objects
            level = levels[start]
            runs.append(Run(text[start:index], chosen[start], "rtl" if level % 2 else "ltr",
                            level))
            start = index
    return runs


def _run_levels(text: str, direction: str) -> list[int]:
    """Bidi levels, numbers counted at the level of the right-to-left text around them."""
    if direction == "ltr" and not RIGHT_TO_LEFT.search(text):
        return [0] * len(text)  # the usual line: nothing to resolve
    levels = bidi.levels(text, direction)
    numbers = bidi.number_like(text, direction)
    return [level - 1 if number and level % 2 == 0 and level else level
            for level, number in zip(levels, numbers, strict=True)]


def _letters_ahead(sticky: list[bool], levels: list[int]) -> list[int]:
    """For each character, the next letter at the same level with only neutrals
    between (-1: none), found in one pass from the end."""
    ahead = [-1] * len(sticky)
    following = -1
    for index in range(len(sticky) - 1, -1, -1):
        ahead[index] = following
        if index and levels[index - 1] != levels[index]:
            following = -1
        elif not sticky[index]:
            following = index
    return ahead


@lru_cache(maxsize=256)
def _first_fonts(chain: tuple[FontRef, ...]) -> Callable[[str], FontRef]:
    """The first font of a chain that has a character (remembered per character)."""
    found: dict[str, FontRef] = {}

    def first(char: str) -> FontRef:
        font = found.get(char)
        if font is None:
            font = found[char] = next((ref for ref in chain if covers(ref, char)), chain[0])
        return font

    return first


@cache
def _sticky(char: str) -> bool:
    """Marks, joiners, spaces, digits and punctuation: drawn in a neighbour's font."""
    return unicodedata.category(char) in JOINERS or \
        unicodedata.bidirectional(char) not in ("L", "R", "AL")


def display_order(runs: Sequence[Run], paragraph: str) -> tuple[Run, ...]:
    """Runs left to right (bidi rule L2 over the runs' levels; ``paragraph`` is the
    line's direction, which the levels already carry)."""
    order = bidi.visual_order([run.level for run in runs])
    return tuple(runs[index] for index in order)


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
    return _wrap(pieces, measure, width)[0]


def _wrap(pieces: list[str], measure: Callable[[str], float],
          width: float) -> tuple[list[str], bool]:
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
    parts = [part for line in lines for part in _cut(line, measure, width)]
    return parts, len(parts) > len(lines)


def _cut(line: str, measure: Callable[[str], float], width: float) -> list[str]:
    """The line in pieces that fit, cut between letters but never before a mark nor
    after a virama: each cut found by halving (a few measures, not one per letter)."""
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
        while end > 1 and (unicodedata.category(line[end]) in JOINERS
                           or unicodedata.combining(line[end - 1]) == VIRAMA):
            end -= 1  # nor inside a cluster: after a virama (Khmer coeng, Myanmar asat)
        pieces.append(line[:end])
        line = line[end:].lstrip()
    pieces.append(line)
    return pieces
