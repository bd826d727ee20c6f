"""The persistent build cache: ``SITE/.newshub-cache/``, safe to delete at any time.

It holds parsed sources (reused while their files are unchanged) and, per output
folder, the manifest of what each output file was built from. Everything is
versioned: a newshub that changes the shape of these records ignores older ones.

Parsed sources are kept in two parts, so a rebuild after one edit reads and writes
little: an index of page records without their HTML bodies, and the bodies in
shards addressed by each source's content digest, read only when a page that is
rendered again needs one.

Reading the cache never runs code: entries are pickles, but read by an unpickler that
builds only plain data and the record classes named in ``SAFE_GLOBALS`` (a crafted
entry naming anything else, like ``os.system``, reads as missing). Readers check the
shape of what they get, so a damaged or crafted entry costs a rebuild, never a crash.
"""

from __future__ import annotations

import copyreg
import hashlib
import importlib
import io
import os
import pickle
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from functools import cache, partial
from pathlib import Path
from typing import Any, BinaryIO

Reducers = Mapping[type, Callable[[Any], tuple[Any, ...]]]  # as copyreg.pickle takes them
CACHE_FOLDER = ".newshub-cache"
CACHE_VERSION = 4  # 3: manifests hold each output file's size and mtime; 4: records
# pickled as their field values (model.record_of, model.path_of), the parse index in parts
# Everything besides plain data (str, bytes, numbers, tuples, lists, dicts, sets) that a
# cache entry may hold: the records newshub stores and the few standard types in them.
SAFE_GLOBALS = frozenset({
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("pathlib", "PosixPath"), ("pathlib", "PurePosixPath"), ("pathlib", "WindowsPath"),
    ("pathlib", "PureWindowsPath"), ("pathlib._local", "PosixPath"),
    ("pathlib._local", "PurePosixPath"), ("pathlib._local", "WindowsPath"),
    ("pathlib._local", "PureWindowsPath"),
    ("generator.model", "Page"), ("generator.model", "read_only"),  # MappingProxyType
    ("generator.model", "record_of"), ("generator.model", "path_of"),  # Page, Parsed; Path
    ("generator.load", "Parsed"), ("generator.errors", "Problem"),
    ("generator.snapshot", "Snapshot"),
})


