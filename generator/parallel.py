"""Map a function over many items on every core, with forked worker processes.

Workers are forked, so they see the parent's memory (the site, the Jinja
environments, the items) without pickling it; only results travel back.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_SHARED: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def parallel_map(function: Callable[[T], R], items: Sequence[T], workers: int,
                 threshold: int) -> list[R]:
    """``[function(item) for item in items]``, in ``workers`` processes when there are at
    least ``threshold`` items (below that, forking costs more than it saves)."""
    if workers <= 1 or len(items) < threshold or "fork" not in \
            multiprocessing.get_all_start_methods():
        return [function(item) for item in items]
    global _SHARED
    _SHARED = (function, items)
    size = max(1, len(items) // (workers * 8))
    chunks = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_run_chunk, chunks)
    finally:
        _SHARED = None
    return [result for part in parts for result in part]


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _SHARED is not None
    function, items = _SHARED
    return [function(item) for item in items[bounds[0]:bounds[1]]]
