"""Which font draws which character on a share card: faces found by their coverage.

A face's coverage is its character map (fontTools' best cmap): exact, and a set lookup
per character instead of a glyph rendered and compared with the font's box. It is kept
in memory and in the site's cache (``.newshub-cache/fonts/``) by the font file's
digest, so a CJK collection (0.4 s to read) is read once, not once per build.

Each character is drawn with the first face that has it of:

1. the families ``[cards] fonts`` in ``site.toml`` names, in that order;
2. the theme's ``fonts/``: the site's own new files first, then newshub's four in
   their order (so Latin, Arabic, Devanagari and Simplified Chinese cards look as they
   always did), then any other. For Japanese, Korean and Traditional Chinese, the CJK
   face made for the language (Noto Sans CJK JP, KR, TC or HK) goes just ahead of the
   theme's Simplified Chinese font, whose ideographs have the mainland's shapes;
3. the system's fonts, best first: bold, upright, sans-serif, Noto, the plain family
   before its UI and display cuts. fontconfig (``fc-list``) lists them with their
   character sets, so only the chosen faces are read; without fontconfig the usual
   font folders are searched.

So ``apt-get install fonts-noto-core fonts-noto-cjk`` covers every script.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont, TTLibError

from generator import imaging
from generator.theme import BUNDLED_THEMES, DEFAULT_THEME

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
COLLECTIONS = (".ttc", ".otc")
SYSTEM_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts",
                  "~/.fonts", "/Library/Fonts", "/System/Library/Fonts")
FC_FORMAT = "%{file}\t%{index}\t%{family[0]}\t%{style[0]}\t%{weight}\t%{charset}\n"
FC_TIMEOUT = 60
BOLD = 700  # OS/2 weight class: cards are set in bold
FC_WEIGHTS = {0: 100, 40: 200, 50: 300, 55: 350, 75: 400, 80: 400, 100: 500, 180: 600,
              200: 700, 205: 800, 210: 900, 215: 950}  # fontconfig's scale to OS/2's
IDEOGRAPH = 0x4E00  # 一: a face with it draws Chinese characters
CJK_LANGUAGES = {"ja": "JP", "ko": "KR"}
CHINESE = {"zh", "yue", "cmn", "wuu", "hak", "nan", "lzh", "gan", "hsn"}
VARIANTS = {"ui", "display", "condensed", "semicondensed", "looped", "unjoined", "mono",
            "slanted", "rashi", "kufi"}  # cuts after a family's plain one
VISIBLE_FORMAT = set("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u08e2\U000110bd")
SHIPPED = BUNDLED_THEMES / DEFAULT_THEME / "fonts" / "coverage.json"  # of the theme's fonts
FILLERS = set("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")  # default ignorable letters


@dataclass(frozen=True, slots=True)
class Face:
    """One font: a file, and which of its faces when it is a collection (.ttc)."""

    path: Path
    index: int = 0
    family: str = field(default="", compare=False)
    style: str = field(default="", compare=False)
    weight: int = field(default=400, compare=False)  # OS/2 weight class

    @property
    def name(self) -> str:
        """The file's name (with ``#index`` for a collection's later faces)."""
        return f"{self.path.name}#{self.index}" if self.index else self.path.name

    def __str__(self) -> str:
        return f"{self.family} ({self.name})" if self.family else self.name


FontRef = Path | Face  # a plain path is a file's first face


@dataclass(frozen=True, slots=True)
class _Info:
    family: str
    style: str
    weight: int
    points: frozenset[int]


_INFO: dict[tuple[Path, int], _Info] = {}  # by face, while its file is unchanged
_STAMP: dict[tuple[Path, int], tuple[int, int]] = {}  # size and mtime it was read at
_BY_DIGEST: dict[tuple[str, int], _Info] = {}
_POINTS: dict[FontRef, frozenset[int]] = {}  # ``covers``' own lookup: called per character
_KEPT: set[tuple[Path, Path, int]] = set()  # (cache folder, font, face) already stored


@cache
def drawn_anyway(char: str) -> bool:
    """Characters a card never shows a box for: spaces (shaping makes one missing from
    the font) and invisible format characters (joiners, direction marks, variation
    selectors), which shaping hides."""
    category = unicodedata.category(char)
    if category in ("Zs", "Cc") or char in FILLERS:
        return True
    if category == "Cf":
        return char not in VISIBLE_FORMAT
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def coverage(ref: FontRef, folder: Path | None = None) -> frozenset[int]:
    """The code points a face maps to a glyph (its best cmap)."""
    return info(ref, folder).points


def covers(ref: FontRef, char: str) -> bool:
    """Whether the face draws ``char`` (or nothing needs drawing)."""
    points = _POINTS.get(ref)
    if points is None:
        points = _POINTS[ref] = coverage(ref)
    return ord(char) in points or drawn_anyway(char)


def info(ref: FontRef, folder: Path | None = None) -> _Info:
    """A face's family, style, weight and coverage: read once per file digest, and kept
    in ``folder`` (the site's cache) when it is not there yet."""
    path, index = (ref, 0) if isinstance(ref, Path) else (ref.path, ref.index)
    known = _INFO.get((path, index))
    if known is not None and (folder is None or (folder, path, index) in _KEPT):
        return known
    digest = imaging.digest(path)
    found = known or _BY_DIGEST.get((digest, index))
    if found is None:
        found = _stored(folder, digest, index) or _shipped_info(digest, index) or \
            _read(path, index)
    if folder is not None:
        if not _cache_file(folder, digest, index).is_file():
            _store(folder, digest, index, found)
        _KEPT.add((folder, path, index))
    _BY_DIGEST[digest, index] = _INFO[path, index] = found
    stat = path.stat()
    _STAMP[path, index] = (stat.st_size, stat.st_mtime_ns)
    return found


def _cache_file(folder: Path, digest: str, index: int) -> Path:
    return folder / f"{digest[:40]}-{index}.json"


def forget_changed() -> None:
    """Forget faces whose files changed since they were read (a font replaced while
    ``newshub serve`` runs)."""
    for (path, index), stamp in list(_STAMP.items()):
        try:
            stat = path.stat()
            current = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            current = (-1, -1)
        if current != stamp:
            _INFO.pop((path, index), None)
            del _STAMP[path, index]
            _POINTS.clear()
            _KEPT.clear()


def _read(path: Path, index: int) -> _Info:
    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            cmap = (font["cmap"].getBestCmap() or {}) if "cmap" in font else {}
            names = font.get("name")
            family = (names.getBestFamilyName() or "") if names else ""
            style = (names.getBestSubFamilyName() or "") if names else ""
            weight = font["OS/2"].usWeightClass if "OS/2" in font else 400
    except (OSError, TTLibError, KeyError, AssertionError, ValueError, IndexError):
        return _Info("", "", 400, frozenset())  # not a font we can read: it draws nothing
    return _Info(str(family), str(style), int(weight), frozenset(cmap))


def _stored(folder: Path | None, digest: str, index: int) -> _Info | None:
    if folder is None:
        return None
    try:
        return _from_record(json.loads(_cache_file(folder, digest, index).read_text(
            encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _from_record(data: dict) -> _Info:
    ranges = data["ranges"]
    points = frozenset(point for low, high in zip(ranges[::2], ranges[1::2], strict=True)
                       for point in range(low, high + 1))
    return _Info(data["family"], data["style"], data["weight"], points)


def _record(found: _Info) -> dict:
    """A face's coverage as ranges of code points (a few KB even for CJK)."""
    ranges: list[int] = []
    for point in sorted(found.points):
        if ranges and ranges[-1] == point - 1:
            ranges[-1] = point
        else:
            ranges += [point, point]
    return {"family": found.family, "style": found.style, "weight": found.weight,
            "ranges": ranges}


def _store(folder: Path | None, digest: str, index: int, found: _Info) -> None:
    if folder is None:
        return
    target = _cache_file(folder, digest, index)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{target.name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(_record(found)), encoding="utf-8")
        temporary.replace(target)
    except OSError:
        pass  # a cache that cannot be written only costs time


def _shipped_info(digest: str, index: int) -> _Info | None:
    """The coverage newshub ships for its own card fonts (``SHIPPED``), when the file
    is one of them byte for byte: a site's first build reads no font's tables."""
    record = _shipped().get(_cache_file(Path(), digest, index).stem)
    try:
        return _from_record(record) if record is not None else None
    except (KeyError, TypeError, ValueError):
        return None


@cache
def _shipped() -> dict[str, dict]:
    try:
        found = json.loads(SHIPPED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def shipped_records(paths: Iterable[Path]) -> dict[str, dict]:
    """What ``SHIPPED`` holds for these font files, read from their tables."""
    return {_cache_file(Path(), imaging.digest(face.path), face.index).stem:
            _record(_read(face.path, face.index))
            for path in sorted(paths) for face in faces_in(path)}


def write_shipped(paths: Iterable[Path]) -> None:
    """Write ``SHIPPED`` again (when a bundled font changes), a face per line."""
    lines = [f"{json.dumps(key)}: {json.dumps(record, separators=(',', ':'))}"
             for key, record in shipped_records(paths).items()]
    SHIPPED.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def faces_in(path: Path) -> Iterable[Face]:
    """The faces of a font file: one, or each of a collection's."""
    count = 1
    if path.suffix.lower() in COLLECTIONS:
        try:
            with TTCollection(path, lazy=True) as collection:
                count = len(collection.fonts)
        except (OSError, TTLibError, AssertionError, ValueError):
            count = 1
    return (Face(path, index) for index in range(count))


def described(face: Face, folder: Path | None = None) -> Face:
    """The face with its family, style and weight filled in from the font."""
    if face.family:
        return face
    found = info(face, folder)
    return Face(face.path, face.index, found.family, found.style, found.weight)


def cjk_region(lang: str) -> str:
    """The CJK face a language wants (JP, KR, SC, TC, HK): Han characters are drawn
    differently in each; "" for other languages."""
    parts = [part.lower() for part in lang.replace("_", "-").split("-")]
    if parts[0] in CJK_LANGUAGES:
        return CJK_LANGUAGES[parts[0]]
    if parts[0] not in CHINESE:
        return ""
    rest = set(parts[1:])
    if rest & {"hk", "mo"} or parts[0] == "yue":
        return "HK"
    return "TC" if rest & {"hant", "tw"} else "SC"


def rank(face: Face, region: str = "") -> tuple[object, ...]:
    """Sort key of a face for cards: the language's CJK face, bold, upright,
    sans-serif, Noto (newshub's own fonts are Noto), the plain family before its
    variants; then by name, so the choice is the same on every run."""
    family = (face.family or face.path.stem).lower()
    words = family.replace("-", " ").split()
    style = set(face.style.lower().split())
    weight = face.weight if face.family else _weight_in_name(family)
    kind = 3 if "mono" in words else 2 if "serif" in family else 0 if "sans" in family else 1
    return (region.lower() not in words if region else True, abs(weight - BOLD),
            bool(style & {"italic", "oblique"}), kind, bool((set(words) | style) & VARIANTS),
            "noto" not in family, len(words), family, str(face.path), face.index)


def _weight_in_name(name: str) -> int:
    """A font's weight guessed from its file name (before its tables are read)."""
    for word, weight in (("extrabold", 800), ("semibold", 600), ("bold", 700),
                         ("black", 900), ("light", 300), ("thin", 100)):
        if word in name:
            return weight
    return 400


@dataclass(frozen=True, slots=True)
class Listed:
    """A system face and what fontconfig says it covers ("" when unknown)."""

    face: Face
    charset: str = ""


@cache
def system_fonts() -> tuple[tuple[Listed, ...], str]:
    """The system's fonts and where they were found ("fontconfig" or a folder list)."""
    listed = _fontconfig()
    if listed is not None:
        return listed, "fontconfig"
    found = []
    folders = [Path(folder).expanduser() for folder in SYSTEM_FOLDERS]
    for folder in folders:
        if folder.is_dir():
            found += [Listed(face) for path in sorted(folder.rglob("*"))
                      if path.suffix.lower() in FONT_SUFFIXES and path.is_file()
                      for face in faces_in(path)]
    return tuple(found), "the font folders (no fontconfig)"


def _fontconfig() -> tuple[Listed, ...] | None:
    command = shutil.which("fc-list")
    if command is None:
        return None
    try:
        listing = subprocess.run([command, "--format", FC_FORMAT], capture_output=True,
                                 text=True, timeout=FC_TIMEOUT, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = {}
    for line in listing.splitlines():
        parts = line.split("\t")
        if len(parts) != 6 or not parts[1].isdigit():
            continue
        file, index, family, style, weight, charset = parts
        path = Path(file)
        if path.suffix.lower() not in FONT_SUFFIXES:
            continue  # bitmap and Type 1 fonts: no cmap to read
        try:
            os2 = FC_WEIGHTS.get(int(float(weight)), 400)
        except ValueError:
            os2 = 400
        face = Face(path, int(index), family, style, os2)
        found[face] = Listed(face, charset)
    return tuple(sorted(found.values(), key=lambda listed: (str(listed.face.path),
                                                            listed.face.index)))


@cache
def _ranges(charset: str) -> tuple[list[int], list[int]]:
    lows, highs = [], []
    for token in charset.split():
        low, _, high = token.partition("-")
        try:
            lows.append(int(low, 16))
            highs.append(int(high or low, 16))
        except ValueError:
            continue
    return lows, highs


def _may_cover(listed: Listed, point: int) -> bool:
    if not listed.charset:
        return True  # unknown: its cmap decides
    lows, highs = _ranges(listed.charset)
    at = bisect.bisect_right(lows, point) - 1
    return at >= 0 and point <= highs[at]


class FontBook:
    """The faces one site's cards may use (made once a build): ``faces`` gives a
    card's, ``unavailable`` the characters no face has."""

    def __init__(self, theme: Sequence[Face], preferred: Sequence[str],
                 folder: Path | None = None) -> None:
        forget_changed()
        self.folder = folder
        self.theme = tuple(described(face, folder) for face in theme)
        chosen = [(name, self._family(name)) for name in preferred]
        self.preferred = tuple(dict.fromkeys(face for _, face in chosen if face))
        self.unknown = tuple(name for name, face in chosen if face is None)
        self._bases: dict[str, tuple[Face, ...]] = {}
        self._in_base: dict[str, dict[str, int]] = {}  # the first base face with a char
        self._system: dict[tuple[str, int], Face | None] = {}
        self._texts: dict[tuple[str, int], tuple[tuple[int, ...], str]] = {}

    def base(self, lang: str) -> tuple[Face, ...]:
        """The faces every card of a language tries first, in order."""
        found = self._bases.get(lang)
        if found is None:
            found = self._bases[lang] = self._base(cjk_region(lang))
        return found

    def faces(self, lang: str, text: str) -> tuple[Face, ...]:
        """The faces a card of ``lang`` showing ``text`` draws with: those of the
        language's base that are the first to have one of its characters, in the base's
        order, then a system face for each character the base lacks (first seen first).
        A font the card does not use is not named, so adding one redraws only the cards
        it draws on."""
        base = self.base(lang)
        used, lacking = self._scan(lang, text)
        extra: list[Face] = []
        region = cjk_region(lang)
        for char in lacking:
            point = ord(char)
            if any(point in coverage(face) for face in extra):
                continue
            face = self._system_face(point, region)
            if face is not None and face not in extra:
                extra.append(face)
        return (*(base[index] for index in used), *extra) or base[:1]

    def unavailable(self, lang: str, text: str) -> str:
        """The characters of ``text`` that no face can draw, in order, once each."""
        region = cjk_region(lang)
        return "".join(char for char in self._scan(lang, text)[1]
                       if self._system_face(ord(char), region) is None)

    def tried(self) -> str:
        """The fonts looked at, for a warning."""
        listed, where = system_fonts()
        faces = ", ".join(face.name for face in (*self.preferred, *self.theme))
        return f"{faces or 'no theme fonts'} and {len(listed)} system fonts from {where}"

    def _scan(self, lang: str, text: str) -> tuple[tuple[int, ...], str]:
        """Which base faces (by index) draw some character of ``text``, and the
        characters none has (remembered per text: planning a card and checking it ask
        the same)."""
        remembered = self._texts.get((lang, hash(text)))
        if remembered is not None:
            return remembered
        known = self._in_base.setdefault(lang, {})
        base = self.base(lang)
        used: set[int] = set()
        lacking: dict[str, None] = {}
        for char in dict.fromkeys(text):  # each character once (a card repeats many)
            first = known.get(char)
            if first is None:
                first = known[char] = -2 if drawn_anyway(char) else next(
                    (index for index, face in enumerate(base) if ord(char) in coverage(face)),
                    -1)
            if first >= 0:
                used.add(first)
            elif first == -1:
                lacking[char] = None
        if len(self._texts) > 1 << 17:
            self._texts.clear()
        found = self._texts[lang, hash(text)] = (tuple(sorted(used)), "".join(lacking))
        return found

    def _base(self, region: str) -> tuple[Face, ...]:
        faces = [*self.preferred, *(face for face in self.theme if face not in self.preferred)]
        if region and not any(IDEOGRAPH in coverage(face) for face in self.preferred):
            face = self._region_face(region)
            han = next((i for i, f in enumerate(faces) if IDEOGRAPH in coverage(f)), len(faces))
            if face is not None and face not in faces[:han + 1]:
                faces = [f for f in faces if f != face]
                faces.insert(min(han, len(faces)), face)
        return tuple(faces)

    def _region_face(self, region: str) -> Face | None:
        """The face made for a CJK language: the theme's, else the system's."""
        def fits(face: Face) -> bool:
            return region.lower() in face.family.lower().split() and \
                IDEOGRAPH in coverage(face, self.folder)

        def theirs() -> list[Face]:
            return [face for face in map(self._described, self._system_faces(IDEOGRAPH))
                    if region.lower() in face.family.lower().split()]

        for faces in (lambda: self.theme, theirs):  # the system's only when needed
            found = next((face for face in sorted(faces(), key=lambda f: rank(f, region))
                          if fits(face)), None)
            if found is not None:
                return found
        return None

    def _system_faces(self, point: int | None = None) -> list[Face]:
        """System faces (that may have ``point``: fontconfig says, else perhaps)."""
        listed, _ = system_fonts()
        return [item.face for item in listed if point is None or _may_cover(item, point)]

    def _described(self, face: Face) -> Face:
        return described(face, self.folder)

    def _system_face(self, point: int, region: str) -> Face | None:
        key = (region, point)
        if key not in self._system:
            candidates = sorted(self._system_faces(point), key=lambda f: rank(f, region))
            found = next((face for face in candidates if point in coverage(face, self.folder)),
                         None)
            self._system[key] = self._described(found) if found else None
        return self._system[key]

    def _family(self, name: str) -> Face | None:
        """The best face of a family named in ``[cards] fonts`` (or of a file name)."""
        wanted = name.strip().lower()

        def named(face: Face) -> bool:
            return wanted in (face.family.lower(), face.path.name.lower(),
                              face.path.stem.lower())

        for faces in (lambda: self.theme, lambda: map(self._described, self._system_faces())):
            found = sorted((face for face in faces() if named(face)), key=rank)
            if found:
                return found[0]
        return None


def theme_faces(files: dict[str, Path], own: Path, first: Sequence[str]) -> tuple[Face, ...]:
    """The theme's font files as faces, in the order cards try them: the site's own new
    files (in ``own``), then those named in ``first`` (newshub's, in their order), then
    the others, by name."""
    fonts = {name: path for name, path in files.items()
             if Path(name).suffix.lower() in FONT_SUFFIXES}
    own_new = [name for name, path in fonts.items()
               if name not in first and path.is_relative_to(own)]
    order = [*own_new, *(name for name in first if name in fonts),
             *(name for name in fonts if name not in first and name not in own_new)]
    return tuple(face for name in order for face in faces_in(fonts[name]))
