"""Write phase: only changed bytes reach the disk; files nobody owns are removed.

Nothing is written until every job has rendered, so a failed build leaves the
previous ``output/`` exactly as it was. Each file is replaced atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import SiteError, error
from generator.render import Rendered


@dataclass(frozen=True, slots=True)
class WriteStats:
    written: int
    unchanged: int
    removed: int


def write_output(rendered: Iterable[Rendered], output: Path, planned: set[str],
                 previous: set[str] | None,
                 owns: Callable[[str], bool] = lambda _path: True) -> WriteStats:
    """Write rendered files whose bytes changed; remove outputs no job owns any more.

    ``planned`` is every output path of this build; ``previous`` the last build's (from
    its manifest), or None to find leftovers by scanning the folder. Only paths this
    build ``owns`` are ever removed (a ``--languages`` build leaves the others alone).
    """
    for path in planned:
        if not _safe(path):
            raise SiteError(error(None, None, f"refusing to write outside the output folder: "
                                              f"{path}"))
    output.mkdir(parents=True, exist_ok=True)
    written = unchanged = 0
    for item in rendered:
        target = output / item.path
        if _same_bytes(target, item.data):
            unchanged += 1
            continue
        _replace(target, item.data)
        written += 1
    if previous is None:
        removed = _remove_orphans(output, {output / path for path in planned}, owns)
    else:
        removed = _remove(output, {path for path in previous - planned if owns(path)})
    return WriteStats(written, unchanged + len(planned) - len(rendered), removed)


def _safe(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "" not in parts


def _remove(output: Path, paths: set[str]) -> int:
    removed = 0
    for path in sorted(paths):
        target = output / path
        if target.is_file():
            target.unlink()
            removed += 1
        folder = target.parent
        while folder != output and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return removed


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


def _remove_orphans(root: Path, wanted: set[Path], owns: Callable[[str], bool]) -> int:
    removed = 0
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted and owns(path.relative_to(root).as_posix()):
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
