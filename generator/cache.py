"""The persistent build cache: ``SITE/.newshub-cache/``, safe to delete at any time.

It holds parsed sources (reused while their files are unchanged) and, per output
folder, the manifest of what each output file was built from. Everything is
versioned: a newshub that changes the shape of these records ignores older ones.

Parsed sources are kept in two parts, so a rebuild after one edit reads and writes
little: an index of page records without their HTML bodies, and the bodies in
shards addressed by each source's content digest, read only when a page that is
rendered again needs one.
"""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Reducers = Mapping[type, Callable[[Any], tuple[Any, ...]]]  # as copyreg.pickle takes them
CACHE_FOLDER = ".newshub-cache"
CACHE_VERSION = 2


class Store:
    """Pickled values by name; a missing or unreadable entry reads as None."""

    def __init__(self, root: Path) -> None:
        self.folder = root / CACHE_FOLDER / f"v{CACHE_VERSION}"

    def read(self, name: str) -> Any:
        try:
            with (self.folder / f"{name}.pickle").open("rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                IndexError, TypeError, ValueError):
            return None

    def delete(self, name: str) -> None:
        (self.folder / f"{name}.pickle").unlink(missing_ok=True)

    def write(self, name: str, value: Any, reducers: Reducers | None = None) -> None:
        """Pickle ``value`` under ``name``; ``reducers`` pickle some types differently
        here (as ``copyreg`` functions do everywhere)."""
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._remove_other_versions()
        target = self.folder / f"{name}.pickle"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
            if reducers:
                pickler.dispatch_table = copyreg.dispatch_table | dict(reducers)
            pickler.dump(value)
        os.replace(temporary, target)


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
            self._shards[name] = self.store.read(name) or {}
        return self._shards[name].get(digest)

    def save(self, new: dict[str, str], live: set[str], gone: set[str]) -> None:
        """Add ``new`` bodies; drop bodies no live page has any more (``gone``), by
        rewriting only the shards either touches."""
        touched: dict[str, dict[str, str]] = {}
        for digest in (*new, *gone):
            name = body_shard(digest)
            if name not in touched:
                touched[name] = dict(self._shards.get(name) or self.store.read(name) or {})
        for digest, body in new.items():
            touched[body_shard(digest)][digest] = body
        for name, bodies in touched.items():
            kept = {digest: body for digest, body in bodies.items() if digest in live}
            self.store.write(name, kept)
            self._shards[name] = kept
