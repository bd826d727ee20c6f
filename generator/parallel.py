"""Map a function over many items on every core, with forked worker processes.

Workers are forked, so they see the parent's memory (the site, the Jinja
environments, the items) without pickling it; only results travel back.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_SHARED: tuple[Callable[[Any], Any], Sequence[Any], Later[Any] | None,
               Packing[Any] | None] | None = None
_FOUND: Sequence[Any] | None = None  # in a worker: what ``Later.find`` found there


@dataclass(frozen=True, slots=True)
class Later(Generic[T]):
    """Items found only once the workers run (a server answers before planning them).

    ``find`` must list the same items in every process from what they share at the
    fork (it runs in this process after the fork, and again in each worker that maps
    some of them: their records are never sent); ``choose`` (this process only) says
    which to map, as (index, name) pairs: a worker checks each item's ``name`` is the
    one chosen, so a ``find`` that differed fails loudly rather than mapping another.
    ``expected``: about how many there will be, counted with the items known at once
    against the threshold (a server's first plan may hold a few items, its later ones
    100,000: the workers are forked for those). Each worker finds them as it starts,
    while this process does, at ``niceness`` (a server's workers: its answers, made
    meanwhile, come first)."""

    find: Callable[[], Sequence[T]]
    choose: Callable[[Sequence[T]], Sequence[tuple[int, str]]]
    name: Callable[[T], str]
    expected: int = 0
    niceness: int = 0


@dataclass(frozen=True, slots=True)
class Packing(Generic[R]):
    """How a worker sends back a chunk of results as a value it makes itself (``pack``,
    in the worker), made the results again by this process (``unpack``): the parse
    workers pickle a chunk once, as the cache index stores it, and those bytes serve
    the index too (not pickled again by this process)."""

    pack: Callable[[list[R]], Any]
    unpack: Callable[[Any], list[R]]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


Progress = Callable[[int, int], None]  # (done, total), called as chunks finish
CHUNKS_PER_WORKER = 8


def parallel_map(function: Callable[[T], R], items: Sequence[T], workers: int,
                 threshold: int, progress: Progress | None = None,
                 meanwhile: Callable[[], None] | None = None,
                 later: Later[T] | None = None, packing: Packing[R] | None = None) -> list[R]:
    """``[function(item) for item in items]``, in ``workers`` processes when there are at
    least ``threshold`` items (below that, forking costs more than it saves).
    ``meanwhile`` runs in this process once the workers are started (after the fork, so
    they never see it half done), or first when there are no workers. The items
    ``later`` chooses follow, mapped by the same workers (no process is forked for them:
    this one may have started threads meanwhile). With ``packing``, each chunk a worker
    maps travels packed (not for ``later`` items, nor without workers)."""
    chunks = _chunks(len(items), max(workers, 1))
    expected = len(items) + (later.expected if later is not None else 0)
    if workers <= 1 or expected < threshold or "fork" not in \
            multiprocessing.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        found, chosen = _found_later(later)  # before the items: known while they are mapped
        parts = (_run(function, items, bounds) for bounds in chunks)
        results = _collect(parts, chunks, len(items), progress)
        results += [function(found[index]) for index, _name in chosen]
        _progressed(progress, len(results), len(results))
        return results
    global _SHARED, _FOUND
    _SHARED, _FOUND = (function, items, later, packing), None
    try:
        with multiprocessing.get_context("fork").Pool(
                workers, initializer=_find_first if later is not None else None) as pool:
            parts = pool.imap(_run_chunk, chunks)
            if meanwhile is not None:
                meanwhile()
            _found, chosen = _found_later(later)
            assert later is not None or not chosen
            picked = [chosen[start:stop] for start, stop in _chunks(len(chosen), workers)]
            more = pool.imap(_run_later, picked) if picked else iter(())
            if packing is not None:
                parts = map(packing.unpack, parts)
            results = _collect(parts, chunks, len(items) + len(chosen), progress)
            for part in more:
                results.extend(part)
                _progressed(progress, len(results), len(items) + len(chosen))
            return results
    finally:
        _SHARED = None


def _found_later(later: Later[T] | None) -> tuple[Sequence[T], list[tuple[int, str]]]:
    if later is None:
        return (), []
    found = later.find()
    return found, list(later.choose(found))


def _progressed(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and total:
        progress(done, total)


def _chunks(total: int, workers: int) -> list[tuple[int, int]]:
    """Bounds of the chunks, large first and smaller towards the end (guided
    scheduling): few round trips, and the workers finish close together."""
    smallest = max(1, total // (workers * CHUNKS_PER_WORKER * 4))
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < total:
        stop = min(total, start + max(smallest, (total - start) // (workers * 2)))
        bounds.append((start, stop))
        start = stop
    return bounds


def _collect(parts: Iterable[list[R]], chunks: list[tuple[int, int]], total: int,
             progress: Progress | None) -> list[R]:
    results: list[R] = []
    for part, (_start, stop) in zip(parts, chunks, strict=True):
        results.extend(part)
        if progress is not None:
            progress(stop, total)
    return results


def _run(function: Callable[[T], R], items: Sequence[T], bounds: tuple[int, int]) -> list[R]:
    return [function(item) for item in items[bounds[0]:bounds[1]]]


def _run_chunk(bounds: tuple[int, int]) -> Any:
    assert _SHARED is not None
    _collect_own_garbage()
    function, items, _later, packing = _SHARED
    results = _run(function, items, bounds)
    return packing.pack(results) if packing is not None else results


def _find_first() -> None:
    """In a new worker: take the ``Later``'s niceness and find its items (the parent
    finds them meanwhile; they are mapped once it has chosen)."""
    global _FOUND
    assert _SHARED is not None and _SHARED[2] is not None
    later = _SHARED[2]
    if later.niceness:
        os.nice(later.niceness)
    try:
        _FOUND = later.find()
    except Exception:  # raised again where a task reports it (a pool respawns a worker
        _FOUND = None  # whose initializer fails, forever)


def _run_later(chosen: list[tuple[int, str]]) -> list[Any]:
    """Map the chosen ``Later`` items (found by ``_find_first``, or now)."""
    global _FOUND
    assert _SHARED is not None and _SHARED[2] is not None
    _collect_own_garbage()
    function, _items, later, _packing = _SHARED
    if _FOUND is None:
        _FOUND = later.find()
    found = _FOUND
    if any(index >= len(found) or name != later.name(found[index]) for index, name in chosen):
        raise RuntimeError("a worker found other items than its parent (Later.find "
                           "must depend only on what they share)")
    return [function(found[index]) for index, _name in chosen]


_collecting = False  # in this worker: set once its collector is started


def _collect_own_garbage() -> None:
    """Start this worker's cyclic garbage collector on what the worker makes, leaving
    the parent's objects out of it (``gc.freeze``). The parent pauses its collector
    during a build (its records are long-lived); a worker inheriting that never freed
    the cycles each parsed document and each rendered template leave (Markdown's tree,
    Jinja's contexts), and grew by hundreds of megabytes over a large site."""
    global _collecting
    if not _collecting:
        _collecting = True
        gc.freeze()  # the parent's objects: never walked, so their pages stay shared
        gc.enable()


class Background(Generic[R]):
    """One function run in a forked process while this one goes on (``start``), its
    result (or its exception) taken back by ``wait``.

    A build's cache saves run so while this process links and plans on one core: on two
    cores the other one was idle then, and the saves took time from the render workers
    after. The child is forked only from a process without other threads (one that holds
    a lock in another thread would leave it held in the child), and leaves by
    ``os._exit``: no cleanup of this process (its locks, atexit handlers, stdio
    buffers) runs twice."""

    def __init__(self, pid: int, reader: int) -> None:
        self.pid = pid
        self.reader = reader  # the pipe the child writes its pickled outcome to

    @classmethod
    def start(cls, function: Callable[[], R]) -> Background[R] | None:
        """``function`` running in a forked process; None where forking is unsafe or
        unavailable (the caller then runs it itself)."""
        if not hasattr(os, "fork") or threading.active_count() > 1 or \
                "fork" not in multiprocessing.get_all_start_methods():
            return None
        reader, writer = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory or process left for it: run it here after all
            os.close(reader)
            os.close(writer)
            return None
        if pid == 0:  # the child: never returns
            os.close(reader)
            _run_and_exit(function, writer)
        os.close(writer)
        return cls(pid, reader)

    def wait(self) -> R:
        """The function's result, once its process ended; its exception raised here."""
        with os.fdopen(self.reader, "rb") as pipe:
            data = pipe.read()  # (read before waiting: a result fills the pipe's buffer)
        _pid, status = os.waitpid(self.pid, 0)
        if not data:
            raise ChildProcessError(f"a background process ended with status {status}")
        failed, outcome = pickle.loads(data)  # (from this process's own fork)
        if failed:
            raise outcome
        return outcome


def _run_and_exit(function: Callable[[], Any], writer: int) -> NoReturn:
    """In a forked child: run ``function``, send its outcome, leave at once."""
    code = 1
    try:
        try:
            outcome: tuple[bool, Any] = (False, function())
        except Exception as error:  # (BaseException: an interrupt only ends the child)
            outcome = (True, error)
        try:
            data = pickle.dumps(outcome)
        except Exception as error:  # an exception that does not pickle: its text
            data = pickle.dumps((True, RuntimeError(f"{type(error).__name__}: {error}")))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)
