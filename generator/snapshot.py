"""What the last finished build of an output folder was made from, so that a rebuild
with nothing to do is recognised before the engine (Jinja, Pillow, Markdown) is even
imported: ``newshub build`` asks ``unchanged`` first and prints what the last build
found. Its cost is then the stats of the site's files and of the outputs (each as the
last build left it), not a third of a second of imports.
"""

from __future__ import annotations

import gc
import hashlib
import mmap
import os
import select
import signal
import struct
import sys
import time
from array import array
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, groupby
from operator import attrgetter, itemgetter, methodcaller
from pathlib import Path

from generator import __version__
from generator.cache import CACHE_FOLDER, Store, manifest_name
from generator.config import SiteConfig
from generator.deps import ENGINE_VERSION, digest
from generator.errors import Problem
from generator.files import PUBLISHED_DOTFOLDERS
from generator.files import paths as file_paths
from generator.files import stamps as file_stamps
from generator.lock import build_locks
from generator.theme import locale_layers, theme_layers

SNAPSHOT_PREFIX = "snapshot-"
WRITING_PREFIX = "writing-"  # beside the cache's lock while a build writes an output folder
Entry = tuple[str, int, int]  # an output's key, and its file's (size, mtime_ns) as written


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The last finished build, to recognise a rebuild with nothing to do."""

    inputs: str  # digest of every input file's stamp and of the settings
    due: float  # the first moment after the build's clock that publishes or withdraws (inf: none)
    counts: dict[str, int]
    warnings: tuple[Problem, ...]
    articles: tuple[tuple[str, int], ...]
    pages: int
    search: str = ""  # the summary's words on the search index (``search.describe``)
    since: float = float("-inf")  # the last such moment at or before its clock (-inf: none)

    def holds(self, now: float) -> bool:
        """Whether what this build published is what a build at ``now`` (POSIX seconds)
        publishes: no story fell due or expired between its clock and ``now``."""
        return self.since <= now < self.due


@dataclass(frozen=True, slots=True)
class Taken:
    """Every input file's stamp (path → (path, mtime_ns, size)), and the symlinks
    refused (links out of the site: never a build with nothing to do)."""

    stamps: Stamps
    refused: tuple[str, ...]
    made: dict[str, str] = field(default_factory=dict, compare=False)  # digests made

    def settings(self, config: SiteConfig) -> str:
        """A digest of what besides the files decides the build."""
        return digest(ENGINE_VERSION, __version__, repr(config), self.refused)

    def inputs(self, config: SiteConfig) -> str:
        """A digest of the files' stamps and the settings: equal means nothing changed
        (made once per settings; ``inputs_digest`` of the stamps packed)."""
        settings = repr(config)
        if settings not in self.made:
            self.made[settings] = inputs_digest(settings, self.refused, *self.stamps.packed())
        return self.made[settings]


class Stamps(Mapping[str, tuple[str, int, int]]):
    """Input files' stamps, path → (path, mtime_ns, size), held as they were taken:
    packed by the no-change check (the paths ``packed``, then each file's mtime_ns and
    size as 64-bit integers, ``wrapped``), made a dict only when read whole (the load
    phase's look-ups: ~0.2 s at 100,000 files); or a dict (``take``), packed when
    digested, stored or compared. An edit's build compares them packed with the last
    build's (``changed_stamps``) and looks up the few it stores (``stamp``)."""

    __slots__ = ("_made", "_names", "_values")

    def __init__(self, names: bytes, values: array[int]) -> None:
        self._names, self._values = names, values
        self._made: dict[str, tuple[str, int, int]] | None = None

    @classmethod
    def of(cls, made: dict[str, tuple[str, int, int]]) -> Stamps:
        stamps = cls(b"", array("q"))
        stamps._made, stamps._values = made, None  # type: ignore[assignment]
        return stamps

    def packed(self) -> tuple[bytes, array[int]]:
        """The paths (``packed``) and the values, mtime_ns and size of each in turn."""
        if self._values is None:
            made = self._made or {}
            try:
                values = array("q", chain.from_iterable(map(itemgetter(1, 2), made.values())))
            except OverflowError:  # a date past 2262
                values = array("q", map(wrapped, chain.from_iterable(
                    map(itemgetter(1, 2), made.values()))))
            self._names, self._values = packed(list(made)), values
        return self._names, self._values

    def stored(self) -> tuple[bytes, bytes]:
        """Plain data for the cache (``changed_stamps`` reads it)."""
        names, values = self.packed()
        return names, values.tobytes()

    def stamp(self, path: str) -> tuple[str, int, int] | None:
        """One file's stamp, found in the packed paths unless the dict was made."""
        if self._made is not None:
            return self._made.get(path)
        names, values = self.packed()
        index = _index_of(names, path)
        return None if index is None else (path, values[2 * index], values[2 * index + 1])

    def _mapping(self) -> dict[str, tuple[str, int, int]]:
        if self._made is None:
            values = self._values
            self._made = {stamp[0]: stamp for stamp in zip(
                unpacked(self._names), values[0::2].tolist(), values[1::2].tolist(),
                strict=True)}
        return self._made

    def __getitem__(self, path: str) -> tuple[str, int, int]:
        return self._mapping()[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


def _index_of(names: bytes, path: str) -> int | None:
    """The place of ``path`` among the ``packed`` paths."""
    key = path.encode("utf-8", "surrogateescape") + b"\0"
    at = 0 if names.startswith(key) else names.find(b"\0" + key) + 1
    return names.count(b"\0", 0, at) if at or names.startswith(key) else None


STAMP_BYTES = 16  # a file's mtime_ns and size, packed
BLOCK = 1024  # files compared at once by ``changed_stamps``


def changed_stamps(before: object, since: object, now: Stamps) -> list[str] | None:
    """The files whose stamp ``now`` differs from the last full build's (``before``, as
    ``Stamps.stored`` left it) or from one an edit's build took since (``since``: path →
    stamp); None when a file came or went, or ``before`` is not as this version stores
    it. The same walk lists the same files in the same order: then the packed stamps
    are compared a block of files at a time (100,000 stamps: a few ms, where making
    and comparing dicts of them took ~0.4 s); else by path."""
    if not (type(before) is tuple and len(before) == 2 and type(before[0]) is bytes and
            type(before[1]) is bytes and len(before[1]) % STAMP_BYTES == 0):
        return None
    since = since if type(since) is dict else {}
    names, values = now.packed()
    old = array("q")
    old.frombytes(before[1])
    if before[0] != names:  # another order, or other files
        last = Stamps(before[0], old)
        if len(last) != len(now) or last.keys() != now.keys():
            return None
        merged = {**last, **{path: stamp for path, stamp in since.items() if path in last}}
        return [path for path, stamp in now.items() if merged[path] != stamp]
    for path, stamp in since.items():  # (the journal's stamps came from such a walk)
        index = _index_of(names, path) if type(stamp) is tuple and len(stamp) == 3 else None
        if index is not None:
            old[2 * index], old[2 * index + 1] = wrapped(stamp[1]), wrapped(stamp[2])
    a, b = old.tobytes(), values.tobytes()
    if len(a) != len(b):
        return None
    width = BLOCK * STAMP_BYTES
    found = [index for block in range(0, len(a), width) if a[block:block + width] !=
             b[block:block + width] for index in range(
                 block // STAMP_BYTES, min(len(a), block + width) // STAMP_BYTES)
             if a[index * STAMP_BYTES:(index + 1) * STAMP_BYTES] !=
             b[index * STAMP_BYTES:(index + 1) * STAMP_BYTES]]
    if not found:
        return []
    paths = names[:-1].split(b"\0")
    return [paths[index].decode("utf-8", "surrogateescape") for index in found]


def wrapped(value: int) -> int:
    """A stamp's value as a signed 64-bit integer: the nanoseconds of a date past 2262
    (or before 1677) wrap around, still distinct for any two dates a file system keeps."""
    return (value + 2 ** 63) % 2 ** 64 - 2 ** 63


def inputs_digest(settings: str, refused: tuple[str, ...], names: bytes | memoryview,
                  values: array[int] | memoryview) -> str:
    """A digest of the settings and of every input's stamp packed: each path ended by
    a NUL (UTF-8), and each file's (mtime_ns, size) as native 64-bit integers, as the
    no-change check's helper and this process stamp them into shared memory, so that it
    is hashed there as it lies (a repr of 100,000 stamps cost a new process 60-80 ms)."""
    sizes = (memoryview(names).nbytes, memoryview(values).nbytes)  # where each part ends
    hashed = hashlib.blake2b(repr((ENGINE_VERSION, __version__, settings, refused, sizes))
                             .encode("utf-8", "surrogateescape"), digest_size=16)
    hashed.update(names)
    hashed.update(values)
    return hashed.hexdigest()


def input_folders(config: SiteConfig) -> tuple[Path, ...]:
    """Where the inputs are (besides site.toml): content, theme and catalog layers, static/."""
    return (config.content_dir, *theme_layers(config), *locale_layers(config),
            config.root / "static")


def take(config: SiteConfig) -> Taken:
    """Stamp every input: content, theme and catalog layers, static/, site.toml."""
    stamps: list[tuple[str, int, int]] = []
    refused: list[Problem] = []
    for folder in input_folders(config):
        site = config.root if folder.is_relative_to(config.root) else None  # else bundled
        stamps += file_stamps(folder, site, refused, keep=PUBLISHED_DOTFOLDERS)
    toml = config.root / "site.toml"
    if toml.is_file():
        stamps.append(_file_stamp(str(toml)))
    return Taken(Stamps.of({stamp[0]: stamp for stamp in stamps}), tuple(map(str, refused)))


def listing(config: SiteConfig) -> tuple[list[str], list[Problem]]:
    """The paths ``take`` stamps, in its order, and the symlinks refused on the way."""
    paths, refused = _in_folders(config, None)
    return _with_toml(paths, config), refused


def _in_folders(config: SiteConfig, walked: list[str] | None
                ) -> tuple[list[str], list[Problem]]:
    """``listing`` but site.toml (each folder listed and each file link followed is
    added to ``walked``)."""
    paths: list[str] = []
    refused: list[Problem] = []
    for folder in input_folders(config):
        site = config.root if folder.is_relative_to(config.root) else None  # else bundled
        paths += file_paths(folder, site, refused, keep=PUBLISHED_DOTFOLDERS, walked=walked)
    return paths, refused


LISTING_ENTRY = "inputs-listing"  # the last listing of the inputs, and its folders' stats
RACY_SECONDS = 2  # a folder changed this recently may change again within its time's grain


def listed(store: Store, config: SiteConfig) -> tuple[bytes, tuple[str, ...]]:
    """``listing``, its paths packed (``packed``) and the refused links as text, taken
    from the last one kept when no
    folder it listed changed since: a file added, removed or renamed changes its folder's
    mtime and ctime (a changed file is the stamps' business). Else listed again, and kept unless a
    folder changed within ``RACY_SECONDS`` of the listing (a change in the same grain of
    a coarse clock would leave its times as they were) or a link was met (where it leads
    may change with no folder listed changing)."""
    key = _listing_key(config)
    kept = store.read(LISTING_ENTRY)
    if _valid_listing(kept) and kept[0] == key and \
            tuple(map(_folder_stat, kept[1])) == kept[2]:
        return kept[3] + packed(_with_toml([], config)), ()
    start = time.time_ns()
    walked: list[str] = [*map(str, input_folders(config))]  # (those missing, too)
    paths, refused = _in_folders(config, walked)
    folders = tuple(dict.fromkeys(walked))
    stats = tuple(map(_folder_stat, folders))
    names = packed(paths)
    if not refused and not any(map(os.path.islink, folders)) and \
            all(max(stat[2:]) < start - RACY_SECONDS * 1_000_000_000 for stat in stats):
        store.write(LISTING_ENTRY, (key, folders, stats, names))
    return names + packed(_with_toml([], config)), tuple(map(str, refused))


def packed(paths: list[str]) -> bytes:
    """Paths as the shared memory and the inputs' digest hold them: each ended by a NUL."""
    return ("\0".join(paths) + "\0").encode("utf-8", "surrogateescape") if paths else b""


def unpacked(names: bytes) -> list[str]:
    return names[:-1].decode("utf-8", "surrogateescape").split("\0") if names else []


def _listing_key(config: SiteConfig) -> str:
    return digest(ENGINE_VERSION, __version__, str(config.root),
                  tuple(map(str, input_folders(config))), sorted(PUBLISHED_DOTFOLDERS))


def _folder_stat(path: str) -> tuple[int, int, int, int]:
    """What changes when a folder's entries do: its mtime and ctime (its identity too,
    for a folder replaced); -1s when it is missing."""
    try:
        status = os.stat(path)
    except OSError:
        return (-1, -1, -1, -1)
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns)


def _valid_listing(value: object) -> bool:
    return type(value) is tuple and len(value) == 4 and type(value[0]) is str and \
        type(value[1]) is tuple and type(value[2]) is tuple and \
        len(value[1]) == len(value[2]) and _only(value[1], str) and type(value[3]) is bytes


def _with_toml(paths: list[str], config: SiteConfig) -> list[str]:
    toml = config.root / "site.toml"
    if toml.is_file():
        paths.append(str(toml))
    return paths


def _file_stamp(path: str) -> tuple[str, int, int]:
    try:
        stat = os.stat(path)
    except OSError:  # removed meanwhile: the load phase will see it
        return (path, -1, -1)
    return (path, stat.st_mtime_ns, stat.st_size)


def last_snapshot(store: Store, output: Path) -> Snapshot | None:
    value = store.read(SNAPSHOT_PREFIX + manifest_name(output))
    return value if valid_snapshot(value) else None


def valid_snapshot(value: object) -> bool:
    return type(value) is Snapshot and type(value.inputs) is str and \
        isinstance(value.due, (int, float)) and type(value.pages) is int and \
        isinstance(getattr(value, "since", None), (int, float)) and \
        type(value.search) is str and isinstance(value.counts, dict) and \
        all(type(k) is str and type(n) is int for k, n in value.counts.items()) and \
        isinstance(value.warnings, tuple) and \
        _well_typed_problems(value.warnings) and \
        isinstance(value.articles, tuple) and all(
            type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str and
            type(pair[1]) is int for pair in value.articles)


def _well_typed_problems(warnings: tuple[object, ...]) -> bool:
    """Each warning a well-typed ``Problem`` (``generator.model``, with its 40-field
    record, is imported only for a snapshot with warnings: ~20 ms a no-change check)."""
    if not warnings:
        return True
    from generator.model import well_typed

    return all(well_typed(problem, Problem) for problem in warnings)


def valid_manifest(value: object) -> bool:
    """A manifest as this version writes them (a damaged or crafted one is ignored):
    checked a field at a time, with C loops (a manifest has hundreds of thousands)."""
    if not isinstance(value, dict):
        return False
    entries = value.values()
    return _only(value, str) and _only(entries, tuple) and set(map(len, entries)) <= {3} \
        and _only(map(itemgetter(0), entries), str) and \
        _only(map(itemgetter(1), entries), int) and _only(map(itemgetter(2), entries), int)


def _only(values: Iterable[object], kind: type) -> bool:
    return set(map(type, values)) <= {kind}


def interrupted(config: SiteConfig, output: Path) -> bool:
    """A build of this folder stopped while it wrote (see ``BuildSession``)."""
    return (config.root / CACHE_FOLDER / (WRITING_PREFIX + manifest_name(output))).exists()


def intact(output: Path, manifest: Mapping[str, Entry], config: SiteConfig) -> int | None:
    """How many outputs of this build are as the last build left them, when all are
    (same size and mtime; one stat each, relative to the open output folder where the
    system allows: no lookup of the folder's own path each time); None when one is not,
    or when an entry is not as this version writes them (a damaged or crafted manifest:
    found as it is used, not by a pass over every entry's types first)."""
    try:
        folder = os.open(output, os.O_RDONLY | os.O_DIRECTORY) if BY_FOLDER else -1
    except OSError:
        return None
    prefix = os.path.join(output, "") if folder < 0 else "./"  # (a path from "/" stays inside)
    owned = 0
    every = not config.only_languages
    try:
        for path, entry in manifest.items():
            if not every and not config.owns(path):
                continue
            try:
                status = os.stat(prefix + path, dir_fd=None if folder < 0 else folder)
            except OSError:
                return None
            if status.st_size != entry[1] or status.st_mtime_ns != entry[2]:
                return None
            owned += 1
    except (TypeError, ValueError, LookupError):  # not a path, or not an entry
        return None
    finally:
        if folder >= 0:
            os.close(folder)
    return owned


BY_FOLDER = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
OUTPUTS_PREFIX = "outputs-"  # the manifest's outputs packed for this check (``Outputs``)
OUTPUT_PARTS = 64  # the tasks packed outputs are cut into (at most)


SEAL_FINE = 100_000_000  # ns: a folder changed this close to its seal may change again
SEAL_COARSE = 2_000_000_000  # unnoticed (a tick of the kernel's clock; a FAT-like grain)
SEAL_FIELDS = attrgetter("st_ino", "st_mtime_ns", "st_ctime_ns")
SEAL_PREFIX = "seal-"  # the seal of a manifest's outputs (``Sealed``)


@dataclass(frozen=True, slots=True)
class Seal:
    """The output's folders that hold folders (the output folder itself, each
    language's, each section's: not the folder of one page), each one's inode, mtime
    and ctime as a build left them, and when they were read. Making, removing or
    renaming anything in a folder changes its times, so while the seal holds, no page
    folder, list, feed or sitemap was deleted, added or replaced (a file changed in
    place, or deleted alone from a page's own folder, is what ``--verify-output`` finds)."""

    folders: bytes  # ``packed``: "" is the output folder
    stats: bytes  # three native 64-bit integers a folder
    taken: int  # time.time_ns() once they were read

    @classmethod
    def take(cls, output: Path, folders: bytes) -> Seal | None:
        """The folders as they are now (None: one is gone or cannot be read)."""
        try:
            descriptor = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            stats = array("q", chain.from_iterable(
                SEAL_FIELDS(os.stat(folder or ".", dir_fd=descriptor, follow_symlinks=False))
                for folder in unpacked(folders)))
        except (OSError, OverflowError, ValueError):  # gone, or a date past 2262
            return None
        finally:
            os.close(descriptor)
        return cls(folders, stats.tobytes(), time.time_ns())

    @classmethod
    def settled(cls, output: Path, folders: bytes) -> Seal | None:
        """``take``, after waiting out a fine grain when a folder changed just now (a
        build sealing what it wrote: a seal too near a change is never trusted, so the
        next check would stat every output instead of these folders)."""
        seal = cls.take(output, folders)
        wait = seal.unsettled() if seal is not None else 0
        if 0 < wait <= SEAL_FINE:
            time.sleep(wait / 1e9)
            seal = cls.take(output, folders)
        return seal

    def racy(self) -> bool:
        """Whether a folder changed so near the seal that a change after it may have
        left the same times (within a tick of the clock file systems stamp with; two
        seconds where their times have no fraction of a second)."""
        return self.unsettled() > 0

    def unsettled(self) -> int:
        """How long (ns) after the seal its newest folder time leaves the grain: a seal
        taken that much later would not be ``racy`` (0: it is not)."""
        stats = array("q")
        stats.frombytes(self.stats)
        times = [value for index, value in enumerate(stats) if index % 3]
        grain = SEAL_COARSE if all(value % 1_000_000_000 == 0 for value in times) \
            else SEAL_FINE
        return max(0, max(times, default=self.taken) - (self.taken - grain))

    def holds(self, output: Path) -> bool:
        """Whether every folder is as sealed, and was so long enough before (``racy``)."""
        now = Seal.take(output, self.folders)
        return now is not None and now.stats == self.stats and not self.racy()


def seal_folders(paths: Iterable[str]) -> bytes:
    """The folders a ``Seal`` reads for outputs at these paths: every folder above a
    file's own folder, and the output folder (``packed``, in order)."""
    folders = {""}
    for parent in {path.rpartition("/")[0] for path in paths}:
        head = parent.rpartition("/")[0]
        while head not in folders:
            folders.add(head)
            head = head.rpartition("/")[0]
    return packed(sorted(folders))


@dataclass(frozen=True, slots=True)
class Sealed:
    """A manifest's outputs taken as written while their folders' ``Seal`` holds: kept
    in the cache apart from the packed outputs (``Outputs``) and under the same
    identity of the manifest's files, so a check that finds it holding reads a few
    hundred bytes and stats a few hundred folders, not 140,000 files."""

    seal: Seal
    count: int  # the outputs the manifest lists


def kept_seal(store: Store, name: str, identity: tuple[object, ...]) -> Sealed | None:
    """The seal kept for the manifest ``name`` while its files have this ``identity``
    (None: none, or not as ``_store_seal`` keeps it: no folder outside the output)."""
    kept = store.read(SEAL_PREFIX + name)
    if not (BY_FOLDER and type(kept) is tuple and len(kept) == 5 and kept[0] == identity and
            type(kept[1]) is int and type(kept[2]) is bytes and type(kept[3]) is bytes and
            type(kept[4]) is int):
        return None
    folders = kept[2]
    if not _relative_paths(folders) or len(kept[3]) != 24 * folders.count(b"\0") or \
            b".." in folders:
        return None
    return Sealed(Seal(folders, kept[3], kept[4]), kept[1])


def _store_seal(store: Store, name: str, identity: tuple[object, ...],
                seal: Seal | None, count: int) -> None:
    if seal is None:
        store.delete(SEAL_PREFIX + name)
    else:
        store.write(SEAL_PREFIX + name, (identity, count, seal.folders, seal.stats, seal.taken))


@dataclass(frozen=True, slots=True)
class Outputs:
    """Every output the manifest lists, as this check reads them fastest: their paths
    (``packed``, relative to the output folder) and each file's size and mtime_ns one
    after the other (native 64-bit integers), cut into parts (``_cuts``). Kept in the
    cache after a check found them all intact, for as long as the manifest's files stay
    as they were (``Store.sharded_identity``): the manifest's 64 shards hold each
    output's key too, and took a fifth of a check's time to read (0.2 s of CPU at
    140,000 outputs), the packed paths a fiftieth."""

    names: bytes
    values: bytes
    cuts: list[tuple[int, int]]

    def intact(self, output: Path, index: int) -> int | None:
        """How many outputs part ``index`` holds when each is as the last build left
        it (one stat each, in one C loop); else None."""
        (start, first), (stop, last) = self.cuts[index], self.cuts[index + 1]
        try:
            folder = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            found = _stats_in(folder, unpacked(self.names[start:stop]), SIZE_MTIME)
        except (OSError, OverflowError, ValueError):  # gone, or a date past 2262
            return None
        finally:
            os.close(folder)
        return last - first if found.tobytes() == self.values[16 * first:16 * last] else None


def kept_outputs(store: Store, name: str, identity: tuple[object, ...]) -> Outputs | None:
    """The packed outputs kept for the manifest ``name`` while its files have this
    ``identity``; None when there are none, or they are not as ``keep_outputs`` keeps
    them (a path from "/" is never one)."""
    kept = store.read(OUTPUTS_PREFIX + name)
    if not (BY_FOLDER and type(kept) is tuple and len(kept) == 3 and kept[0] == identity
            and type(kept[1]) is bytes and type(kept[2]) is bytes):
        return None
    names, values = kept[1], kept[2]
    files = names.count(b"\0")
    if not files or len(values) != 16 * files or not _relative_paths(names):
        return None
    return Outputs(names, values, _cuts(names, min(OUTPUT_PARTS, files)))


def _relative_paths(names: bytes) -> bool:
    """Whether kept ``packed`` paths are as ``packed`` ends them, none from "/"."""
    return names[-1:] == b"\0" and names[:1] != b"/" and b"\0/" not in names


def keep_outputs(store: Store, name: str, identity: tuple[object, ...]) -> None:
    """Keep the manifest's outputs packed (``Outputs``), under the ``identity`` its
    files had before they were read (the build's lock is held meanwhile)."""
    if not BY_FOLDER:
        return
    manifest = store.read_sharded(name)
    if not manifest or not valid_manifest(manifest) or \
            any(path.startswith("/") or "\0" in path for path in manifest):
        return
    try:
        values = array("q", chain.from_iterable(map(itemgetter(1, 2), manifest.values())))
    except OverflowError:  # a date past 2262: checked from the shards
        return
    store.write(OUTPUTS_PREFIX + name, (identity, packed(list(manifest)), values.tobytes()))


def seal_outputs(store: Store, name: str, manifest: Mapping[str, Entry],
                 output: Path) -> None:
    """Seal the outputs of the ``manifest`` a build just wrote and stored under ``name``
    (``Sealed``), as their folders are now; not while one is missing (not built yet).
    The outputs are not kept packed: a check that finds the seal broken reads the
    manifest (0.3 s of a build's serial time at 500,000 outputs saved)."""
    store.delete(OUTPUTS_PREFIX + name)
    if not BY_FOLDER or any(entry[1] < 0 for entry in manifest.values()):
        store.delete(SEAL_PREFIX + name)
        return
    _store_seal(store, name, store.sharded_identity(name),
                Seal.settled(output, seal_folders(manifest)), len(manifest))


def reseal_outputs(store: Store, name: str, before: tuple[object, ...],
                   made: Iterable[str], output: Path) -> None:
    """After an edit's build rewrote the outputs at the paths ``made`` (the manifest's
    files had the identity ``before``): the seal taken again under the manifest's new
    identity, unless one of them lies below a folder it does not read (a folder of
    pages new to the site: then the next check reads every output, and seals them).
    The packed outputs are dropped: their sizes and times were the last build's."""
    sealed = kept_seal(store, name, before)
    store.delete(OUTPUTS_PREFIX + name)
    sizes = store.shard_sizes(name)
    folders = set(unpacked(sealed.seal.folders)) if sealed is not None else set()
    if sizes is None or sealed is None or \
            not folders.issuperset(unpacked(seal_folders(made))):
        store.delete(SEAL_PREFIX + name)
        return
    _store_seal(store, name, store.sharded_identity(name),
                Seal.settled(output, sealed.seal.folders), sum(sizes))


def unchanged(config: SiteConfig, output: Path, now: float | None = None,
              verify: bool = False) -> tuple[Snapshot, int] | Taken | None:
    """The last build's snapshot and its number of outputs when nothing it was made
    from changed, no story fell due or expired between its clock and ``now`` (POSIX
    seconds, ``newshub build --now``; None: the current time) and every output is as it
    left it; else the stamps just taken (for the build to use), or None. Outputs are
    taken as written while their folders' ``Seal`` holds, unless ``verify``: then, or
    when it does not, each is statted. A helper process, where one can be forked,
    checks outputs while this one walks the inputs, then stamps half of them
    (``OutputCheck``)."""
    if not output.is_dir():
        return None
    root = config.root
    shown = f"{output.relative_to(root)}/" if output.is_relative_to(root) else str(output)
    store = Store(root)
    with build_locks(output, root / CACHE_FOLDER, shown):
        last = last_snapshot(store, output)
        if last is None or not last.holds(time.time() if now is None else now) or \
                interrupted(config, output):
            return None
        with OutputCheck(store, output, config, verify) as check:
            check.stamp()
            if check.digest() != last.inputs:
                return check.taken()  # (the helper is stopped: an edit's build needs no answer)
            owned = check.owned()
            return (last, owned) if owned is not None else check.taken()


INPUT, OUTPUT = 1, 2  # what a helper's answer is about: a chunk of inputs, a manifest shard
ANSWER = struct.Struct("<BHI")  # kind, index, value (a shard's count + 1; 0: not intact)
CHUNK = 1024  # inputs a task stamps (at least)
CHUNKS = 1024  # tasks the inputs are cut into (at most: their pipe's buffer holds them)
HELPER_NICENESS = 5
HEADER = struct.Struct("<3q")  # the shared inputs: files, chunks, where their names are
CUT = struct.Struct("<2q")  # where a chunk's names start, and the index of its first file


class OutputCheck:
    """Whether every input is as the last build found it and every output as it left
    it, with two processes where that is safe.

    A stat costs a few microseconds in the kernel and threads do not overlap them, but
    two processes do. On entering, a helper is forked and starts on the manifest's
    shards at once, while this process walks the input folders (``take``); then the
    inputs' paths are shared with the helper in memory, and both stamp chunks of them
    (the helper before any further shard); then this process digests the stamps and,
    when nothing changed, joins the helper on the shards left (``owned``). The stamps
    become a ``Taken`` only for a build (``taken``): the digest is made from the shared
    memory as the two processes stamped it (``digest``).

    Work is handed out through pipes holding one record per task (a read takes one:
    each task is done once, by whichever process is free); the helper answers through
    another pipe. A shard without an answer (the helper failed or was stopped) means
    "not intact", never a wrong "nothing to do"; a chunk of inputs without one is
    stamped here. Leaving the ``with`` block stops a helper still at work."""

    def __init__(self, store: Store, output: Path, config: SiteConfig,
                 verify: bool = False) -> None:
        self.store, self.output, self.config = store, output, config
        self.name = manifest_name(output)
        self.sizes = store.shard_sizes(self.name)
        self.identity = store.sharded_identity(self.name) if self.sizes is not None else ()
        whole = self.sizes is not None and not config.only_languages
        kept = kept_seal(store, self.name, self.identity) if whole else None
        self.sealed = kept.count if kept and not verify and kept.seal.holds(output) else None
        self.packed = kept_outputs(store, self.name, self.identity) \
            if whole and self.sealed is None else None
        folders = None if self.sealed is not None else kept.seal.folders if kept else \
            seal_folders(unpacked(self.packed.names)) if self.packed else None
        self.seal = Seal.take(output, folders) if folders else None  # before outputs are read
        self.parts = 0 if self.sizes is None or self.sealed is not None else \
            len(self.packed.cuts) - 1 if self.packed is not None else len(self.sizes)
        self.tasks = -1  # the pipe handing out shard indexes (its reading end)
        self.inputs = self.offering = -1  # the pipe handing out chunks of inputs (both ends)
        self.shared = -1  # a memory file: the inputs' paths and stamps (HEADER's layout)
        self.answers = -1  # the helper's answers (reading end)
        self.helper = 0  # its process id while it may run
        self.early: dict[int, int | None] = {}  # the helper's shard answers read so far
        self.found: Taken | None = None  # the stamps, unless they lie in ``shared`` only
        self.refused: tuple[str, ...] = ()  # the links refused on the way to the inputs
        self.digested = ""  # their digest, made from ``shared``

    def __enter__(self) -> OutputCheck:
        if self.sizes is None:
            return self
        self.tasks, handing = os.pipe()
        os.write(handing, bytes(range(self.parts)))  # fits any pipe's buffer
        if can_fork():
            if hasattr(os, "memfd_create"):
                with suppress(OSError):
                    self.shared = os.memfd_create("newshub-inputs")
                    self.inputs, self.offering = os.pipe()
            self._fork(handing)
        os.close(handing)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop()
        for descriptor in (self.tasks, self.answers, self.inputs, self.offering, self.shared):
            if descriptor >= 0:
                os.close(descriptor)
        self.tasks = self.answers = self.inputs = self.offering = self.shared = -1

    def stamp(self) -> None:
        """Stamp every input, as ``take`` does (with the helper's help)."""
        if not self.helper or self.offering < 0:
            self._offer_none()
            self.found = take(self.config)
            return
        names, self.refused = listed(self.store, self.config)
        chunks = self._offer(names)
        if chunks is None:
            self.found = Taken(Stamps.of({path: _file_stamp(path) for path in
                                          unpacked(names)}), self.refused)
            return
        done = set()
        while task := _read_waiting(self.inputs, 2):
            index = int.from_bytes(task, "little")
            self._stamp_chunk(index)
            done.add(index)
        while len(done) < chunks:  # the helper's chunks: wait for its answers
            answer = self._answer()
            if answer is None:  # it ended: stamp its chunks here
                for index in set(range(chunks)) - done:
                    self._stamp_chunk(index)
                break
            kind, index, value = answer
            if kind == INPUT:
                done.add(index)
            else:
                self.early[index] = value - 1 if value else None

    def digest(self) -> str:
        """The stamps' digest, as ``Taken.inputs`` makes it (once ``stamp`` ran)."""
        if self.found is not None:
            return self.found.inputs(self.config)
        if not self.digested:
            with mmap.mmap(self.shared, os.fstat(self.shared).st_size) as memory:
                files, chunks, names = HEADER.unpack_from(memory, 0)
                end, _files = CUT.unpack_from(memory, HEADER.size + 16 * files + 16 * chunks)
                with memoryview(memory) as shared:
                    self.digested = inputs_digest(repr(self.config), self.refused,
                                                shared[names:names + end],
                                                shared[HEADER.size:HEADER.size + 16 * files])
        return self.digested

    def taken(self) -> Taken:
        """The stamps for a build (once ``stamp`` ran); the helper is stopped first: a
        build needs no answer of it."""
        self._stop()
        if self.found is None:
            made = self.digest()
            self.found = self._taken()
            self.found.made[repr(self.config)] = made
        return self.found

    def owned(self) -> int | None:
        """How many outputs this build owns, when every one is intact; else None."""
        if self.sizes is None:  # a manifest stored whole (an older version's)
            manifest = self.store.read_sharded(self.name)
            return intact(self.output, manifest, self.config) \
                if valid_manifest(manifest) else None
        counts = self._check_shards()
        if self.helper:
            answers = self._answers()
            if answers is None:
                return None
            counts.update(answers)
        if None in counts.values() or len(counts) != self.parts:
            return None
        if self.sealed is not None:
            return self.sealed
        total = sum(count for count in counts.values() if count is not None)
        if self.packed is None and not self.config.only_languages:
            keep_outputs(self.store, self.name, self.identity)
        if self.seal is not None and not self.seal.racy():
            _store_seal(self.store, self.name, self.identity, self.seal, total)
        return total

    def _fork(self, handing: int) -> None:
        answers, answering = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: this one does every task
            os.close(answers)
            os.close(answering)
            return
        if pid == 0:  # the helper: answer, and never return into the caller's code
            code = 1
            try:
                gc.disable()  # no finalizer of the caller's objects runs here
                with suppress(OSError):  # on a busy machine, this process goes first:
                    os.nice(HELPER_NICENESS)  # the shards it checks are wasted on an edit
                os.close(handing)
                os.close(answers)
                if self.offering >= 0:
                    os.close(self.offering)
                    os.set_blocking(self.inputs, False)
                self._serve(answering)
                code = 0
            finally:
                os._exit(code)
        os.close(answering)
        self.helper, self.answers = pid, answers

    def _serve(self, answering: int) -> None:
        """The helper's work: a chunk of inputs whenever one is offered, else a shard."""
        offered = self.inputs >= 0
        shards = True
        while offered or shards:
            if offered:
                try:
                    task = os.read(self.inputs, 2)
                except BlockingIOError:  # none yet
                    task = None
                if task is not None:
                    if task:
                        index = int.from_bytes(task, "little")
                        self._stamp_chunk(index)
                        os.write(answering, ANSWER.pack(INPUT, index, 1))
                    else:
                        offered = False
                    continue
            task = os.read(self.tasks, 1) if shards else b""
            if task:
                count = self._check_part(task[0])
                os.write(answering, ANSWER.pack(OUTPUT, task[0], 0 if count is None
                                                else count + 1))
                if count is None:
                    self._drain()
            else:
                shards = False
                if offered:
                    select.select([self.inputs], [], [])  # until offered, or not at all

    def _offer_none(self) -> None:
        if self.offering >= 0:
            os.close(self.offering)
            self.offering = -1

    def _offer(self, names: bytes) -> int | None:
        """Put the paths (``packed``) in the shared memory file and offer their chunks
        (None: not offered, the inputs are taken here alone)."""
        files = names.count(b"\0")
        size = max(CHUNK, -(-files // CHUNKS))
        cuts = _cuts(names, -(-files // size))
        chunks = len(cuts) - 1
        if chunks < 2:
            self._offer_none()
            return None
        where = HEADER.size + 16 * files + 16 * len(cuts)
        total = where + len(names) + 8 - (where + len(names)) % 8
        try:
            os.ftruncate(self.shared, total)
            os.pwrite(self.shared, HEADER.pack(files, chunks, where), 0)
            os.pwrite(self.shared, b"".join(CUT.pack(*cut) for cut in cuts),
                      HEADER.size + 16 * files)
            os.pwrite(self.shared, names, where)
            os.write(self.offering, b"".join(index.to_bytes(2, "little")
                                             for index in range(chunks)))
        except OSError:
            self._offer_none()
            return None
        self._offer_none()  # all offered: the pipe ends when they are taken
        return chunks

    def _stamp_chunk(self, index: int) -> None:
        """Stamp one chunk of the shared paths into the shared memory (a file gone
        meanwhile: -1, -1, as ``take`` stamps it)."""
        with mmap.mmap(self.shared, os.fstat(self.shared).st_size) as memory:
            files, _chunks, names = HEADER.unpack_from(memory, 0)
            start, first = CUT.unpack_from(memory, HEADER.size + 16 * files + 16 * index)
            stop, _next = CUT.unpack_from(memory, HEADER.size + 16 * files + 16 * index + 16)
            paths = unpacked(memory[names + start:names + stop])
            stamps = _stamps_by_folder(paths)
            at = HEADER.size + 16 * first
            memory[at:at + 8 * len(stamps)] = memoryview(stamps).cast("B")

    def _taken(self) -> Taken:
        """The stamps as the two processes took them, packed (``Stamps``)."""
        with mmap.mmap(self.shared, os.fstat(self.shared).st_size) as memory:
            files, chunks, names = HEADER.unpack_from(memory, 0)
            end, _files = CUT.unpack_from(memory, HEADER.size + 16 * files + 16 * chunks)
            values = array("q")
            values.frombytes(memory[HEADER.size:HEADER.size + 16 * files])
            return Taken(Stamps(memory[names:names + end], values), self.refused)

    def _drain(self) -> None:
        while os.read(self.tasks, 256):  # no shard is worth checking now
            pass

    def _check_shards(self) -> dict[int, int | None]:
        """Check shards as long as the pipe hands some out: each one's number of owned
        outputs, or None (then the rest are taken and left unchecked)."""
        counts: dict[int, int | None] = {}
        while task := os.read(self.tasks, 1):
            index = task[0]
            counts[index] = count = self._check_part(index)
            if count is None:
                self._drain()
        return counts

    def _check_part(self, index: int) -> int | None:
        """A task's outputs: a part of the packed outputs (``kept_outputs``), else a
        manifest shard; how many, when all are intact, else None."""
        if self.packed is not None:
            return self.packed.intact(self.output, index)
        assert self.sizes is not None
        part = self.store.read_shard(self.name, index, self.sizes[index])
        return intact(self.output, part, self.config) if part is not None else None

    def _answer(self) -> tuple[int, int, int] | None:
        """The helper's next answer; None once it ended."""
        data = b""
        while len(data) < ANSWER.size:
            chunk = os.read(self.answers, ANSWER.size - len(data))
            if not chunk:
                return None
            data += chunk
        return ANSWER.unpack(data)

    def _answers(self) -> dict[int, int | None] | None:
        """The helper's shard answers, once it ended; None unless it ended well."""
        answers = dict(self.early)
        while (answer := self._answer()) is not None:
            kind, index, value = answer
            if kind == OUTPUT:
                answers[index] = value - 1 if value else None
        return answers if self._reap() else None

    def _stop(self) -> None:
        if self.helper:
            with suppress(OSError):
                os.kill(self.helper, signal.SIGKILL)
            self._reap()

    def _reap(self) -> bool:
        """Wait for the helper to end: whether it ended well."""
        pid, self.helper = self.helper, 0
        try:
            _pid, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return False
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _cuts(names: bytes, chunks: int) -> list[tuple[int, int]]:
    """Where each chunk of the ``packed`` names starts (byte, file index), cut after
    the NUL that ends each equal share of the bytes (no path is looked at: ~100 cuts
    of 100,000 names), and where they end."""
    cuts = [(0, 0)]
    for share in range(1, chunks):
        cut = names.find(b"\0", len(names) * share // chunks) + 1
        if cuts[-1][0] < cut < len(names):
            cuts.append((cut, cuts[-1][1] + names.count(b"\0", cuts[-1][0], cut)))
    cuts.append((len(names), cuts[-1][1] + names.count(b"\0", cuts[-1][0])))
    return cuts


def _stamps_by_folder(paths: list[str]) -> array[int]:
    """Each file's mtime_ns and size, one after the other ((-1, -1) when it went
    meanwhile; ``wrapped`` past 2262), statted relative to its open folder (paths come
    folder by folder: the lookup of a folder's path from the root was a third of each
    stat), a folder's files in one C loop (``_stats_in``)."""
    found = array("q")
    for head, parts in groupby(map(methodcaller("rpartition", "/"), paths), itemgetter(0)):
        names = list(map(itemgetter(2), parts))
        descriptor = _open_folder(head)
        try:
            try:
                found += _stats_in(descriptor, names if descriptor >= 0 else
                                   [f"{head}/{name}" for name in names], MTIME_SIZE)
            except (OSError, OverflowError):  # a file gone meanwhile, a date past 2262
                found += array("q", chain.from_iterable(
                    _stamp_each(descriptor, head, name) for name in names))
        finally:
            if descriptor >= 0:
                os.close(descriptor)
    return found


MTIME_SIZE = attrgetter("st_mtime_ns", "st_size")
SIZE_MTIME = attrgetter("st_size", "st_mtime_ns")


def _stamp_each(descriptor: int, head: str, name: str) -> tuple[int, int]:
    try:
        status = os.stat(name, dir_fd=descriptor) if descriptor >= 0 else \
            os.stat(f"{head}/{name}")
    except OSError:
        return -1, -1
    return wrapped(status.st_mtime_ns), wrapped(status.st_size)


def _stats_in(folder: int, names: list[str], fields: attrgetter[tuple[int, int]]
              ) -> array[int]:
    """The ``fields`` of each name's ``os.stat``, one after the other, relative to the
    open ``folder`` (-1: names are paths), in one C loop (each stat's record freed
    before the next is made): the folder is made the working folder for it where no
    other thread can see that (then made again what it was), else passed by ``dir_fd``
    (``partial``: a third more of the interpreter's time a file). Raises as
    ``os.stat`` does, and OverflowError for a date past 2262."""
    if folder < 0:
        return array("q", chain.from_iterable(map(fields, map(os.stat, names))))
    back = -1
    if CHDIR and _only_thread():
        with suppress(OSError):  # (no way back to the working folder: keep it)
            back = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    if back < 0:
        return array("q", chain.from_iterable(map(fields, map(partial(
            os.stat, dir_fd=folder), names))))
    try:
        os.fchdir(folder)
        return array("q", chain.from_iterable(map(fields, map(os.stat, names))))
    finally:
        os.fchdir(back)
        os.close(back)


CHDIR = hasattr(os, "fchdir") and BY_FOLDER


def _only_thread() -> bool:
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _open_folder(path: str) -> int:
    """A descriptor of the folder (-1: none, its files are then statted by path)."""
    if not BY_FOLDER or not path:
        return -1
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return -1


def _read_waiting(descriptor: int, size: int) -> bytes:
    """A read that waits for data even when the helper made the pipe non-blocking."""
    while True:
        try:
            return os.read(descriptor, size)
        except BlockingIOError:
            select.select([descriptor], [], [])


def can_fork() -> bool:
    """Whether a helper process may be forked here: a system with ``fork`` where a
    forked child of a Python process is safe (not macOS, whose system libraries may not
    be), and no other thread runs (its locks would be copied held)."""
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    return _only_thread()


def summary_line(pages: int, articles: tuple[tuple[str, int], ...], counts: Mapping[str, int],
                 rendered: int, written: int, unchanged: int, removed: int, search: str,
                 seconds: float, output: Path) -> str:
    """The line ``newshub build`` ends with."""
    per_lang = ", ".join(f"{lang} {count}" for lang, count in articles)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    shown = f"{pages} page{'' if pages == 1 else 's'}"
    return (f"Built {shown} (articles: {per_lang}); {kinds}; {rendered} rendered, "
            f"{written} written, {unchanged} unchanged, {removed} removed"
            f"{'; ' + search if search else ''} in {seconds:.2f} s → {output}")
