"""Write phase: only changed bytes reach the disk; files nobody owns are removed.

Nothing is written until every job has rendered, so a failed build leaves the
previous ``output/`` exactly as it was. Each file is replaced atomically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import SiteError, error
from generator.render import Rendered


@dataclass(frozen=True, slots=True)
class WriteStats:
    written: int
    unchanged: int
    removed: int


def write_output(rendered: Iterable[Rendered], output: Path) -> WriteStats:
    output.mkdir(parents=True, exist_ok=True)
    root = output.resolve()
    wanted: set[Path] = set()
    written = unchanged = 0
    for item in rendered:
        target = (root / item.path).resolve()
        if not target.is_relative_to(root):
            raise SiteError(error(None, None, f"refusing to write outside the output folder: "
                                              f"{item.path}"))
        wanted.add(target)
        if _same_bytes(target, item.data):
            unchanged += 1
            continue
        _replace(target, item.data)
        written += 1
    removed = _remove_orphans(root, wanted)
    return WriteStats(written, unchanged, removed)


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except (FileNotFoundError, NotADirectoryError):
        return False


def _replace(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.newshub-tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _remove_orphans(root: Path, wanted: set[Path]) -> int:
    removed = 0
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
