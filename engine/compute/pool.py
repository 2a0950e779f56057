"""Runs a function over chunks of work in a process pool (or inline when that is not worth it).

Encoding or decoding tens of thousands of small images is CPU-bound Python/C work that threads
cannot spread; processes can. Small jobs run inline: starting workers would cost more. Where the
chunks run is decided by engine.compute.executors (local processes, or a Dask cluster when named).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from engine.compute import executors
from engine.compute.progress import Progress

T = TypeVar("T")
R = TypeVar("R")

#: with `workers=None`, jobs of fewer items than this run in the calling process
MIN_ITEMS_FOR_POOL = 2000


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def resolve_workers(workers: int | None, items: int) -> int:
    """How many processes to use: `workers` when given, else all CPUs for jobs big enough.

    With a Dask cluster named for the work (engine.compute.executors.using), its thread count.
    """
    if workers is None:
        executor = executors.current()
        if executor is not None:
            return executor.workers
        return available_cpus() if items >= MIN_ITEMS_FOR_POOL else 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, not {workers!r}")
    return workers


def chunk_bounds(count: int, workers: int) -> list[tuple[int, int]]:
    """(start, stop) ranges cutting `count` items into chunks: several per worker, for balance."""
    if count == 0:
        return []
    size = max(64, min(2000, -(-count // (workers * 8)))) if workers > 1 else count
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def run_chunks(
    function: Callable[..., R],
    chunks: Sequence[tuple[Any, ...]],
    *,
    workers: int,
    sizes: Sequence[int],
    progress: Progress | None = None,
) -> list[R]:
    """`function(*chunk)` for every chunk, results in chunk order.

    On the executor named for the work (a Dask cluster) when there is one, else in `workers`
    local processes, or inline for one worker or one chunk. `sizes` counts the items of each
    chunk, for the progress bar. `function` must be a module-level function (it is sent to the
    workers by name).
    """
    executor = executors.current()
    if executor is None:
        if workers <= 1 or len(chunks) <= 1:
            executor = executors.InlineExecutor()
        else:
            executor = executors.ProcessExecutor(workers)
    return executor.map(function, chunks, sizes=sizes, progress=progress)
