"""What the last finished build of an output folder was made from, so that a rebuild
with nothing to do is recognised before the engine (Jinja, Pillow, Markdown) is even
imported: ``newshub build`` asks ``unchanged`` first and prints what the last build
found. Its cost is then the stats of the site's files and of the outputs (each as the
last build left it), not a third of a second of imports.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from generator import __version__
from generator.cache import CACHE_FOLDER, Store, manifest_name
from generator.config import SiteConfig
from generator.deps import ENGINE_VERSION, digest
from generator.errors import Problem
from generator.files import PUBLISHED_DOTFOLDERS
from generator.files import stamps as file_stamps
from generator.lock import build_locks
from generator.model import well_typed
from generator.theme import locale_layers, theme_layers

SNAPSHOT_PREFIX = "snapshot-"
WRITING_PREFIX = "writing-"  # beside the cache's lock while a build writes an output folder
Entry = tuple[str, int, int]  # an output's key, and its file's (size, mtime_ns) as written


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The last finished build, to recognise a rebuild with nothing to do."""

    inputs: str  # digest of every input file's stamp and of the settings
    due: float  # when the earliest future-dated post becomes due (inf: none)
    counts: dict[str, int]
    warnings: tuple[Problem, ...]
    articles: tuple[tuple[str, int], ...]
    pages: int
    search: str = ""  # the summary's words on the search index (``search.describe``)


@dataclass(frozen=True, slots=True)
class Taken:
    """Every input file's stamp (path → (path, mtime_ns, size)), and the symlinks
    refused (links out of the site: never a build with nothing to do)."""

    stamps: dict[str, tuple[str, int, int]]
    refused: tuple[str, ...]
    made: dict[str, str] = field(default_factory=dict, compare=False)  # digests made

    def settings(self, config: SiteConfig) -> str:
        """A digest of what besides the files decides the build."""
        return digest(ENGINE_VERSION, __version__, repr(config), self.refused)

    def inputs(self, config: SiteConfig) -> str:
        """A digest of the files' stamps and the settings: equal means nothing changed
        (made once per settings: the stamps of 100,000 files take a tenth of a second)."""
        settings = repr(config)
        if settings not in self.made:
            self.made[settings] = digest(ENGINE_VERSION, __version__, settings,
                                         tuple(self.stamps.values()), self.refused)
        return self.made[settings]


def take(config: SiteConfig) -> Taken:
    """Stamp every input: content, theme and catalog layers, static/, site.toml."""
    stamps: list[tuple[str, int, int]] = []
    refused: list[Problem] = []
    folders = (config.content_dir, *theme_layers(config), *locale_layers(config),
               config.root / "static")
    for folder in folders:
        site = config.root if folder.is_relative_to(config.root) else None  # else bundled
        stamps += file_stamps(folder, site, refused, keep=PUBLISHED_DOTFOLDERS)
    toml = config.root / "site.toml"
    if toml.is_file():
        stamps.append(_file_stamp(str(toml)))
    return Taken({stamp[0]: stamp for stamp in stamps}, tuple(map(str, refused)))


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
        type(value.search) is str and isinstance(value.counts, dict) and \
        all(type(k) is str and type(n) is int for k, n in value.counts.items()) and \
        isinstance(value.warnings, tuple) and \
        all(well_typed(problem, Problem) for problem in value.warnings) and \
        isinstance(value.articles, tuple) and all(
            type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str and
            type(pair[1]) is int for pair in value.articles)


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
    system allows: no lookup of the folder's own path each time); None when one is not."""
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
    finally:
        if folder >= 0:
            os.close(folder)
    return owned


BY_FOLDER = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


def unchanged(config: SiteConfig, output: Path) -> tuple[Snapshot, int] | Taken | None:
    """The last build's snapshot and its number of outputs when nothing it was made
    from changed and every output is as it left it; else the stamps just taken (for the
    build to use), or None. The outputs are checked while the inputs are stamped, by a
    helper process where one can be forked (``OutputCheck``)."""
    if not output.is_dir():
        return None
    root = config.root
    shown = f"{output.relative_to(root)}/" if output.is_relative_to(root) else str(output)
    store = Store(root)
    with build_locks(output, root / CACHE_FOLDER, shown):
        last = last_snapshot(store, output)
        if last is None or time.time() >= last.due or interrupted(config, output):
            return None
        with OutputCheck(store, output, config) as outputs:
            taken = take(config)
            if taken.inputs(config) != last.inputs:
                return taken  # (the helper is stopped: an edit's build needs no answer)
            owned = outputs.owned()
    return (last, owned) if owned is not None else taken


