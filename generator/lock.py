"""One build at a time per output folder and per cache.

Two builds writing one output folder at once leave a mix of both sites, and two
writing one cache spoil each other's index. So a build holds an OS file lock
(``flock``) on each: on the output folder itself (no lock file lands in what gets
published; two sites building into one folder exclude each other too) and on
``.newshub-cache/lock``. A second build waits, saying for which build, and gives up
with an error after ``NEWSHUB_LOCK_TIMEOUT`` seconds (default 300). The system
releases a lock when its process ends, however it ends: a killed build leaves none.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from generator.errors import SiteError, error

TIMEOUT_VARIABLE = "NEWSHUB_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
POLL_SECONDS = 0.1
LOCK_FILE = "lock"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def build_locks(output: Path, cache: Path, shown: str,
                say: Callable[[str], None] = _say) -> Iterator[None]:
    """Hold the output folder's lock, then the cache's (always in this order, so two
    builds never wait for each other in a circle). ``shown`` names the output folder
    in messages. An output folder this creates is removed again if it stays empty."""
    with ExitStack() as held:
        held.enter_context(_output_locked(output, shown, say))
        cache_lock = _cache_lock_file(cache)
        if cache_lock is not None:
            held.enter_context(_locked(cache_lock, f"another build using the cache "
                                                   f"{cache}", say))
        yield


@contextmanager
def _output_locked(output: Path, shown: str, say: Callable[[str], None]) -> Iterator[None]:
    """The output folder's lock, the folder made when missing. When the build that made
    it removes it again (nothing was written) while this one waits, the lock held is on
    a folder that is gone: make the folder anew and lock that."""
    while True:
        created = _make_folder(output, shown)
        try:
            descriptor = os.open(output, os.O_RDONLY)
        except FileNotFoundError:
            continue  # removed between making and opening it
        try:
            _acquire(descriptor, True, f"another build of {shown}", say)
        except BaseException:
            os.close(descriptor)
            raise
        if _still_there(output, descriptor):
            break
        os.close(descriptor)
    try:
        yield
    finally:
        if created:
            with suppress(OSError):
                output.rmdir()  # only when nothing was written into it
        os.close(descriptor)  # releases the lock


def _still_there(path: Path, descriptor: int) -> bool:
    """Whether ``path`` still names the folder open as ``descriptor``."""
    try:
        named = os.stat(path)
    except OSError:
        return False
    held = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def timeout() -> float:
    """Seconds a build waits for another one (``NEWSHUB_LOCK_TIMEOUT``)."""
    try:
        return max(0.0, float(os.environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


@contextmanager
def _locked(path: Path, what: str, say: Callable[[str], None]) -> Iterator[None]:
    """An exclusive lock on a folder or a lock file (whose content becomes our pid)."""
    folder = path.is_dir()
    descriptor = os.open(path, os.O_RDONLY if folder else os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _acquire(descriptor, folder, what, say)
        if not folder:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _acquire(descriptor: int, folder: bool, what: str, say: Callable[[str], None]) -> None:
    limit = timeout()
    deadline = time.monotonic() + limit
    told = False
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = _holder(descriptor, folder)
        if time.monotonic() >= deadline:
            raise SiteError(error(None, None, f"{what}{holder} is still running after "
                                              f"{limit:.0f} s; try again when it has finished "
                                              f"(or raise {TIMEOUT_VARIABLE})"))
        if not told:
            say(f"waiting for {what}{holder} …")
            told = True
        time.sleep(POLL_SECONDS)


def _holder(descriptor: int, folder: bool) -> str:
    """`` (pid N)`` of the process holding the lock, when the system tells (Linux's
    /proc/locks) or the lock file says; else ''."""
    status = os.fstat(descriptor)
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if "FLOCK" in fields and device in fields and "->" not in fields:
                    return f" (pid {fields[fields.index(device) - 1]})"
    except OSError:
        pass
    if not folder:
        written = os.pread(descriptor, 16, 0).decode("ascii", "replace").strip()
        if written.isdigit():
            return f" (pid {written})"
    return ""


def _make_folder(output: Path, shown: str) -> bool:
    """Create the output folder (to lock it); True when it did not exist before. Other
    builds may make or remove it meanwhile: look again until one of the two holds."""
    while True:
        try:
            output.mkdir(parents=True)
            return True
        except FileExistsError:
            pass
        except OSError as exc:
            raise SiteError(error(None, None, f"cannot create the output folder {shown}: "
                                              f"{exc.strerror or exc}")) from exc
        if output.is_dir():
            return False
        if output.is_symlink() or (output.exists() and not output.is_dir()):
            raise SiteError(error(None, None, f"{shown} is not a folder: remove it or "
                                              "choose another --output"))


def _cache_lock_file(cache: Path) -> Path | None:
    """``.newshub-cache/lock``, the folder made when missing; None when the cache
    cannot be written here (a read-only checkout: the build then keeps no cache)."""
    if cache.exists() and not cache.is_dir():
        raise SiteError(error(cache, None, "is a file, but newshub keeps its cache in a "
                                           "folder of this name: remove the file"))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = cache / LOCK_FILE
        os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o666))
    except OSError:
        return None
    return lock
