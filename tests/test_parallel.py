"""Work spread over worker processes comes back whole and in order."""

import os
import signal
import threading
from collections.abc import Sequence

import pytest

from generator.parallel import Background, Packing, _chunks, parallel_map


@pytest.mark.parametrize(("total", "workers"), [(0, 2), (1, 1), (5, 2), (300, 2),
                                                (10_000, 2), (14_090, 8)])
def test_chunks_cover_every_item_once_in_order_and_shrink(total: int, workers: int) -> None:
    chunks = _chunks(total, workers)
    assert [index for start, stop in chunks for index in range(start, stop)] == \
        list(range(total))
    sizes = [stop - start for start, stop in chunks]
    assert all(size > 0 for size in sizes)
    assert sizes[:-1] == sorted(sizes[:-1], reverse=True), "large chunks first"
    if total >= 300:
        assert sizes[0] >= 4 * min(sizes), "and small ones to end on"
    assert len(chunks) <= max(total, 1) and len(chunks) <= 4 * workers * 16


def _square_and_pid(number: int) -> tuple[int, int]:
    return number * number, os.getpid()


def test_results_keep_their_order_across_workers() -> None:
    done = []
    results = parallel_map(_square_and_pid, range(1000), workers=2, threshold=10,
                           meanwhile=lambda: done.append(True))
    assert [square for square, _pid in results] == [n * n for n in range(1000)]
    assert os.getpid() not in {pid for _square, pid in results}, "made by the workers"
    assert done == [True]


def _packed(results: list[tuple[int, int]]) -> tuple[int, bytes]:
    return os.getpid(), repr(results).encode()


def test_packed_chunks_are_made_by_the_workers_and_unpacked_here() -> None:
    unpacked: list[int] = []

    def unpack(packed: tuple[int, bytes]) -> list[tuple[int, int]]:
        pid, data = packed
        unpacked.append(pid)
        return eval(data.decode())  # (the test's own repr of tuples of numbers)

    results = parallel_map(_square_and_pid, range(1000), workers=2, threshold=10,
                           packing=Packing(_packed, unpack))
    assert [square for square, _pid in results] == [n * n for n in range(1000)]
    assert len(unpacked) > 2 and os.getpid() not in unpacked, "packed by the workers"
    assert set(unpacked) == {pid for _square, pid in results}
    chunks = len(unpacked)
    alone = parallel_map(_square_and_pid, range(5), workers=2, threshold=10,
                         packing=Packing(_packed, unpack))
    assert alone == [(n * n, os.getpid()) for n in range(5)]
    assert len(unpacked) == chunks, "no workers: nothing packed"


def test_small_inputs_stay_in_this_process() -> None:
    results = parallel_map(_square_and_pid, range(5), workers=2, threshold=10)
    assert results == [(n * n, os.getpid()) for n in range(5)]


def _collector_state(_number: int) -> tuple[bool, bool]:
    import gc
    return gc.isenabled(), gc.get_freeze_count() > 0


def test_workers_collect_their_own_garbage_while_the_parent_pauses() -> None:
    """A build pauses the collector; its workers must not inherit that (the cycles each
    parsed document and rendered template leave made a worker grow with the site), and
    leave the parent's objects out of their collections (frozen: their pages stay shared)."""
    import gc
    was = gc.isenabled()
    gc.disable()
    try:
        results = parallel_map(_collector_state, range(40), workers=2, threshold=10)
        assert not gc.isenabled(), "the parent's collector stays paused"
    finally:
        if was:
            gc.enable()
    assert set(results) == {(True, True)}


def _odd(found: Sequence[int]) -> list[tuple[int, str]]:
    return [(index, str(number)) for index, number in enumerate(found) if number % 2]


def test_items_found_later_are_mapped_by_the_same_workers() -> None:
    """``Later``: items found once the workers run (a server's lists, planned after it
    answers) follow the others, mapped by the workers that were forked before."""
    from generator.parallel import Later

    found_in: list[int] = []

    def find() -> range:
        found_in.append(os.getpid())
        return range(1000, 1010)

    results = parallel_map(_square_and_pid, range(400), workers=2, threshold=10,
                           later=Later(find, _odd, str))
    assert [square for square, _pid in results] == \
        [n * n for n in range(400)] + [n * n for n in range(1001, 1010, 2)]
    assert os.getpid() not in {pid for _square, pid in results[400:]}, "made by the workers"
    assert found_in == [os.getpid()], "found here once (and in each worker, from its copy)"
    alone = parallel_map(_square_and_pid, range(5), workers=2, threshold=10,
                         later=Later(find, _odd, str))
    assert alone == [(n * n, os.getpid()) for n in [*range(5), *range(1001, 1010, 2)]]


def test_a_worker_that_finds_other_items_fails() -> None:
    from generator.parallel import Later

    parent = os.getpid()

    def find() -> list[int]:  # depends on the process: not what Later.find may do
        return [1, 3] if os.getpid() == parent else [3, 1]

    with pytest.raises(RuntimeError, match="other items"):
        parallel_map(_square_and_pid, range(400), workers=2, threshold=10,
                     later=Later(find, _odd, str))


def _niceness(number: int) -> tuple[int, int]:
    return number, os.nice(0)


def test_items_found_later_fork_the_workers_they_need_at_a_lower_priority() -> None:
    """A server's first plan may hold a few items and its later ones 100,000: the
    workers are forked for those (``expected``), and run at ``niceness`` (its answers,
    made meanwhile in this process, come first)."""
    from generator.parallel import Later

    parent = os.nice(0)

    def find() -> range:
        return range(1000, 1400)

    def every(found: Sequence[int]) -> list[tuple[int, str]]:
        return [(index, str(number)) for index, number in enumerate(found)]

    results = parallel_map(_niceness, range(3), workers=2, threshold=100,
                           later=Later(find, every, str, expected=400, niceness=5))
    assert [number for number, _nice in results] == [*range(3), *range(1000, 1400)]
    assert {nice for _number, nice in results} == {min(parent + 5, 19)}, "in the workers"
    assert os.nice(0) == parent, "this process keeps its own"


@pytest.mark.usefixtures("single_threaded")
def test_a_background_function_runs_in_another_process_and_its_result_comes_back(
        tmp_path) -> None:
    marker = tmp_path / "ran"
    started = Background.start(lambda: (marker.write_text(str(os.getpid())), [1, 2])[1])
    assert started is not None
    assert started.wait() == [1, 2]
    assert int(marker.read_text()) not in (os.getpid(), 0), "run by the child"


@pytest.mark.usefixtures("single_threaded")
def test_a_background_function_s_exception_is_raised_by_wait() -> None:
    def fail() -> None:
        raise KeyError("gone")

    started = Background.start(fail)
    assert started is not None
    with pytest.raises(KeyError, match="gone"):
        started.wait()


@pytest.mark.usefixtures("single_threaded")
def test_a_background_process_that_dies_is_an_error() -> None:
    started = Background.start(lambda: os.kill(os.getpid(), signal.SIGKILL))
    assert started is not None
    with pytest.raises(ChildProcessError):
        started.wait()


@pytest.mark.usefixtures("single_threaded")
def test_no_background_process_is_forked_beside_another_thread() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert Background.start(lambda: None) is None, "a lock held there stays held"
    finally:
        release.set()
        other.join()


def test_a_background_function_runs_here_when_no_process_can_be_forked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    assert Background.start(lambda: None) is None, "the caller runs it itself"
    if before:
        assert len(os.listdir("/proc/self/fd")) == before, "the pipe is closed again"
