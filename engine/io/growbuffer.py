"""A byte buffer that grows as data arrives, for streams whose length is only claimed.

A header may claim 2^31 items in a 48-byte file; allocating from the claim is a MemoryError before
one byte is read. This buffer holds what the stream has yielded plus at most one bounded step,
and grows in place (an anonymous ``mmap`` resized with ``mremap`` on Linux, so growing does not
copy and the peak stays about 1x the data).
"""

from __future__ import annotations

import mmap
from collections.abc import Callable

import numpy as np

FIRST_STEP = 1 << 20  # bytes of the first allocation: small files stay small
MAX_STEP = 1 << 26  # most bytes added at a time: a lying claim costs at most this much


def _anonymous(size: int) -> mmap.mmap:
    """Private anonymous memory: a shared one cannot grow (pages past its first size fault)."""
    private = getattr(mmap, "MAP_PRIVATE", None)
    return mmap.mmap(-1, size) if private is None else mmap.mmap(-1, size, flags=private)


class GrowingBuffer:
    """Fills itself from ``fill(view) -> count`` in growing steps, never past ``limit + 1`` bytes
    (one byte more than allowed is how a caller learns that a stream holds more)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.size = 0
        self._map: mmap.mmap | None = None
        self._step = FIRST_STEP

    def _capacity(self) -> int:
        return len(self._map) if self._map is not None else 0

    def _grow(self) -> int:
        wanted = self._capacity() + self._step
        if self.limit is not None:
            wanted = min(wanted, self.limit + 1)
        self._step = min(2 * self._step, MAX_STEP)
        try:
            if self._map is None:
                self._map = _anonymous(max(wanted, 1))
            else:
                try:
                    self._map.resize(wanted)
                except (SystemError, ValueError):  # no mremap (macOS): copy once
                    bigger = _anonymous(wanted)
                    bigger[: self.size] = self._map[: self.size]
                    self._map.close()
                    self._map = bigger
        except OSError as error:  # ENOMEM: out of memory or address space
            raise MemoryError(f"cannot hold {wanted} bytes in memory ({error.strerror})") from None
        return self._capacity()

    def fill_from(self, fill: Callable[[memoryview], int]) -> int:
        """Reads until the stream ends or ``limit + 1`` bytes are held; returns the bytes held."""
        ceiling = None if self.limit is None else self.limit + 1
        while ceiling is None or self.size < ceiling:
            if self.size == self._capacity():
                self._grow()
            assert self._map is not None
            with memoryview(self._map) as view:
                count = fill(view[self.size :])
            if count == 0:
                break
            self.size += count
        return self.size

    def array(self) -> np.ndarray:
        """The bytes held, as a uint8 array (the buffer is trimmed to them; no copy)."""
        if self._map is None or self.size == 0:
            return np.zeros(0, dtype=np.uint8)
        if self.size < self._capacity():
            try:
                self._map.resize(self.size)
            except (SystemError, OSError, ValueError):
                return np.frombuffer(self._map, dtype=np.uint8, count=self.size)
        return np.frombuffer(self._map, dtype=np.uint8)