class _SafeUnpickler(pickle.Unpickler):
    """Builds only plain data and the allowed classes (as fast as ``pickle.load``: each
    class is looked up once per entry)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"not allowed in the cache: {module}.{name}")
        return getattr(importlib.import_module(module), name)


class Store:
    """Pickled values by name; a missing, unreadable, damaged or crafted entry reads as
    None. Writing is best effort: a cache that cannot be written costs time only."""

    def __init__(self, root: Path) -> None:
        self.folder = root / CACHE_FOLDER / f"v{CACHE_VERSION}"

    def read(self, name: str) -> Any:
        try:
            with (self.folder / f"{name}.pickle").open("rb") as handle:
                return _SafeUnpickler(handle).load()
        except Exception:  # whatever is wrong with it, it is not there
            return None

    def delete(self, name: str) -> None:
        with suppress(OSError):
            (self.folder / f"{name}.pickle").unlink(missing_ok=True)

    def write(self, name: str, value: Any, reducers: Reducers | None = None) -> None:
        """Pickle ``value`` under ``name``; ``reducers`` pickle some types differently
        here (as ``copyreg`` functions do everywhere)."""
        self._write(name, partial(_dump, value, reducers))

    def _write(self, name: str, dump: Callable[[BinaryIO], object]) -> bool:
        """Write an entry with ``dump`` (to a temporary file, then renamed)."""
        if not self.folder.is_dir() and not self._make_folder():
            return False
        target = self.folder / f"{name}.pickle"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as handle:
                dump(handle)
            os.replace(temporary, target)
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            temporary.unlink(missing_ok=True)  # a value too deep to store is made again
            return False
        return True

    def write_sharded(self, name: str, mapping: Mapping[str, Any],
                      reducers: Reducers | None = None, spread: bool = False) -> None:
        """Store a large mapping of paths in ``SHARDS`` entries by folder, so a lookup
        or a change of a few entries reads and writes a few (``read_sharded``,
        ``sharded_view``, ``update_sharded``); a header names each shard's size. With
        ``spread``, by the whole path (for a mapping only ever read whole: pickling it a
        shard at a time holds a shard's objects in memory at once, not all of them)."""
        parts: list[dict[str, Any]] = [{} for _ in range(SHARDS)]
        crc32 = zlib.crc32
        if spread:
            for key, value in mapping.items():
                parts[crc32(key.encode()) % SHARDS][key] = value
        else:
            for key, value in mapping.items():  # (``shard_index``, without its call)
                parts[crc32(key.rpartition("/")[0].encode()) % SHARDS][key] = value
        self.delete(name)  # no header until every shard is written
        for index, part in enumerate(parts):
            self.write(_shard_name(name, index), part, reducers)
        self.write(name, (SHARDED, tuple(map(len, parts))))

    def write_parts(self, name: str, parts: Iterable[tuple[bytes, int]]) -> None:
        """Store a mapping ``read_sharded`` reads whole, from parts pickled elsewhere
        (each the bytes of a pickled dict, and its size): the parse index as the parse
        workers pickled it. Any shards it was stored in before are removed."""
        self.delete_sharded(name)  # no header until every part is written
        sizes = []
        for index, (data, size) in enumerate(parts):
            if not self._write(_part_name(name, index), partial(_put, data)):
                return
            sizes.append(size)
        self.write(name, (IN_PARTS, tuple(sizes)))

    def read_sharded(self, name: str) -> dict[str, Any] | None:
        """The whole mapping (one stored whole, as older versions did, or in parts, too);
        None when a shard is missing or damaged."""
        head = self.read(name)
        if isinstance(head, dict):
            return head
        sizes, shard = _sizes(head), _shard_name
        if sizes is None:
            sizes, shard = _part_sizes(head), _part_name
        if sizes is None:
            return None
        found: dict[str, Any] = {}
        for index, size in enumerate(sizes):
            part = self.read(shard(name, index))
            if not isinstance(part, dict) or len(part) != size:
                return None
            found.update(part)
        return found

    def shard_sizes(self, name: str) -> tuple[int, ...] | None:
        """The size of each of a sharded mapping's ``SHARDS`` shards (its header); None
        when it is not stored in shards."""
        return _sizes(self.read(name))

    def read_shard(self, name: str, index: int, size: int) -> dict[str, Any] | None:
        """One shard of a sharded mapping; None when it is missing, damaged or not of
        the ``size`` its header names."""
        part = self.read(_shard_name(name, index))
        return part if isinstance(part, dict) and len(part) == size else None

    def sharded_view(self, name: str,
                     valid: Callable[[dict[str, Any]], bool]) -> ShardedView | None:
        """The mapping read shard by shard as keys are looked up (each shard checked by
        ``valid``); None when it is not stored in shards."""
        sizes = _sizes(self.read(name))
        return ShardedView(self, name, sizes, valid) if sizes is not None else None

    def update_sharded(self, name: str, changes: Mapping[str, Any]) -> bool:
        """Apply ``changes`` to the shards they fall in, None removing a key (False: not
        stored in shards, or a shard is damaged; nothing was changed)."""
        sizes = _sizes(self.read(name))
        if sizes is None:
            return False
        touched: dict[int, dict[str, Any]] = {}
        for key, value in changes.items():
            index = shard_index(key)
            if index not in touched:
                part = self.read(_shard_name(name, index))
                if not isinstance(part, dict) or len(part) != sizes[index]:
                    return False
                touched[index] = dict(part)
            if value is None:
                touched[index].pop(key, None)
            else:
                touched[index][key] = value
        self.delete(name)
        updated = list(sizes)
        for index, part in touched.items():
            self.write(_shard_name(name, index), part)
            updated[index] = len(part)
        self.write(name, (SHARDED, tuple(updated)))
        return True

    def sharded_identity(self, name: str) -> tuple[tuple[int, int, int, int], ...]:
        """The identity (inode, size, mtime, ctime; -1s: missing) of a sharded mapping's
        header and shards, for what is derived from it: every change of the mapping
        writes its header anew (``write_sharded``, ``update_sharded``)."""
        identities = []
        for entry in (name, *(_shard_name(name, index) for index in range(SHARDS))):
            try:
                status = os.stat(self.folder / f"{entry}.pickle")
            except OSError:
                identities.append((-1, -1, -1, -1))
                continue
            identities.append((status.st_ino, status.st_size, status.st_mtime_ns,
                               status.st_ctime_ns))
        return tuple(identities)

    def delete_sharded(self, name: str) -> None:
        self.delete(name)
        for index in range(SHARDS):
            self.delete(_shard_name(name, index))
        self.delete_parts(name)

    def delete_parts(self, name: str) -> None:
        """Remove the parts of a mapping ``write_parts`` stored (whatever its header says)."""
        with suppress(OSError):
            for entry in self.folder.glob(f"{_part_name(name, '')}*.pickle"):
                if entry.stem.removeprefix(_part_name(name, "")).isdigit():
                    entry.unlink(missing_ok=True)

    def _make_folder(self) -> bool:
        """Create the version folder (replacing a file of that name); False when the
        cache cannot be written here."""
        try:
            if self.folder.is_file() or self.folder.is_symlink():
                self.folder.unlink()
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        self._remove_other_versions()
        return True


    def _remove_other_versions(self) -> None:
        """Entries an older (or newer) newshub wrote are never read here: drop them."""
        import shutil  # here: a rebuild with nothing to do never imports it (snapshot.py)

        for folder in self.folder.parent.glob("v*"):
            if folder != self.folder and folder.name[1:].isdigit() and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)


