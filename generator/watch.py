"""Watching a site: classify each file event, ignore editor noise, debounce bursts.

An editor's save is several events (a temp file, a rename, a chmod); the watcher
waits until the burst is over, then reports the set of changes once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from generator.config import CONFIG_FILE
from generator.files import PUBLISHED_DOTFOLDERS, is_noise

DEBOUNCE_SECONDS = 0.2
WATCHED_FOLDERS = ("content", "themes", "locales", "static")
IGNORED_FOLDERS = {".git", ".hg", ".svn", "output", ".newshub-cache", "__pycache__", ".venv",
                   "node_modules", ".pytest_cache", ".ruff_cache"}


class ChangeKind(Enum):
    CONTENT = "content"
    TEMPLATE = "template"
    THEME_STATIC = "theme static"
    CATALOG = "catalog"
    CONFIG = "config"
    STATIC = "static"


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    path: PurePath  # relative to the site folder


def classify(relative: PurePath) -> ChangeKind | None:
    """What a changed file is to the site, or None when it does not matter."""
    parts = relative.parts
    if not parts or is_noise(relative.name):
        return None
    if any(part in IGNORED_FOLDERS or (is_noise(part) and part not in PUBLISHED_DOTFOLDERS)
           for part in parts[:-1]) or parts[0] in IGNORED_FOLDERS:
        return None
    if parts == (CONFIG_FILE,):
        return ChangeKind.CONFIG
    top = parts[0]
    if top == "content":
        return ChangeKind.CONTENT
    if top == "themes" and len(parts) > 2:
        if parts[2] == "templates":
            return ChangeKind.TEMPLATE
        if parts[2] == "static":
            return ChangeKind.THEME_STATIC
        return ChangeKind.TEMPLATE if parts[2] == "fonts" else None
    if top == "locales" and relative.suffix in (".po", ".pot"):
        return ChangeKind.CATALOG
    if top == "static":
        return ChangeKind.STATIC
    return None


class _Collector(FileSystemEventHandler):
    """Gathers relevant changes and fires ``on_batch`` once a burst has settled."""

    def __init__(self, root: Path, on_batch: Callable[[frozenset[Change]], None],
                 delay: float, on_new_folder: Callable[[], None]) -> None:
        self.root = root
        self.on_batch = on_batch
        self.on_new_folder = on_new_folder
        self.delay = delay
        self.pending: set[Change] = set()
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                self.on_new_folder()
            if event.event_type == "modified":
                return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        changes = [c for c in (self._change(p) for p in paths if p) if c is not None]
        if changes:
            self._add(changes)

    def _change(self, path: str | bytes) -> Change | None:
        text = path.decode() if isinstance(path, bytes) else path
        try:
            relative = PurePath(Path(text).relative_to(self.root))
        except ValueError:
            return None
        kind = classify(relative)
        return Change(kind, relative) if kind else None

    def _add(self, changes: Iterable[Change]) -> None:
        with self.lock:
            self.pending.update(changes)
            if self.timer is not None:
                self.timer.cancel()
            self.timer = threading.Timer(self.delay, self._fire)
            self.timer.daemon = True
            self.timer.start()

    def _fire(self) -> None:
        with self.lock:
            batch, self.pending = frozenset(self.pending), set()
            self.timer = None
        if batch:
            self.on_batch(batch)

    def cancel(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()


class Watcher:
    """Watches a site folder; calls ``on_batch`` with each settled set of changes."""

    def __init__(self, root: Path, on_batch: Callable[[frozenset[Change]], None],
                 delay: float = DEBOUNCE_SECONDS) -> None:
        self.root = root.resolve()
        self.collector = _Collector(self.root, on_batch, delay, self.watch_new_folders)
        self.observer = Observer()
        self.watched: set[str] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        # Only the site's own folders: a recursive watch on the root would also
        # watch output/ and .venv/, thousands of folders and inotify watches.
        self.observer.schedule(self.collector, str(self.root), recursive=False)
        self.observer.start()
        self.watch_new_folders()

    def watch_new_folders(self) -> None:
        """Start watching site folders that appeared since (``locales/`` created later)."""
        with self.lock:
            for name in WATCHED_FOLDERS:
                folder = self.root / name
                if name not in self.watched and folder.is_dir():
                    self.observer.schedule(self.collector, str(folder), recursive=True)
                    self.watched.add(name)

    def stop(self) -> None:
        self.collector.cancel()
        if self.observer.is_alive():  # a server stopped during its first build never started it
            self.observer.stop()
            self.observer.join(timeout=5)
