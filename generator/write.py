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
    folders: set[str] = set()
    for item in rendered:
        target = os.path.join(output, item.path)
        existing = _size(target)
        if existing == len(item.data) and _read(target) == item.data:
            unchanged += 1
            continue
        folder = os.path.dirname(target)
        if folder not in folders:
            os.makedirs(folder, exist_ok=True)
            folders.add(folder)
        _write(target, item.data, replacing=existing is not None)
        written += 1
    if previous is None:
        removed = _remove_orphans(output, planned, owns)
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


def _size(target: str) -> int | None:
    try:
        return os.stat(target).st_size
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read(target: str) -> bytes:
    with open(target, "rb") as handle:
        return handle.read()


def _write(target: str, data: bytes, *, replacing: bool) -> None:
    """A new file is written in place; an existing one is replaced atomically, so a
    reader (or a crash) never sees half of it."""
    if not replacing:
        with open(target, "wb") as handle:
            handle.write(data)
        return
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.newshub-tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, target)


def _remove_orphans(root: Path, wanted: set[str], owns: Callable[[str], bool]) -> int:
    """Scan the folder (no manifest to go by): remove files no output claims, and the
    folders that leaves empty."""
    removed = 0
    for directory, _folders, files in os.walk(root, topdown=False):
        relative = os.path.relpath(directory, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        for name in files:
            path = prefix + name
            if path not in wanted and owns(path):
                os.unlink(os.path.join(directory, name))
                removed += 1
        if prefix and not os.listdir(directory):
            os.rmdir(directory)
    return removed
