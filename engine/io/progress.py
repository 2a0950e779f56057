"""Progress on stderr for long work: shown only when enabled (the command line enables it when
stderr is a terminal and `--quiet` is not given), and only once a task has run for `delay` seconds.

Library code reports through `task(...)` (a bar or spinner drawn from a thread after a delay) or
`Progress` (a counted bar for work done in chunks, e.g. image pools, drawn as chunks finish); with
progress disabled (the default) both cost nothing. While a `Progress` bar is drawn, enclosing
tasks stay quiet, so one line shows one bar.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_stream: TextIO | None = None
_counted_bars = 0  # Progress bars being drawn: enclosing tasks do not draw over them
#: seconds a task runs before its bar appears (MNIST_ENGINE_PROGRESS_DELAY overrides, for tests)
DELAY = float(os.environ.get("MNIST_ENGINE_PROGRESS_DELAY", "1.0"))
_WIDTH = 30


def enable(stream: TextIO | None = None) -> None:
    """Shows progress on `stream` (stderr when omitted); `disable()` turns it off."""
    global _stream
    _stream = stream or sys.stderr


def disable() -> None:
    global _stream
    _stream = None


class Task:
    """A running task: `advance(n)` counts work done out of `total` (None: a spinner)."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._shown = False

    def advance(self, count: int = 1) -> None:
        self.done += count

    def render(self) -> str:
        elapsed = time.monotonic() - self.started
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            return f"{self.label} [{bar}] {self.done}/{self.total} {elapsed:.0f}s"
        spinner = "|/-\\"[int(elapsed * 4) % 4]
        return f"{self.label} {spinner} {elapsed:.0f}s"


@contextmanager
def task(label: str, total: int | None = None) -> Iterator[Task]:
    """Reports the progress of the work inside the block (a bar with a total, else a spinner)."""
    current = Task(label, total)
    stream = _stream
    if stream is None:
        yield current
        return
    stop = threading.Event()

    def draw() -> None:
        if stop.wait(DELAY):
            return
        while True:
            if not _counted_bars:
                stream.write("\r\x1b[K" + current.render())
                stream.flush()
                current._shown = True
            if stop.wait(0.1):
                return

    painter = threading.Thread(target=draw, daemon=True)
    painter.start()
    try:
        yield current
    finally:
        stop.set()
        painter.join()
        if current._shown:
            stream.write("\r\x1b[K")
            stream.flush()


class Progress:
    """A counted bar updated as chunks of work finish (`update(n)`), at most ten draws a second.

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
        self._last_draw = 0.0

    @property
    def done(self) -> int:
        return self.task.done

    def update(self, count: int) -> None:
        """Adds `count` finished items and redraws when due."""
        self.task.advance(count)
        now = time.monotonic()
        if self.stream is not None and (
            now - self._last_draw >= 0.1 or self.task.done >= (self.task.total or 0)
        ):
            self._last_draw = now
            self.stream.write("\r\x1b[K" + self.task.render())
            self.stream.flush()

    def __enter__(self) -> Progress:
        global _counted_bars
        if self.stream is not None:
            _counted_bars += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _counted_bars
        if self.stream is not None:
            _counted_bars -= 1
            self.stream.write("\r\x1b[K")
            self.stream.flush()
