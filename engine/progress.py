"""Progress on stderr for long work: shown only when enabled (the command line enables it when
stderr is a terminal and `--quiet` is not given), and only once a task has run for `delay` seconds.

Library code reports through `task(...)`; with progress disabled (the default) it costs nothing.
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
