"""Writing an imported site: every file goes through one guarded writer.

Names come from the export (slugs, file names), so each path segment is checked, no
existing symlink is followed, and a file's real folder must lie inside the target folder;
nothing is ever written elsewhere. Front matter and ``site.toml`` values are written with
explicit quoting, so a title can never become YAML or TOML syntax.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

UNSAFE = re.compile(r"[\s/\\?#%<>\"'`|:*^{}\[\]\x00-\x1f\x7f]+")
MAX_SEGMENT_BYTES = 120
RESERVED = {"tags", "page", "assets", "index", "_index", "con", "prn", "aux", "nul"}


class UnsafePath(ValueError):
    """A path segment or target the writer refuses."""


def segment(raw: str, fallback: str, *, lower: bool = True) -> str:
    """A safe file or folder name (and URL segment) from a WordPress slug or file name:
    percent-decoded, NFC, without separators, dots runs, spaces or URL syntax, not
    starting with ``.``, ``_`` or ``-``; ``fallback`` (itself made safe) when nothing is
    left."""
    text = unicodedata.normalize("NFC", unquote(raw, errors="replace")).replace("\ufffd", "")
    text = UNSAFE.sub("-", text.lower() if lower else text)
    text = re.sub(r"(?:^|-)\.+(?=-|$)", "", text)  # segments of dots only ("../")
    text = re.sub(r"\.{2,}", ".", re.sub(r"-{2,}", "-", text)).strip("-._ ")
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_SEGMENT_BYTES:
        text = encoded[:MAX_SEGMENT_BYTES].decode("utf-8", errors="ignore").rstrip("-._ ")
    if not text:
        return segment(fallback, "item") if fallback and fallback != raw else "item"
    return text


def file_name(raw: str, fallback: str) -> str:
    """A safe bundle file name, keeping its extension and letter case."""
    name = segment(raw.replace("\\", "/").rsplit("/", 1)[-1], fallback, lower=False)
    stem, dot, extension = name.rpartition(".")
    if dot and stem and re.fullmatch(r"[A-Za-z0-9]{1,8}", extension):
        return f"{stem}.{extension.lower()}"
    return name


class Target:
    """The folder an import writes into; ``write`` refuses anything that would land
    outside it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self.written: list[str] = []

    def write(self, parts: Sequence[str], data: bytes) -> None:
        for part in parts:
            if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
                raise UnsafePath(f"unsafe path segment {part!r}")
        folder = self.root
        for part in parts[:-1]:
            folder = folder / part
            if folder.is_symlink():
                raise UnsafePath(f"{folder} is a symlink: not followed")
            if not folder.exists():
                folder.mkdir()
            elif not folder.is_dir():
                raise UnsafePath(f"{folder} is not a folder")
        real = os.path.realpath(folder)
        if real != str(self.root) and not real.startswith(str(self.root) + os.sep):
            raise UnsafePath(f"{folder} leads outside {self.root}")
        path = folder / parts[-1]
        if path.is_symlink():
            raise UnsafePath(f"{path} is a symlink: not followed")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(path, flags, 0o644)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        self.written.append("/".join(parts))


class Raw(str):
    """A YAML value written as it is (an ISO 8601 date)."""


def yaml_string(value: str) -> str:
    """A double-quoted YAML scalar (YAML 1.1 and 1.2 read it the same)."""
    out = []
    for char in value:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0xD800 <= code < 0xE000 \
                or code in (0xFEFF, 0xFFFE, 0xFFFF, 0x2028, 0x2029):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def front_matter(fields: Sequence[tuple[str, object]]) -> str:
    """``---`` YAML ``---`` with the fields that have a value, in the order given."""
    lines = ["---"]
    for key, value in fields:
        if value is None or value == "" or value == [] or value == ():
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | Raw):
            text = str(value)
        elif isinstance(value, str):
            text = yaml_string(value)
        elif isinstance(value, list | tuple):
            text = "[" + ", ".join(yaml_string(str(item)) for item in value) + "]"
        else:
            raise TypeError(f"{key}: {type(value).__name__}")
        lines.append(f"{key}: {text}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)
