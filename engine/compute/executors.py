"""The one seam for per-chunk work: inline, a local process pool, or a Dask cluster.

An executor runs `function(*chunk)` for every chunk and returns the results in chunk order, so the
output is the same whichever runs it. Callers go through `engine.compute.pool.run_chunks`, which
uses the executor made current by `using(...)` (`engine.save(..., executor=client)`, the CLI's
`--scheduler`) and otherwise the local pool as before. Arrays that are views of plain files travel
as (path, offset, shape) and are memory-mapped where the work runs, never copied through a pipe.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine.compute.orphans import arming_forks, exit_with_parent
from engine.compute.progress import Progress
from engine.errors import EngineError, LocalStepWarning
from engine.model.filearray import FileArray, file_origin

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

#: environment variable naming a Dask scheduler for the command line (like `--scheduler`)
SCHEDULER_ENV = "MNIST_ENGINE_SCHEDULER"
_DASK_HINT = 'running on a Dask cluster needs the [dask] extra: pip install "mnist-engine[dask]"'


class Executor(Protocol):
    """Runs chunks of work; `workers` is how many run at once (it sizes the chunks)."""

    @property
    def workers(self) -> int: ...

    def map(
        self,
        function: Callable[..., Any],
        chunks: Sequence[tuple[Any, ...]],
        *,
        sizes: Sequence[int] | None = None,
        progress: Progress | None = None,
    ) -> list[Any]:
        """`function(*chunk)` for every chunk, results in chunk order."""

    def check_paths(self, paths: Iterable[str | Path], what: str = "input") -> None:
        """Raises EngineError when a path the work needs is not visible where it runs."""

    def close(self) -> None: ...


class InlineExecutor:
    """Runs every chunk in the calling process, one after another."""

    workers = 1

    def map(self, function, chunks, *, sizes=None, progress=None) -> list[Any]:
        results = []
        for index, chunk in enumerate(chunks):
            results.append(function(*chunk))
            _advance(progress, sizes, index)
        return results

    def check_paths(self, paths, what="input") -> None:
        return None

    def close(self) -> None:
        return None


class ProcessExecutor:
    """Runs chunks in `workers` local processes (forked where the platform allows)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, function, chunks, *, sizes=None, progress=None) -> list[Any]:
        from concurrent.futures import ProcessPoolExecutor, as_completed  # 60 ms: when used

        results: list[Any] = [None] * len(chunks)
        with (
            arming_forks(),  # workers die with this process from their first instruction
            ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_context(),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            ) as pool,
        ):
            futures = {
                pool.submit(run_task, function, *by_reference(chunk)): index
                for index, chunk in enumerate(chunks)
            }
            try:
                for future in as_completed(futures):
                    index = futures[future]
                    results[index] = future.result()
                    _advance(progress, sizes, index)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results

    def check_paths(self, paths, what="input") -> None:
        return None

    def close(self) -> None:
        return None


class DaskExecutor:
    """Runs chunks as tasks on a Dask distributed cluster, a bounded number in flight.

    Built from a `distributed.Client` (left open: it is the caller's) or a scheduler address (a
    client is opened here and closed by `close`). Workers must see the client's paths.
    """

    def __init__(self, client: Any, *, owns_client: bool = False) -> None:
        self.client = client
        self._owns_client = owns_client
        self._checked: set[str] = set()

    @classmethod
    def connect(cls, address: str, *, timeout: float = 10) -> DaskExecutor:
        distributed = import_distributed()
        _check_address(address)
        client = distributed.Client.__new__(distributed.Client)
        try:
            client.__init__(address, timeout=timeout, set_as_default=False)
        except Exception as error:  # distributed raises OSError, TimeoutError, ValueError, ...
            _discard(client)
            raise EngineError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        return cls(client, owns_client=True)

    @property
    def workers(self) -> int:
        """Threads across the cluster (at least 2, so work is always cut into chunks)."""
        threads = sum(self.client.nthreads().values())
        if threads == 0:
            raise EngineError(f"the Dask cluster at {self.client.scheduler.address} has no workers")
        return max(2, threads)

    def map(self, function, chunks, *, sizes=None, progress=None) -> list[Any]:
        distributed = import_distributed()
        sent = [by_reference(chunk) for chunk in chunks]
        files = {arg.path for chunk in sent for arg in chunk if isinstance(arg, FileArray)}
        self.check_paths(files - self._checked)
        results: list[Any] = [None] * len(chunks)
        window = 2 * self.workers
        prefix = f"{getattr(function, '__name__', 'task')}-{uuid.uuid4().hex}"
        queue = iter(enumerate(sent))
        index_of: dict[str, int] = {}

        def submit(index: int, chunk: tuple[Any, ...]) -> Any:
            future = self.client.submit(
                run_task, function, *chunk, key=f"{prefix}-{index}", pure=False
            )
            index_of[future.key] = index
            return future

        first = [
            submit(index, chunk) for _, (index, chunk) in zip(range(window), queue, strict=False)
        ]
        if not first:
            return results
        running = distributed.as_completed(first, loop=self.client.loop)
        try:
            for future in running:
                index = index_of[future.key]
                results[index] = future.result()
                future.release()
                _advance(progress, sizes, index)
                for index, chunk in queue:
                    running.add(submit(index, chunk))
                    break
        except BaseException:
            running.clear()
            raise
        return results

    def check_paths(self, paths, what="input") -> None:
        """Runs a small task on every worker: each path must exist there with the client's size."""
        wanted = {}
        for path in paths:
            path = Path(path).absolute()
            if not path.exists():
                raise FileNotFoundError(f"{path}: no such file or directory")
            wanted[str(path)] = None if path.is_dir() else path.stat().st_size
        if not wanted:
            return
        seen = self.client.run(_path_problems, wanted)
        if not seen:
            raise EngineError(f"the Dask cluster at {self.client.scheduler.address} has no workers")
        for worker, problems in sorted(seen.items()):
            for path, problem in problems:
                raise EngineError(
                    f"{path}: Dask worker {worker} {problem}; the workers read the {what} and "
                    "write outputs through paths shared with the client (a shared filesystem "
                    "mounted at the same path)"
                )
        self._checked.update(wanted)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