SHARDS = 64
SHARDED = "sharded-v1"
IN_PARTS = "parts-v1"  # a mapping stored in parts pickled elsewhere (``write_parts``)


def shard_index(key: str) -> int:
    """A path's shard: by its folder, so a page and its compressed copies share one."""
    return zlib.crc32(key.rpartition("/")[0].encode()) % SHARDS


def _shard_name(name: str, index: int) -> str:
    return f"{name}-{index:02x}"


def _part_name(name: str, index: int | str) -> str:
    return f"{name}-part{index}"


def _part_sizes(head: Any) -> tuple[int, ...] | None:
    if type(head) is tuple and len(head) == 2 and head[0] == IN_PARTS and \
            type(head[1]) is tuple and all(type(size) is int for size in head[1]):
        return head[1]
    return None


def _dump(value: Any, reducers: Reducers | None, handle: BinaryIO) -> None:
    pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
    if reducers:
        pickler.dispatch_table = copyreg.dispatch_table | dict(reducers)
    pickler.dump(value)


def _put(data: bytes, handle: BinaryIO) -> None:
    handle.write(data)


def pickled(value: Any, reducers: Reducers | None = None) -> bytes:
    """``value`` pickled as ``Store.write`` pickles it (for ``Store.write_parts``)."""
    buffer = io.BytesIO()
    _dump(value, reducers, buffer)
    return buffer.getvalue()


def _sizes(head: Any) -> tuple[int, ...] | None:
    if type(head) is tuple and len(head) == 2 and head[0] == SHARDED and \
            type(head[1]) is tuple and len(head[1]) == SHARDS and \
            all(type(size) is int for size in head[1]):
        return head[1]
    return None


