"""Write phase: only changed bytes reach the disk; files nobody owns are removed.

Render workers *stage* what they make: bytes equal to the file already there are
dropped, a file that did not exist is written in place, and new bytes for an
existing file go to a hidden staging file beside it. Only when every job has
rendered does the write phase *commit* (each staging file renamed over its
target, atomically); after a failure, *discard* removes staging files and the
files this build created, so the previous ``output/`` is exactly as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import NamedTuple

from generator.errors import SiteError, error

STAGING_SUFFIX = ".newshub-tmp"


@dataclass(frozen=True, slots=True)
class WriteStats:
    written: int
    unchanged: int
    removed: int


class Staged(NamedTuple):
    """One rendered output: created (it did not exist), waiting in a staging file to
    replace its target, or neither (the file on disk holds exactly these bytes).

    A named tuple, not a dataclass: render workers send one back for each of 150,000
    outputs, as a plain tuple (``tuple(staged)``; pickled in C) made a record again by
    ``as_staged`` (in C). A frozen dataclass cost ~10 us a record in Python, pickled
    in the worker and unpickled in the main process (~2 s of CPU at 5 x 20,000)."""

    path: str
    staging: str | None = None
    created: str | None = None  # the file written, when there was none before
    stamp: tuple[int, int] = (-1, -1)  # (size, mtime_ns) the target has once committed


# A plain tuple's fields as a ``Staged`` (``tuple.__new__``: no Python code a record).
as_staged: Callable[[Iterable[object]], Staged] = partial(tuple.__new__, Staged)


def check_paths(paths: Iterable[str]) -> None:
    """Refuse any output path that would land outside the output folder.

    The paths are looked at joined (150,000 outputs: a few ms, not a call each): each
    unsafe path shows in the joined text, and what may be one (or a path with a line
    break, which could hide one) is then checked path by path."""
    paths = list(paths)
    joined = "\n" + "\n".join(paths) + "\n"
    if not any(part in joined for part in _MAYBE_UNSAFE) and \
            joined.count("\n") == len(paths) + 1:
        return
    for path in paths:
        if not _safe(path):
            raise SiteError(error(None, None, f"refusing to write outside the output folder: "
                                              f"{path}"))


def stage(output: Path, path: str, data: bytes, fresh: bool = False) -> Staged:
    """Compare with the file on disk; stage the bytes beside it when they differ.

    ``fresh``: the output folder was empty when the build began, so the file's folder
    is most likely new: it is made first (in a cold build, most pages have a folder of
    their own, and finding it missing cost a failed open, a check and a second open)."""
    target = os.path.join(output, path)
    if fresh:
        _make_folder(os.path.dirname(target))
    try:
        stamp = _create(target, data)
    except FileNotFoundError:  # its folder is new too
        os.makedirs(os.path.dirname(target), exist_ok=True)
        stamp = _create(target, data)
    except FileExistsError:
        status = _stat(target)
        if status is not None and status.st_size == len(data) and _read(target) == data:
            return Staged(path, stamp=(status.st_size, status.st_mtime_ns))
        folder, name = os.path.split(target)
        staging = os.path.join(folder, f".{name}{STAGING_SUFFIX}")
        return Staged(path, staging=staging, stamp=_write(staging, data))
    return Staged(path, created=target, stamp=stamp)


def commit(staged: Iterable[Staged], output: Path, planned: set[str],
           previous: set[str] | None,
           owns: Callable[[str], bool] = lambda _path: True) -> WriteStats:
    """Move staged files over their targets; remove outputs no job owns any more.

    ``planned`` is every output path of this build; ``previous`` the last build's (from
    its manifest), or None to find leftovers by scanning the folder. Only paths this
    build ``owns`` are ever removed (a ``--languages`` build leaves the others alone).
    """
    output.mkdir(parents=True, exist_ok=True)
    written = 0
    for item in staged:
        if item.staging is not None:
            os.replace(item.staging, os.path.join(output, item.path))
        written += item.staging is not None or item.created is not None
    if previous is None:
        removed = _remove_orphans(output, planned, owns)
    else:
        removed = _remove(output, {path for path in previous - planned if owns(path)})
    return WriteStats(written, len(planned) - written, removed)


def discard(staged: Iterable[Staged], output: Path) -> None:
    """Remove staging files and created files (and the folders only they filled)
    after a failed build."""
    for item in staged:
        for written in (item.staging, item.created):
            if written is not None and os.path.exists(written):
                os.unlink(written)
                _prune(Path(written).parent, output)


def sweep(output: Path) -> int:
    """Remove every staging file under ``output``: after a build stopped where the
    list of what it staged was lost (an interrupt, a crash, a killed process)."""
    removed = 0
    for directory, _folders, files in os.walk(output):
        for name in files:
            if name.startswith(".") and name.endswith(STAGING_SUFFIX):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    continue
                removed += 1
    return removed


# In paths joined by line breaks: an empty path or segment, a leading or trailing /,
# a .. segment (``_safe`` refuses exactly these), or a name ending in .. (perhaps one).
_MAYBE_UNSAFE = ("\n\n", "\n/", "/\n", "//", "../", "..\n")


@cache
def _safe(path: str) -> bool:  # remembered: a server checks the same paths after every save
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "" not in parts


def _remove(output: Path, paths: set[str]) -> int:
    removed = 0
    for path in sorted(paths):
        target = output / path
        if target.is_file():
            target.unlink()
            removed += 1
        _prune(target.parent, output)
    return removed


def _prune(folder: Path, output: Path) -> None:
    """Remove ``folder`` and its parents while they are empty, up to ``output``."""
    while folder != output and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _make_folder(folder: str) -> None:
    """Make a file's folder (and its parents, when they are missing too)."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def _stat(target: str) -> os.stat_result | None:
    try:
        return os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read(target: str) -> bytes:
    with open(target, "rb") as handle:
        return handle.read()


def _create(target: str, data: bytes) -> tuple[int, int]:
    """Write a file that must not exist yet (one system call fewer than asking first);
    a failed write leaves no partial file behind. Returns its (size, mtime_ns)."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        pending = memoryview(data)
        while pending:
            pending = pending[os.write(descriptor, pending):]
        status = os.fstat(descriptor)
    except BaseException:
        os.unlink(target)
        raise
    finally:
        os.close(descriptor)
    return (status.st_size, status.st_mtime_ns)


def _write(target: str, data: bytes) -> tuple[int, int]:
    """Write a staging file (none is left behind if that fails, even on an interrupt);
    its (size, mtime_ns), which the renamed target keeps."""
    try:
        with open(target, "wb") as handle:
            handle.write(data)
            handle.flush()
            status = os.fstat(handle.fileno())
    except BaseException:
        if os.path.exists(target):
            os.unlink(target)
        raise
    return (status.st_size, status.st_mtime_ns)


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