_current: ContextVar[Executor | None] = ContextVar("mnist_engine_executor", default=None)


def current() -> Executor | None:
    """The executor named for the work in progress (None: choose locally)."""
    return _current.get()


@contextmanager
def using(target: Any) -> Iterator[Executor | None]:
    """Makes `target` the executor of the per-chunk work inside the block.

    `target` is an executor, a `distributed.Client`, a Dask scheduler address (a client is
    opened for the block and closed after it), or None: the block keeps the current executor
    (None when none was named: local processes). Yields the executor in effect.
    """
    if target is None or target == "":
        yield current()
        return
    executor, owned = as_executor(target)
    token = _current.set(executor)
    try:
        yield executor
    finally:
        _current.reset(token)
        if owned:
            executor.close()


def as_executor(target: Any) -> tuple[Executor, bool]:
    """(the executor for `target`, whether it was made here and must be closed)."""
    if isinstance(target, str):
        return DaskExecutor.connect(target), True
    if hasattr(target, "map") and hasattr(target, "check_paths") and hasattr(target, "workers"):
        return target, False
    distributed = sys.modules.get("distributed")
    if distributed is not None and isinstance(target, distributed.Client):
        return DaskExecutor(target), True  # closing it leaves the caller's client open
    raise TypeError(
        f"executor must be a distributed.Client, a scheduler address or an executor, "
        f"not {type(target).__name__}"
    )


_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss")


def _discard(client: Any) -> None:
    """Lets a Client that failed to start go quietly: left as it is, collecting it waits 20 s
    to close a connection it never made, then prints a traceback at exit."""
    client.status = "closed"
    runner = getattr(client, "_loop_runner", None)
    if runner is not None:
        with contextlib.suppress(Exception):
            runner.stop()


def _check_address(address: str) -> None:
    """Refuses a scheduler address that cannot name one (an unknown scheme, no port) before a
    Client is made: a Client that fails to start hangs for 20 s when collected, then prints a
    traceback at exit."""
    from distributed.comm import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, _ = parse_address(address if "://" in address else f"tcp://{address}")
        get_backend(scheme)
        if scheme in _HOST_PORT_SCHEMES:
            get_address_host_port(address if "://" in address else f"tcp://{address}")
    except (ValueError, TypeError) as error:
        raise EngineError(f"not a Dask scheduler address: {address!r} ({error})") from None


def remote() -> Executor | None:
    """The executor named for the work when it runs elsewhere than this machine's processes
    (a Dask cluster, or any executor a caller passed), else None."""
    executor = current()
    if executor is None or isinstance(executor, (InlineExecutor, ProcessExecutor)):
        return None
    return executor


_said: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def say_local(step: str, why: str) -> None:
    """Warns once per executor and step that `step` stays in this process, and why: a named
    executor is never ignored silently."""
    executor = remote()
    if executor is None:
        return
    try:
        said = _said.setdefault(executor, set())
    except TypeError:  # an executor that takes no weak reference: say it every time
        said = set()
    if step in said:
        return
    said.add(step)
    warnings.warn(
        f"{step} runs in this process, not on the executor named ({why})",
        LocalStepWarning,
        stacklevel=3,
    )


def scheduler_address(flag: str | None) -> str | None:
    """The scheduler named by `--scheduler`, else by MNIST_ENGINE_SCHEDULER, else None."""
    return flag or os.environ.get(SCHEDULER_ENV) or None


def import_distributed() -> Any:
    """The `distributed` module; an EngineError naming the [dask] extra when it is missing."""
    try:
        import distributed
    except ImportError as error:
        raise EngineError(f"{_DASK_HINT} ({error})") from None
    return distributed


def by_reference(chunk: tuple[Any, ...]) -> tuple[Any, ...]:
    """The chunk with each file-backed array replaced by where it lives in its file."""
    return tuple(file_origin(arg) or arg for arg in chunk)


def run_task(function: Callable[..., Any], *args: Any) -> Any:
    """Runs where the work is sent: maps file-backed arguments, then calls `function`."""
    return function(*(arg.open() if isinstance(arg, FileArray) else arg for arg in args))


def _path_problems(wanted: dict[str, int | None]) -> list[tuple[str, str]]:
    """On a worker: the paths it cannot see, or sees with another size."""
    problems = []
    for path, size in wanted.items():
        if not os.path.exists(path):
            problems.append((path, "cannot see this path"))
        elif size is not None and os.path.getsize(path) != size:
            found = os.path.getsize(path)
            problems.append((path, f"sees {found} bytes where the client sees {size}"))
    return problems


def _advance(progress: Progress | None, sizes: Sequence[int] | None, index: int) -> None:
    if progress is not None and sizes is not None:
        progress.update(sizes[index])


def _context() -> BaseContext:
    """Fork where the platform has it (workers start in milliseconds), else the default."""
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
