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
import os
import pickle
import shutil
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

Reducers = Mapping[type, Callable[[Any], tuple[Any, ...]]]  # as copyreg.pickle takes them
CACHE_FOLDER = ".newshub-cache"
CACHE_VERSION = 3  # 3: manifests hold each output file's size and mtime
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
    ("generator.load", "Parsed"), ("generator.errors", "Problem"),
    ("generator.build", "Snapshot"),
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
        if not self.folder.is_dir() and not self._make_folder():
            return
        target = self.folder / f"{name}.pickle"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as handle:
                pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
                if reducers:
                    pickler.dispatch_table = copyreg.dispatch_table | dict(reducers)
                pickler.dump(value)
            os.replace(temporary, target)
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            temporary.unlink(missing_ok=True)  # a value too deep to store is made again

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
        for folder in self.folder.parent.glob("v*"):
            if folder != self.folder and folder.name[1:].isdigit() and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)


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
        full = self.store.read(self.name)
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

    def write(self, current: Mapping[str, Any]) -> None:
        """Save ``current`` as a journal entry per changed key, or as a new full copy."""
        changed = {key: value for key, value in current.items()
                   if self.saved.get(key) is not value}
        removed = self.saved.keys() - current.keys()
        pending = len(self.journal) + len(changed) + len(removed)
        if not self.complete or pending > max(100, self.fold_share * len(current)):
            self.store.delete(self.name + "-journal")
            self.store.write(self.name, dict(current), self.reducers)
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


class BodyStore:
    """HTML bodies by content digest, read shard by shard as pages ask for them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._shards: dict[str, dict[str, str]] = {}

    def body(self, digest: str) -> str | None:
        """The stored body, or None when it is not there (a deleted cache file)."""
        name = body_shard(digest)
        if name not in self._shards:
            self._shards[name] = _bodies(self.store.read(name))
        body = self._shards[name].get(digest)
        return body if isinstance(body, str) else None

    def save(self, new: dict[str, str], live: set[str], gone: set[str]) -> None:
        """Add ``new`` bodies; drop bodies no live page has any more (``gone``), by
        rewriting only the shards either touches."""
        touched: dict[str, dict[str, str]] = {}
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


def _bodies(shard: Any) -> dict[str, str]:
    return shard if isinstance(shard, dict) else {}
