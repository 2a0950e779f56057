"""Writes ONE gzip member whose deflate stream is compressed in parallel chunks, as pigz does.

Each fixed-size chunk of input becomes raw deflate primed with the previous 32 KiB of input (so
matches across the boundary are kept) and ended by a sync flush (the last by Z_FINISH); their
concatenation is one valid deflate stream under one header and one trailer, so every reader, even
`zlib.decompress(data, 31)`, reads the whole file. Chunk boundaries depend only on the input, so
the bytes out are the same whatever the thread count. Memory is bounded by the chunks in flight.
"""

from __future__ import annotations

import collections
import os
import struct
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO

from engine.io import fastcodecs

if TYPE_CHECKING:
    from concurrent.futures import Future

CHUNK = 1 << 20  # input bytes per deflate task
WINDOW = 1 << 15  # deflate's window: the dictionary each chunk is primed with


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _deflate(
    module: ModuleType, level: int, data: bytes, zdict: bytes, final: bool, crc: bool
) -> tuple[bytes, int]:
    """Raw deflate of one chunk (primed with `zdict`) and, when asked, its CRC-32."""
    if zdict:
        compressor = module.compressobj(level, module.DEFLATED, -15, 8, 0, zdict)
    else:
        compressor = module.compressobj(level, module.DEFLATED, -15, 8, 0)
    body = compressor.compress(data)
    body += compressor.flush(module.Z_FINISH if final else module.Z_SYNC_FLUSH)
    return body, (module.crc32(data) if crc else 0)


class _Done:
    """A result computed inline, shaped like a finished Future."""

    def __init__(self, value: tuple[bytes, int]) -> None:
        self._value = value

    def result(self) -> tuple[bytes, int]:
        return self._value


class ParallelGzipWriter:
    """A binary writer that gzips into `raw` on `threads` threads (1: inline, no pool).

    At most 2 x threads chunks are queued or being compressed; `write` waits for the oldest
    beyond that, so memory is a few MiB whatever the size of the file.
    """

    def __init__(
        self,
        raw: BinaryIO,
        level: int = 6,
        *,
        name: str = "",
        threads: int | None = None,
        chunk_size: int = CHUNK,
        module: ModuleType | None = None,
    ) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"gzip level must be 0..9, not {level}")
        self._module = module or fastcodecs.deflater()
        self._combine = getattr(self._module, "crc32_combine", None)
        self._raw = raw
        self._level = level
        self._chunk = max(WINDOW, chunk_size)
        threads = threads or default_threads()
        self._pool = None
        if threads > 1:  # imported here: reading never pays for the thread pool machinery
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(threads, "gzip")
        self._limit = 2 * threads
        self._inflight: collections.deque[tuple[Future[tuple[bytes, int]] | _Done, int]] = (
            collections.deque()
        )
        self._buffer = bytearray()
        self._window = b""
        self._crc = 0
        self._size = 0
        self.closed = False
        flags = 0x08 if name else 0
        xfl = 2 if level == 9 else 4 if level == 1 else 0
        header = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, 0, xfl, 255)
        if name:
            header += name.encode("latin-1", "replace") + b"\0"
        raw.write(header)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queues `data` for compression; returns its length."""
        if self.closed:
            raise ValueError("write to a closed gzip writer")
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        size = len(view)
        start = 0
        # A chunk is submitted only once input follows it, so the last one gets Z_FINISH.
        if self._buffer:
            start = min(self._chunk - len(self._buffer), size)
            self._buffer += view[:start]
            if len(self._buffer) == self._chunk and start < size:
                self._submit(bytes(self._buffer), final=False)
                self._buffer.clear()
        if not self._buffer:
            while size - start > self._chunk:
                self._submit(bytes(view[start : start + self._chunk]), final=False)
                start += self._chunk
            self._buffer += view[start:]
        return size

    def flush(self) -> None:
        """Nothing to do: output is written as chunks complete (kept for the file protocol)."""

    def close(self) -> None:
        """Compresses what is left and writes the trailer (CRC-32 and size mod 2^32)."""
        if self.closed:
            return
        try:
            self._submit(bytes(self._buffer), final=True)
            self._buffer.clear()
            while self._inflight:
                self._collect()
            self._raw.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelGzipWriter:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
        else:
            self._shutdown()

    def _submit(self, data: bytes, *, final: bool) -> None:
        zdict = self._window
        self._window = (zdict + data[-WINDOW:])[-WINDOW:]
        worker_crc = self._combine is not None
        if not worker_crc:  # zlib.crc32 releases the GIL: cheap beside deflate
            self._crc = self._module.crc32(data, self._crc)
        args = (self._module, self._level, data, zdict, final, worker_crc)
        if self._pool is None:
            self._inflight.append((_Done(_deflate(*args)), len(data)))
        else:
            self._inflight.append((self._pool.submit(_deflate, *args), len(data)))
        self._size += len(data)
        while len(self._inflight) > self._limit:
            self._collect()

    def _collect(self) -> None:
        future, length = self._inflight.popleft()
        body, crc = future.result()
        if self._combine is not None:
            self._crc = self._combine(self._crc, crc, length)
        self._raw.write(body)
