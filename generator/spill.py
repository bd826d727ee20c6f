"""Bodies that parse workers keep on disk instead of sending them back (#20).

A cold build of 100,000 stories parsed about 400 MB of HTML bodies that travelled
through the workers' pipes, stayed in the parent's page records for the whole build,
and so in every render worker forked from it. With a spill, each parse worker appends
the bodies it makes to a file of its own and returns the record without its body, as
records read from the cache's index come; the body is read back (``pread``, from the
page cache) when a page is rendered and when the parse cache is saved, then the files
are deleted.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from generator.load import Parsed
from generator.model import replaced

Location = tuple[str, int, int]  # file name in the spill folder, offset, length in bytes
S = TypeVar("S")
PREFIX = "spill-"  # folders in the cache's version folder, one per process that spills
FLUSH_BYTES = 1 << 20  # kept bodies written at once (and at each chunk's end: ``flush``)


class Spill:
    """A folder of bodies by content digest, written by parse workers (one file each)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where: dict[str, Location] = {}  # digest → location (in the parent)
        self._written: dict[str, tuple[int, int]] = {}  # name → (fd, size), in a worker
        self._read: dict[str, int] = {}  # name → fd, in whichever process reads
        self._location: Location | None = None  # of the body the last parse kept
        self._pending: list[bytes] = []  # kept bodies not yet written, by this process:
        self._pending_size = 0
        self._pending_pid = 0  # (a process forked meanwhile leaves them to it)

    @classmethod
    def beside(cls, cache_folder: Path | None) -> Spill:
        """A new spill in the cache's folder (its leftovers from processes that died
        removed), or in a temporary folder when there is no cache."""
        if cache_folder is not None:
            try:
                cache_folder.mkdir(parents=True, exist_ok=True)
                return cls(_made(cache_folder, PREFIX))
            except OSError:
                pass
        folder = _made(Path(tempfile.gettempdir()), f"newshub-{PREFIX}")
        atexit.register(shutil.rmtree, folder, True)  # a build that stopped on an error
        return cls(folder)

    def parse(self, parse: Callable[..., Parsed], source: S) -> tuple[Parsed, Location | None]:
        """``parse(source, keep=…)`` in a worker: the body it makes is written to this
        worker's file, and its record made without it (not made again without it)."""
        self._location = None
        parsed = parse(source, keep=self._keep)
        page = parsed.page
        if page is not None and page.body_html:  # reused whole from an earlier parse
            self._keep(page.body_html)
            parsed = Parsed(parsed.inputs, parsed.digest, replaced(page, body_html=""),
                            parsed.problems, parsed.settings)
        return parsed, self._location

    def _keep(self, body: str) -> None:
        data = body.encode("utf-8", "surrogatepass")
        pid = os.getpid()
        name = f"{pid}.html"
        fd, size = self._written.get(name) or self._open(name)
        self._pending.append(data)
        self._pending_size += len(data)
        self._pending_pid = pid
        self._written[name] = (fd, size + len(data))
        self._location = (name, size, len(data))
        if self._pending_size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the bodies kept since the last flush in one system call (not one a
        body): before a worker's results go back, and in the process that parsed when
        there were no workers."""
        if not self._pending or self._pending_pid != os.getpid():
            return
        fd, _size = self._written[f"{self._pending_pid}.html"]
        view = memoryview(b"".join(self._pending))
        self._pending.clear()
        self._pending_size = 0
        while view:
            view = view[os.write(fd, view):]

    def _open(self, name: str) -> tuple[int, int]:
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return fd, os.fstat(fd).st_size

    def received(self, result: tuple[Parsed, Location | None]) -> Parsed:
        """A worker's result in the parent: its body's location remembered."""
        parsed, location = result
        if location is not None and parsed.page is not None:
            self.where[parsed.page.digest] = location
        return parsed

    def body(self, digest: str) -> str | None:
        """A spilled body, or None when it is not here (or the file is gone)."""
        data = self.raw(digest)
        return data.decode("utf-8", "surrogatepass") if data is not None else None

    def raw(self, digest: str) -> bytes | None:
        """A spilled body as the UTF-8 bytes written (as the cache stores it: see
        ``BodyStore``), or None when it is not here (or the file is gone)."""
        location = self.where.get(digest)
        if location is None:
            return None
        self.flush()
        name, offset, length = location
        try:
            fd = self._read.get(name)
            if fd is None:
                fd = self._read[name] = os.open(self.folder / name, os.O_RDONLY)
            data = os.pread(fd, length, offset)
        except OSError:
            return None
        return data if len(data) == length else None

    def discard(self) -> None:
        """Delete the files (every body is in the cache, or no record needs them)."""
        for fd in (*self._read.values(), *(fd for fd, _size in self._written.values())):
            with suppress(OSError):
                os.close(fd)
        self._read.clear()
        self._written.clear()
        self._pending.clear()
        self._pending_size = 0
        self.where.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def _made(parent: Path, prefix: str) -> Path:
    """A new spill folder in ``parent``, once the leftovers there of processes that
    died are removed."""
    for old in parent.glob(prefix + "*"):
        if not _alive(old.name.removeprefix(prefix).split("-")[0]):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's: not ours to remove
    return True