RECORD = 5  # a helper's answer for one shard: its index, then its count + 1 (0: not intact)


class OutputCheck:
    """Whether every output is as the last build left it, one manifest shard at a time.

    A stat costs a few microseconds in the kernel and threads do not overlap them, but
    two processes do: on entering, a helper is forked (where that is safe) and starts
    on the shards at once, while this process stamps the inputs; then ``owned`` takes
    the shards still left. The shards are handed out through a pipe holding one byte
    per shard (a read takes one: each shard is checked once, by whichever process is
    free), and the helper answers through another. A shard without an answer (the
    helper failed or was stopped) means "not intact": never a wrong "nothing to do".
    Leaving the ``with`` block stops a helper still at work."""

    def __init__(self, store: Store, output: Path, config: SiteConfig) -> None:
        self.store, self.output, self.config = store, output, config
        self.name = manifest_name(output)
        self.sizes = store.shard_sizes(self.name)
        self.tasks = -1  # the pipe handing out shard indexes (its reading end)
        self.answers = -1  # the helper's answers (reading end)
        self.helper = 0  # its process id while it may run

    def __enter__(self) -> OutputCheck:
        if self.sizes is None:
            return self
        self.tasks, handing = os.pipe()
        os.write(handing, bytes(range(len(self.sizes))))  # fits any pipe's buffer
        if can_fork():
            self._fork(handing)
        os.close(handing)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.helper:
            with suppress(OSError):
                os.kill(self.helper, signal.SIGKILL)
            self._reap()
        for descriptor in (self.tasks, self.answers):
            if descriptor >= 0:
                os.close(descriptor)
        self.tasks = self.answers = -1

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
        if None in counts.values() or len(counts) != len(self.sizes):
            return None
        return sum(count for count in counts.values() if count is not None)

    def _fork(self, handing: int) -> None:
        answers, answering = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: this one checks every shard
            os.close(answers)
            os.close(answering)
            return
        if pid == 0:  # the helper: answer, and never return into the caller's code
            code = 1
            try:
                gc.disable()  # no finalizer of the caller's objects runs here
                os.close(handing)
                os.close(answers)
                for index, count in self._check_shards().items():
                    os.write(answering, bytes((index,)) + (
                        0 if count is None else count + 1).to_bytes(RECORD - 1, "little"))
                code = 0
            finally:
                os._exit(code)
        os.close(answering)
        self.helper, self.answers = pid, answers

    def _check_shards(self) -> dict[int, int | None]:
        """Check shards as long as the pipe hands some out: each one's number of owned
        outputs, or None (then the rest are taken and left unchecked)."""
        counts: dict[int, int | None] = {}
        assert self.sizes is not None
        while task := os.read(self.tasks, 1):
            index = task[0]
            counts[index] = count = self._check_shard(index, self.sizes[index])
            if count is None:
                while os.read(self.tasks, len(self.sizes)):  # none is worth checking now
                    pass
        return counts

    def _check_shard(self, index: int, size: int) -> int | None:
        part = self.store.read_shard(self.name, index, size)
        return intact(self.output, part, self.config) \
            if part is not None and valid_manifest(part) else None

    def _answers(self) -> dict[int, int | None] | None:
        """The helper's answers, once it ended; None unless it ended well."""
        data = bytearray()
        while chunk := os.read(self.answers, 4096):
            data += chunk
        if not self._reap() or len(data) % RECORD:
            return None
        answers: dict[int, int | None] = {}
        for at in range(0, len(data), RECORD):
            value = int.from_bytes(data[at + 1:at + RECORD], "little")
            answers[data[at]] = value - 1 if value else None
        return answers

    def _reap(self) -> bool:
        """Wait for the helper to end: whether it ended well."""
        pid, self.helper = self.helper, 0
        try:
            _pid, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return False
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def can_fork() -> bool:
    """Whether a helper process may be forked here: a system with ``fork`` where a
    forked child of a Python process is safe (not macOS, whose system libraries may not
    be), and no other thread runs (its locks would be copied held)."""
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


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
