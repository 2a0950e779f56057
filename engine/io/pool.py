"""Runs a function over chunks of work in a process pool (or inline when that is not worth it).

Encoding or decoding tens of thousands of small images is CPU-bound Python/C work that threads
cannot spread; processes can. Small jobs run inline: starting workers would cost more.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from engine.io.progress import Progress

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1

#: with `workers=None`, jobs of fewer items than this run in the calling process
MIN_ITEMS_FOR_POOL = 2000


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def resolve_workers(workers: int | None, items: int) -> int:
    """How many processes to use: `workers` when given, else all CPUs for jobs big enough."""
    if workers is None:
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
    """`function(*chunk)` for every chunk, results in chunk order; in `workers` processes.

    `sizes` counts the items of each chunk, for the progress bar. `function` must be a module-level
    function (it is sent to the workers by name).
    """
    results: list[Any] = [None] * len(chunks)
    if workers <= 1 or len(chunks) <= 1:
        for index, chunk in enumerate(chunks):
            results[index] = function(*chunk)
            if progress is not None:
                progress.update(sizes[index])
        return results
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(function, *chunk): index for index, chunk in enumerate(chunks)}
        try:
            for future in as_completed(futures):
                index = futures[future]
                results[index] = future.result()
                if progress is not None:
                    progress.update(sizes[index])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


def exit_with_parent(parent: int) -> None:
    """Worker initializer: the worker ends when the process that started it dies (even by
    `kill -9`), instead of lingering as an orphan.

    Linux delivers SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG); everywhere a daemon
    thread also polls the parent's pid and exits the worker once it has changed.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # died before the watch was set
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _context() -> multiprocessing.context.BaseContext:
    """Fork where the platform has it (workers start in milliseconds), else the default."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