class ShardedView(Mapping[str, Any]):
    """A sharded mapping read shard by shard as it is used (iterating reads it all)."""

    def __init__(self, store: Store, name: str, sizes: tuple[int, ...],
                 valid: Callable[[dict[str, Any]], bool]) -> None:
        self.store, self.name, self.sizes, self.valid = store, name, sizes, valid
        self.parts: dict[int, dict[str, Any]] = {}

    def _part(self, index: int) -> dict[str, Any]:
        part = self.parts.get(index)
        if part is None:
            part = self.store.read(_shard_name(self.name, index))
            if not isinstance(part, dict) or len(part) != self.sizes[index] or \
                    not self.valid(part):
                raise DamagedShard(self.name)
            self.parts[index] = part
        return part

    def __getitem__(self, key: str) -> Any:
        return self._part(shard_index(key))[key]

    def whole(self) -> dict[str, Any]:
        """Every entry, read shard by shard (a dict's update each, not a lookup a key)."""
        found: dict[str, Any] = {}
        for index in range(SHARDS):
            found.update(self._part(index))
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._part(shard_index(key))

    def __iter__(self) -> Iterator[str]:
        for index in range(SHARDS):
            yield from self._part(index)

    def __len__(self) -> int:
        return sum(self.sizes)


class DamagedShard(LookupError):
    """A shard missing or damaged in the cache: the caller takes its longer way."""


class JournaledMapping:
    """A large mapping kept as a full copy plus a journal of the entries changed since,
    so saving after one edit writes one entry, not ten thousand. Reading applies the
    journal; it is folded into a new full copy once it grows past a share of it.
    (Entries are validated again when used, so a journal lost in a crash costs time,
    never correctness.)"""

    def __init__(self, store: Store, name: str, fold_share: float = 0.05,
                 reducers: Reducers | None = None) -> None:
        self.store = store
        self.name = name
        self.reducers = reducers  # how values are stored (see Store.write)
        self.fold_share = fold_share
        self.journal: dict[str, Any] = {}
        self.saved: dict[str, Any] = {}  # what the files hold, by identity
        self.complete = False  # a full copy exists

    def read(self) -> dict[str, Any]:
        full = self.store.read_sharded(self.name)
        journal = self.store.read(self.name + "-journal") if full is not None else None
        self.complete = isinstance(full, dict)
        values = dict(full) if self.complete else {}
        self.journal = journal if isinstance(journal, dict) else {}
        for key, value in self.journal.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        self.saved = dict(values)
        return values

    def write(self, current: Mapping[str, Any],
              parts: Sequence[tuple[bytes, int]] | None = None) -> None:
        """Save ``current`` as a journal entry per changed key, or as a new full copy;
        ``parts``: ``current`` already pickled, in parts (``Store.write_parts``)."""
        if parts is not None and sum(size for _data, size in parts) == len(current):
            self.store.delete(self.name + "-journal")
            self.store.write_parts(self.name, parts)
            self.journal, self.complete, self.saved = {}, True, dict(current)
            return
        changed = {key: value for key, value in current.items()
                   if self.saved.get(key) is not value}
        removed = self.saved.keys() - current.keys()
        pending = len(self.journal) + len(changed) + len(removed)
        if not self.complete or pending > max(100, self.fold_share * len(current)):
            self.store.delete(self.name + "-journal")
            self.store.write_sharded(self.name, current, self.reducers, spread=True)
            self.store.delete_parts(self.name)  # (stored in parts before)
            self.journal, self.complete = {}, True
        elif changed or removed:
            self.journal.update(changed)
            self.journal.update(dict.fromkeys(removed))
            self.store.write(self.name + "-journal", self.journal, self.reducers)
        self.saved = dict(current)

    def amend(self, changed: Mapping[str, Any]) -> None:
        """Add ``changed`` to the journal without reading the full copy (a build that
        read none of it: an edit's, ``generator.delta``); the next ``write`` folds it."""
        journal = self.store.read(self.name + "-journal")
        journal = dict(journal) if isinstance(journal, dict) else {}
        journal.update(changed)
        self.store.write(self.name + "-journal", journal, self.reducers)


KEY_BYTES = 32


