"""Reads and writes file contents through gzip, xz, bz2 or nothing, chosen by the file's suffix.

Plain files are memory-mapped, so opening a large one costs O(1). Compressed ones are streamed
in fixed-size pieces into one preallocated array sized from what the file declares (linear time,
memory = the content plus a few MiB, bomb-safe: see `engine.io.inflate`); with the `[fast]` extra
ISA-L / zlib-ng do the work. Writers stream too: gzip in parallel chunks that stay one member
(`engine.io.pgzip`), xz and bz2 in bounded pieces. Every failure becomes a FormatError naming the
file.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.compute import executors
from engine.errors import EngineError, FormatError
from engine.io import cache
from engine.io.growbuffer import GrowingBuffer
from engine.io.inflate import InflateStream, inflate_into, too_much
from engine.io.pgzip import ParallelGzipWriter

COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2")
UP_FRONT = 1 << 24  # a claimed size allocated at once, believed or not (a bounded step)
MAX_RATIO = 1032  # deflate cannot expand more than this: a larger claim is not believed up front
WRITE_PIECE = 1 << 22  # bytes handed to an xz/bz2/plain writer at a time


def compression_of(path: str | Path) -> str:
    """The compression suffix of a path ('.gz', '.xz', '.bz2') or '' for a plain file."""
    suffix = Path(path).suffix.lower()
    return suffix if suffix in COMPRESSED_SUFFIXES else ""


def read_content(path: str | Path, size: int | None = None) -> np.ndarray:
    """The uncompressed content of a file as a uint8 array (memory-mapped and read-only when plain).

    `size`, when the caller knows it from a header, is the most the content may hold: the array
    is allocated once at that size and a stream that yields more is a FormatError at once. A
    content that ends earlier is returned as it is, for the caller to report. When the cache
    policy in force wants it (`engine.io.cache`), the content is decompressed once to disk and
    memory-mapped instead.
    """
    path = Path(path)
    kind = compression_of(path)
    if kind == "":
        return _map_plain(path)
    _say_inflated_here()
    policy = cache.current_policy()
    if size is not None and policy.wants(size):
        cached = cache.cached_content(path, kind, size, policy.directory)
        if cached is not None:
            return cached
    with open(path, "rb", buffering=0) as handle:
        if size is not None and _believable(handle, kind, size):
            out = np.empty(size, dtype=np.uint8)
            filled = inflate_into(handle, out.data, kind, path)
            return out[:filled]
        return _read_growing(InflateStream(handle, kind, path), size, path)


def _believable(handle: BinaryIO, kind: str, size: int) -> bool:
    """Whether to allocate `size` bytes up front: a small size always; a gzip file only when
    deflate could expand it that much and its trailer (ISIZE, the size mod 2^32) agrees. An xz or
    bz2 claim is never believed beyond a step (a 48-byte file may claim 2^31 items): such files
    grow as bytes arrive, so a lying header costs what the file holds, not what it claims."""
    if size <= UP_FRONT:
        return True
    packed = os.fstat(handle.fileno()).st_size
    if kind != ".gz" or size > MAX_RATIO * packed + (1 << 16) or packed < 18:
        return False
    handle.seek(packed - 4)
    trailer = handle.read(4)
    handle.seek(0)
    return int.from_bytes(trailer, "little") == size & 0xFFFFFFFF


def _read_growing(stream: InflateStream, limit: int | None, path: Path) -> np.ndarray:
    """Reads a stream of unclaimed or unbelieved length into a buffer that grows as bytes arrive
    (at most one bounded step ahead, no copy when it grows), stopping one byte past `limit`."""
    buffer = GrowingBuffer(limit)
    try:
        total = buffer.fill_from(stream.readinto)
    except MemoryError as error:  # honest content larger than this process may hold
        raise EngineError(
            f"{path}: after {buffer.size} uncompressed bytes: {error}; load it with cache=True "
            "(decompressed to disk and memory-mapped)"
        ) from None
    if limit is not None and total > limit:
        raise too_much(path, limit, stream.compressed_read)
    return buffer.array()


def read_head(path: str | Path, size: int) -> bytes:
    """The first `size` bytes of the uncompressed content, decompressing no more than needed."""
    path = Path(path)
    kind = compression_of(path)
    try:
        with open(path, "rb") as handle:
            if kind == "":
                return handle.read(size)
            buffer = bytearray(size)
            count = InflateStream(handle, kind, path).readinto(memoryview(buffer))
            return bytes(buffer[:count])
    except FormatError as error:
        reason = f"cannot read the start of the file: {error.reason}"
        raise FormatError(path, reason, offset=0) from None
    except OSError as error:
        raise FormatError(path, f"cannot read the start of the file: {error}", offset=0) from None


@contextmanager
def stream_reader(path: str | Path) -> Iterator[Callable[[memoryview], int]]:
    """Yields `fill(buffer) -> count`, which reads the next uncompressed bytes into `buffer`
    (0 at the end), so a large file is read piece by piece into one reused buffer.

    A damaged or truncated compressed stream is a FormatError naming the file and how many
    uncompressed bytes were read before it.
    """
    path = Path(path)
    kind = compression_of(path)
    if kind == "":
        with open(path, "rb") as plain:
            yield plain.readinto
    else:
        _say_inflated_here()
        with open(path, "rb", buffering=0) as raw:
            yield InflateStream(raw, kind, path).readinto


def _say_inflated_here() -> None:
    executors.say_local(
        "decompressing compressed inputs",
        "a compressed stream is read from its start on this machine; for cluster work, convert "
        "to raw files on the shared filesystem first (-- --compression '')",
    )


def _map_plain(path: Path) -> np.ndarray:
    # np.memmap (not a bare mmap) keeps the file name, so views can be mapped again elsewhere
    # (e.g. in DataLoader workers) instead of being pickled whole.
    if os.stat(path).st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")


@contextmanager
def open_writer(
    path: str | Path, compresslevel: int = 6, *, threads: int | None = None
) -> Iterator[BinaryIO]:
    """A binary writer for `path`, compressing by its suffix, in bounded pieces whatever is
    written at once. Gzip output is one member, compressed on `threads` threads (default: every
    core) and the same bytes whatever the thread count."""
    path = Path(path)
    kind = compression_of(path)
    if kind:
        executors.say_local(
            f"{kind[1:]} compression of the files written",
            "it runs on this machine's threads: every chunk would cross the network twice, and "
            "the output file is written here",
        )
    with open(path, "wb") as raw:
        if kind == ".gz":
            inner_name = path.name[: -len(kind)]
            writer = ParallelGzipWriter(raw, compresslevel, name=inner_name, threads=threads)
            with writer:
                yield writer  # type: ignore[misc]
        elif kind == ".xz":
            with lzma.LZMAFile(raw, "wb", preset=min(compresslevel, 9)) as inner:
                yield _Pieces(inner)  # type: ignore[misc]
        elif kind == ".bz2":
            with bz2.BZ2File(raw, "wb", compresslevel=max(1, compresslevel)) as inner:
                yield _Pieces(inner)  # type: ignore[misc]
        else:
            yield raw


class _Pieces:
    """Hands a writer at most WRITE_PIECE bytes per call, so its output buffer stays bounded."""

    def __init__(self, inner: io.BufferedIOBase) -> None:
        self._inner = inner

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        for start in range(0, len(view), WRITE_PIECE):
            self._inner.write(view[start : start + WRITE_PIECE])
        return len(view)


def write_chunks(
    path: str | Path,
    chunks: Iterable[bytes | memoryview],
    compresslevel: int = 6,
    *,
    threads: int | None = None,
) -> None:
    """Writes the chunks to `path`, compressed by its suffix."""
    with open_writer(path, compresslevel, threads=threads) as writer:
        for chunk in chunks:
            writer.write(chunk)
