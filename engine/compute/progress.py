"""Progress on stderr for long work, drawn by tqdm (rate and ETA; a widget in notebooks via
`tqdm.auto`): shown only when enabled (the command line enables it when stderr is a terminal and
`--quiet` is not given), and only once a task has run for `delay` seconds.

Library code reports through `task(...)` (a bar, or a counter without a total, refreshed from a
thread after a delay) or `Progress` (a counted bar for work done in chunks, e.g. image pools,
updated as chunks finish); with progress disabled (the default) both cost nothing and tqdm is not
even imported. While a `Progress` bar is drawn, enclosing tasks hide theirs: one bar at a time.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_stream: TextIO | None = None
_counted_bars = 0  # Progress bars being drawn: enclosing tasks do not draw over them
_task_bars: list[Any] = []  # task bars on screen, hidden when a counted bar starts
_lock = threading.Lock()  # one writer at a time: a task's painter thread or a counted bar
#: seconds a task runs before its bar appears (MNIST_ENGINE_PROGRESS_DELAY overrides, for tests)
DELAY = float(os.environ.get("MNIST_ENGINE_PROGRESS_DELAY", "1.0"))
#: seconds between two redraws of a bar
INTERVAL = 0.1


def enable(stream: TextIO | None = None) -> None:
    """Shows progress on `stream` (stderr when omitted); `disable()` turns it off."""
    global _stream
    _stream = stream or sys.stderr


def disable() -> None:
    global _stream
    _stream = None


def _bar(label: str, total: int | None, stream: TextIO, started: float | None = None) -> Any:
    """A tqdm bar (the notebook widget under Jupyter) that leaves no line behind when closed."""
    from tqdm.auto import tqdm

    columns, rows = _size(stream)
    sized = columns > 0 and rows > 0
    bar = tqdm(
        total=total,
        desc=label,
        file=stream,
        leave=False,
        position=0,  # one line: never stacked below another bar
        # follows the window's size; a terminal of unknown size (0 x 0) gets 80 x 24
        dynamic_ncols=sized,
        ncols=None if sized else 80,
        nrows=None if sized else 24,
        mininterval=INTERVAL,
        smoothing=0.1,
        unit=" items" if total else "it",
        unit_scale=bool(total and total >= 10_000),
        bar_format=None if total else "{desc} [{elapsed}]",  # no total: the time so far
    )
    if started is not None:
        bar.start_t = bar.last_print_t = started  # the delay before drawing counts as elapsed
    return bar


def _size(stream: TextIO) -> tuple[int, int]:
    """The terminal's (columns, rows), (0, 0) when unknown."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return 0, 0
    return size.columns, size.lines


class Task:
    """A running task: `advance(n)` counts work done out of `total` (None: no bar, a counter)."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.time()

    def advance(self, count: int = 1) -> None:
        self.done += count


@contextmanager
def task(label: str, total: int | None = None) -> Iterator[Task]:
    """Reports the progress of the work inside the block (a bar with a total)."""
    current = Task(label, total)
    stream = _stream
    if stream is None:
        yield current
        return
    stop = threading.Event()
    drawn: list[Any] = []

    def draw() -> None:
        if stop.wait(DELAY):
            return
        while True:
            with _lock:
                if not _counted_bars:  # else a counted bar holds the line
                    if not drawn:
                        drawn.append(_bar(current.label, current.total, stream, current.started))
                        _task_bars.append(drawn[0])
                    drawn[0].n = current.done
                    drawn[0].refresh()
            if stop.wait(INTERVAL):
                return

    painter = threading.Thread(target=draw, daemon=True)
    painter.start()
    try:
        yield current
    finally:
        stop.set()
        painter.join()
        if drawn:
            with _lock:
                _task_bars.remove(drawn[0])
                drawn[0].close()


class Progress:
    """A counted bar updated as chunks of work finish (`update(n)`), with rate and ETA.

    `enabled=None` follows the command line (drawn when `enable()` was called); True draws on
    `stream` (stderr by default) whatever the setting; False never draws.
    """

    def __init__(
        self, total: int, label: str, *, enabled: bool | None = None, stream: TextIO | None = None
    ) -> None:
        self.task = Task(label, total)
        if enabled is None:
            enabled = _stream is not None
        self.stream = (stream or _stream or sys.stderr) if enabled and total > 0 else None
        self._bar: Any = None

    @property
    def done(self) -> int:
        return self.task.done

    def update(self, count: int) -> None:
        """Adds `count` finished items to the bar (tqdm redraws at most every INTERVAL)."""
        self.task.advance(count)
        if self._bar is not None:
            self._bar.update(count)

    def __enter__(self) -> Progress:
        global _counted_bars
        if self.stream is not None:
            with _lock:
                _counted_bars += 1
                for shown in _task_bars:
                    shown.clear()
                self._bar = _bar(self.task.label, self.task.total, self.stream)
        return self

    def __exit__(self, *exc: object) -> None:
        global _counted_bars
        if self._bar is not None:
            with _lock:
                _counted_bars -= 1
                self._bar.refresh()  # the final count, however soon after the last draw
                self._bar.close()
                self._bar = None