@cache
def secret_key() -> bytes | None:
    """A random key of this user's, kept outside every site
    (``$XDG_CACHE_HOME/newshub/key``, by default ``~/.cache/newshub/key``, mode 600).
    Cache entries that hold code (compiled templates) are signed with it, so one planted
    in a site's cache (a committed ``.newshub-cache``, a restored CI cache) never runs.
    None when no key can be kept: such entries are then not kept either."""
    try:
        home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(home, "newshub", "key")
        with suppress(OSError):
            key = path.read_bytes()
            if len(key) >= KEY_BYTES:
                return key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".key.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
        try:
            os.link(temporary, path)  # fails if another process made one meanwhile
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        key = path.read_bytes()
    except (OSError, RuntimeError):  # no home folder, or not writable
        return None
    return key if len(key) >= KEY_BYTES else None


def signature(key: bytes, data: bytes) -> bytes:
    """A keyed digest of ``data`` (32 bytes)."""
    return hashlib.blake2b(data, key=key[:64], digest_size=32).digest()


def manifest_name(output: Path) -> str:
    """One manifest per output folder (a dev server's folder differs from output/)."""
    return "manifest-" + hashlib.blake2b(str(output.resolve()).encode(),
                                         digest_size=8).hexdigest()


def body_shard(digest: str) -> str:
    """The shard holding a body: the first two hex digits of its content digest."""
    return f"bodies-{digest[:2] or '00'}"


Body = str | bytes  # a body as text, or as the UTF-8 bytes a parse worker spilled


class BodyStore:
    """HTML bodies by content digest, read shard by shard as pages ask for them.

    A body is stored as text or as UTF-8 bytes (``Spill.raw``): a cold build saves the
    bodies its workers spilled without decoding them and encoding them again."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._shards: dict[str, dict[str, Body]] = {}
        self._kept: dict[str, str] = {}  # bodies read ahead without their shards (``keep``)
        self.shards_read = 0  # what the bodies asked for cost (a shard: ~400 at 100,000)

    def body(self, digest: str) -> str | None:
        """The stored body, or None when it is not there (a deleted cache file)."""
        kept = self._kept.get(digest)
        if kept is not None:
            return kept
        name = body_shard(digest)
        if name not in self._shards:
            self._shards[name] = _bodies(self.store.read(name))
            self.shards_read += 1
        return _text(self._shards[name].get(digest))

    def keep(self, digests: Iterable[str]) -> None:
        """Read these bodies now and keep them, not their shards (a body's digest names
        its content: a kept one never goes stale). A server does this while it waits
        for the first save, for the bodies its feeds show."""
        wanted: dict[str, list[str]] = {}
        for digest in digests:
            if digest not in self._kept:
                wanted.setdefault(body_shard(digest), []).append(digest)
        for name, digests_there in wanted.items():
            shard = self._shards.get(name) or _bodies(self.store.read(name))
            for digest in digests_there:
                body = _text(shard.get(digest))
                if body is not None:
                    self._kept[digest] = body

    def save(self, new: Mapping[str, Body], live: set[str], gone: set[str]) -> None:
        """Add ``new`` bodies; drop bodies no live page has any more (``gone``), by
        rewriting only the shards either touches."""
        touched: dict[str, dict[str, Body]] = {}
        for digest in (*new, *gone):
            name = body_shard(digest)
            if name not in touched:
                touched[name] = dict(self._shards.get(name) or _bodies(self.store.read(name)))
        for digest, body in new.items():
            touched[body_shard(digest)][digest] = body
        for name, bodies in touched.items():
            kept = {digest: body for digest, body in bodies.items() if digest in live}
            self.store.write(name, kept)
            self._shards[name] = kept


    def add(self, new: dict[str, str]) -> None:
        """Add bodies (an edit's), leaving the rest of their shards as they are."""
        for digest, body in new.items():
            name = body_shard(digest)
            bodies = dict(self._shards.get(name) or _bodies(self.store.read(name)))
            if bodies.get(digest) != body:
                bodies[digest] = body
                self.store.write(name, bodies)
            self._shards[name] = bodies


def _bodies(shard: Any) -> dict[str, Body]:
    return shard if isinstance(shard, dict) else {}


def _text(body: object) -> str | None:
    """A stored body as text (None: not a body, as a damaged or crafted entry may hold)."""
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return None
    return body if isinstance(body, str) else None
