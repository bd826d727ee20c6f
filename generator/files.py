"""Which files under a site folder are the site's.

Editors, version control and operating systems leave files beside the ones people
write: backups and swap files (``x.md~``, ``#x.md#``, ``.x.md.swp``, vim's ``4913``),
merge leftovers (``.orig``, ``.rej``), ``.git``, ``.DS_Store``. A draft's backup holds
the draft's text, so none of them is ever published, and the watcher ignores them too:
both ask ``is_noise``.

A symlink may lead only to a place inside the site folder (and not into its dotfolders
or backups): a link to ``/etc/passwd`` in ``content/`` is an error naming the link,
never a published copy of the file. Links that stay inside are followed, folder links
too (a link to a folder that contains it is reported as a loop).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path

from generator.errors import Problem, error

NOISE_SUFFIXES = ("~", ".bak", ".orig", ".rej", ".tmp", ".swx", ".kate-swp", ".crdownload",
                  ".newshub-tmp", *(f".sw{letter}" for letter in "abcdefghijklmnop"))
NOISE_NAMES = frozenset({"4913", "thumbs.db", "ehthumbs.db", "desktop.ini", "__pycache__"})
SED_TEMP = re.compile(r"sed[A-Za-z0-9]{6}")  # sed -i's file before it is renamed
# Dotfolders a site publishes on purpose: /.well-known/security.txt and the like.
PUBLISHED_DOTFOLDERS = frozenset({".well-known"})


def is_noise(name: str) -> bool:
    """Whether a file or folder name is editor, VCS or OS noise (dotfiles included)."""
    if name[:1] in (".", "#"):
        return True
    if name.endswith(".md"):  # most names of a site: no noise name or suffix ends so
        return False
    lower = name.lower()
    return lower.endswith(NOISE_SUFFIXES) or lower in NOISE_NAMES or \
        (len(name) == 9 and SED_TEMP.fullmatch(name) is not None)


def walk(top: Path | str, root: Path | None, problems: list[Problem], *,
         keep: frozenset[str] = frozenset()) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` of ``top`` (top-down, names sorted; pruning ``folders`` in place
    works) without noise or anything but regular files and folders.

    With a site ``root``, a symlink is followed only when it resolves inside the root
    (and not into noise there); otherwise it is left out and reported in ``problems``
    as an error. ``root`` None is for trusted folders (the installed theme). ``keep``:
    dotfolder names published at the top (``.well-known``)."""
    for directory, folders, files in _walk_top(str(top), root, problems, keep):
        yield directory, folders, [entry.name for entry in files]


def paths(top: Path | str, root: Path | None, problems: list[Problem], *,
          keep: frozenset[str] = frozenset(), walked: list[str] | None = None) -> list[str]:
    """Every file ``walk`` finds, in its order, as a path (no list of names first);
    each folder it lists, and each link to a file it follows, is added to ``walked``."""
    found: list[str] = []
    for directory, _folders, files in _walk_top(str(top), root, problems, keep):
        prefix = os.path.join(directory, "")
        if walked is not None:
            walked.append(directory)
            walked += [prefix + entry.name for entry in files if entry.is_symlink()]
        found += [prefix + entry.name for entry in files]
    return found


def stamps(top: Path | str, root: Path | None, problems: list[Problem], *,
           keep: frozenset[str] = frozenset()) -> list[tuple[str, int, int]]:
    """Every file ``walk`` finds, in its order, as (path, mtime_ns, size) of the file
    (a link's target), or (path, -1, -1) when it went meanwhile. Each is statted
    relative to its open folder (no path lookup from the root: a fifth less per file,
    which counts for 100,000 sources)."""
    found: list[tuple[str, int, int]] = []
    append = found.append
    for directory, _folders, files in _walk_top(str(top), root, problems, keep):
        prefix = os.path.join(directory, "")
        for entry in files:
            try:
                status = entry.stat()  # a link's target; else the entry itself
            except OSError:
                append((prefix + entry.name, -1, -1))
                continue
            append((prefix + entry.name, status.st_mtime_ns, status.st_size))
    return found


def _walk_top(top: str, root: Path | None, problems: list[Problem], keep: frozenset[str]
              ) -> Iterator[tuple[str, list[str], list[os.DirEntry[str]]]]:
    base = os.path.realpath(root) if root is not None else None
    if base is not None:
        refused = _refused(top, base, root)  # the folder itself may be a link
        if refused is not None:
            problems.append(refused)
            return
    if not os.path.isdir(top):
        return
    yield from _walk(top, base, root, problems, keep, (os.path.realpath(top),))


# Folders are scanned through a descriptor where the system allows it, so that a
# file's stat (DirEntry.stat) is relative to its folder.
_BY_DESCRIPTOR = os.scandir in os.supports_fd and hasattr(os, "O_DIRECTORY")
_name = attrgetter("name")


def _walk(directory: str, base: str | None, root: Path | None, problems: list[Problem],
          keep: frozenset[str], ancestors: tuple[str, ...]
          ) -> Iterator[tuple[str, list[str], list[os.DirEntry[str]]]]:
    descriptor = -1
    try:
        if _BY_DESCRIPTOR:
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        with os.scandir(descriptor if descriptor >= 0 else directory) as found:
            entries = sorted(found, key=_name)
    except OSError:
        if descriptor >= 0:
            os.close(descriptor)
        return
    folders: list[str] = []
    files: list[os.DirEntry[str]] = []
    links: dict[str, str] = {}  # folder links: their real paths, to find loops
    try:
        for entry in entries:
            name = entry.name
            if is_noise(name) and name not in keep:
                continue
            try:
                if entry.is_file(follow_symlinks=False):  # first: most names are files'
                    files.append(entry)  # (not a FIFO or device: reading blocks)
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(name)
                elif entry.is_symlink():
                    path = os.path.join(directory, name)
                    if base is not None:
                        refused = _refused(path, base, root)
                        if refused is not None:
                            problems.append(refused)
                            continue
                    if os.path.isdir(path):
                        links[name] = os.path.realpath(path)
                        folders.append(name)
                    elif os.path.isfile(path):
                        files.append(entry)
            except OSError:
                continue
        yield directory, folders, files  # (their stats need the folder still open)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    for name in folders:  # as the caller left them
        path = os.path.join(directory, name)
        real = links.get(name) or os.path.realpath(path)
        if real in ancestors:
            problems.append(error(_shown(path, root), None, "symlink loop: it points to a "
                                  "folder that contains it; remove the link"))
            continue
        yield from _walk(path, base, root, problems, frozenset(), (*ancestors, real))


def _refused(path: str, base: str, root: Path | None) -> Problem | None:
    """An error when ``path`` resolves outside the site folder or into its noise."""
    target = os.path.realpath(path)
    if target != base and not target.startswith(base + os.sep):
        return error(_shown(path, root), None,
                     f"symlink points outside the site ({target}); copy the file into the "
                     "site folder instead")
    inside = os.path.relpath(target, base).split(os.sep)
    if any(is_noise(part) for part in inside if part not in PUBLISHED_DOTFOLDERS):
        return error(_shown(path, root), None,
                     f"symlink points to a file that is never published ({'/'.join(inside)})")
    return None


def _shown(path: str, root: Path | None) -> Path:
    """The path as problems show it: relative to the site folder."""
    if root is None:
        return Path(path)
    prefix = str(root) + os.sep
    return Path(path[len(prefix):] if path.startswith(prefix) else path)
