"""A reader for the small arrays PHP's ``serialize()`` writes into WordPress exports.

Polylang keeps a translation group (``a:2:{s:2:"en";i:12;s:2:"fr";i:15;}``) and a
language's locale in term descriptions. The export comes from another site, so this is
no ``unserialize()``: scalars and arrays only (objects, references and custom types are
refused), bounded in length, depth and entry count, string lengths counted in UTF-8
bytes as PHP counts them.
"""

from __future__ import annotations

import re

MAX_LENGTH = 20_000  # characters; a group of 40 languages is about 1 KB
MAX_DEPTH = 4
MAX_ENTRIES = 1_000

_INT = re.compile(r"i:(-?\d{1,18});")
_BOOL = re.compile(r"b:([01]);")
_FLOAT = re.compile(r"d:(-?[0-9.eE+-]{1,40}|NAN|-?INF);")
_STRING = re.compile(r"s:(\d{1,6}):\"")
_ARRAY = re.compile(r"a:(\d{1,4}):\{")


class _Bad(ValueError):
    pass


def load_array(text: str) -> dict[int | str, object] | None:
    """The array ``text`` holds, or None for anything else (damaged, too long, objects)."""
    text = text.strip()
    if not text.startswith("a:") or len(text) > MAX_LENGTH:
        return None
    data = text.encode("utf-8")
    try:
        value, end = _read(data, 0, 0)
    except (_Bad, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) and end == len(data) else None


def _match(pattern: re.Pattern[str], data: bytes, at: int) -> tuple[re.Match[str], int]:
    # Patterns are ASCII; match them against a short ASCII window of the bytes.
    window = data[at:at + 64].decode("ascii", errors="replace")
    found = pattern.match(window)
    if found is None:
        raise _Bad("not a serialized value")
    return found, at + found.end()


def _read(data: bytes, at: int, depth: int) -> tuple[object, int]:
    kind = data[at:at + 1]
    if kind == b"N":
        if data[at:at + 2] != b"N;":
            raise _Bad("bad null")
        return None, at + 2
    if kind == b"b":
        found, at = _match(_BOOL, data, at)
        return found.group(1) == "1", at
    if kind == b"i":
        found, at = _match(_INT, data, at)
        return int(found.group(1)), at
    if kind == b"d":
        found, at = _match(_FLOAT, data, at)
        return float(found.group(1)), at
    if kind == b"s":
        found, at = _match(_STRING, data, at)
        length = int(found.group(1))
        if data[at + length:at + length + 2] != b'";':
            raise _Bad("a string of the wrong length")
        return data[at:at + length].decode("utf-8"), at + length + 2
    if kind == b"a":
        found, at = _match(_ARRAY, data, at)
        count = int(found.group(1))
        if depth >= MAX_DEPTH or count > MAX_ENTRIES:
            raise _Bad("too deep or too long")
        result: dict[int | str, object] = {}
        for _ in range(count):
            key, at = _read(data, at, depth + 1)
            if not isinstance(key, int | str) or isinstance(key, bool):
                raise _Bad("an array key must be a number or a string")
            result[key], at = _read(data, at, depth + 1)
        if data[at:at + 1] != b"}":
            raise _Bad("unterminated array")
        return result, at + 1
    raise _Bad("an object, a reference or an unknown type")
