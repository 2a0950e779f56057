"""Streams a .gz, .xz or .bz2 file into a caller's buffer in fixed-size pieces: linear time at any
size, memory bounded by the buffer, and decompression-bomb safe.

The caller sizes the buffer from what the file declares (an IDX header, say); decompression stops
with a FormatError the moment the stream yields one byte more, and a stream cut short is reported
with the uncompressed and compressed offsets where it ends. Concatenated members/streams are read
whole; zero padding after the last gzip member is allowed.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import BinaryIO, Protocol

from engine.errors import FormatError
from engine.io import fastcodecs

IN_CHUNK = 1 << 17  # compressed bytes read per call (as gzip.GzipFile does)
OUT_CHUNK = 1 << 20  # most uncompressed bytes produced per call: bounds the transient piece


class _Stage(Protocol):
    """One member/stream being decompressed, in lzma/bz2 style (`needs_input`)."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class _ZlibStage:
    """Gives a zlib-style inflater (`unconsumed_tail`) the lzma/bz2 protocol, re-feeding only the
    current input chunk, never the rest of the file (which made the old loop quadratic)."""

    __slots__ = ("_inflater", "_tail")

    def __init__(self, module: ModuleType) -> None:
        self._inflater = module.decompressobj(31)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return bool(self._inflater.eof)

    @property
    def needs_input(self) -> bool:
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        return bytes(self._inflater.unused_data)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        piece = self._inflater.decompress(data or self._tail, max_length)
        self._tail = self._inflater.unconsumed_tail
        return piece


def _stage_factory(kind: str) -> tuple[Callable[[], _Stage], tuple[type[BaseException], ...]]:
    if kind == ".gz":
        module = fastcodecs.inflater()
        return (lambda: _ZlibStage(module)), (zlib.error, module.error)
    if kind == ".xz":
        return (lambda: lzma.LZMADecompressor(lzma.FORMAT_AUTO)), (lzma.LZMAError,)
    if kind == ".bz2":
        return bz2.BZ2Decompressor, (OSError, ValueError)
    raise ValueError(f"not a compression suffix: {kind!r}")


class InflateStream:
    """A readable stream of the uncompressed bytes of an open .gz/.xz/.bz2 file.

    `readinto(buffer)` fills `buffer` as far as the stream goes (0 at its clean end); every piece
    is at most OUT_CHUNK bytes, so memory stays bounded whatever the file declares. Damage is a
    FormatError naming the file and the uncompressed offset (and compressed bytes read).
    """

    def __init__(self, handle: BinaryIO, kind: str, path: str | Path) -> None:
        self._make_stage, self._errors = _stage_factory(kind)
        self._handle = handle
        self._kind = kind
        self._path = path
        self.position = 0  # uncompressed bytes returned so far
        self.compressed_read = 0
        self._pending = b""
        self._stage: _Stage | None = None
        self._members = 0
        self._at_end = False
        self._done = False

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Fills `buffer` with the next uncompressed bytes; returns how many (0 at the end)."""
        out = memoryview(buffer)
        if out.format != "B" or out.ndim != 1:
            out = out.cast("B")
        filled = 0
        while filled < len(out) and not self._done:
            filled += self._step(out[filled:])
        return filled

    def _read(self) -> bytes:
        data = self._handle.read(IN_CHUNK)
        self.compressed_read += len(data)
        return data

    def _step(self, out: memoryview) -> int:
        stage = self._stage
        if stage is None:
            if not self._pending:
                self._pending = self._read()
                if not self._pending:
                    self._finish()
                    return 0
            if self._members and self._kind != ".bz2":  # zero padding after a member
                self._pending = self._pending.lstrip(b"\0")
                if not self._pending:
                    return 0
            if self._kind == ".gz" and not b"\x1f\x8b".startswith(self._pending[:2]):
                raise FormatError(
                    self._path,
                    f"not a valid gz file: no gzip magic 1f 8b at member {self._members + 1} "
                    f"(after {self.position} uncompressed bytes)",
                    offset=self.position,
                    field="magic",
                    expected="1f 8b",
                    actual=self._pending[:2].hex(" "),
                )
            stage = self._stage = self._make_stage()
            data, self._pending = self._pending, b""
        elif stage.needs_input:
            data = self._read()
            self._at_end = not data
        else:
            data = b""
        at = self.position
        try:
            piece = stage.decompress(data, min(OUT_CHUNK, len(out)))
        except self._errors as error:
            raise FormatError(
                self._path,
                f"not a valid {self._kind[1:]} file: {error} (after {at} uncompressed bytes, "
                f"compressed byte <= {self.compressed_read})",
                offset=at,
            ) from None
        count = len(piece)
        out[:count] = piece
        self.position += count
        if stage.eof:
            self._members += 1
            self._pending = stage.unused_data
            self._stage = None
            self._at_end = False
        elif self._at_end and not count and stage.needs_input:
            raise FormatError(
                self._path,
                f"the {self._kind[1:]} stream ends early: the file is truncated "
                f"({self.compressed_read} compressed bytes)",
                offset=self.position,
                field="stream",
                expected="the end of the compressed stream",
                actual="end of file",
            )
        return count

    def _finish(self) -> None:
        self._done = True
        if self._members == 0:
            raise FormatError(
                self._path, f"not a valid {self._kind[1:]} file: no compressed data", offset=0
            )


def inflate_into(handle: BinaryIO, out: memoryview, kind: str, path: str | Path) -> int:
    """Decompresses `handle` into `out`; returns the bytes written (fewer if the stream ends
    cleanly early). A stream holding even one byte more than `len(out)` is a FormatError, raised
    before anything beyond `out` is decompressed (bomb-safe: memory bounded by `out`)."""
    stream = InflateStream(handle, kind, path)
    filled = stream.readinto(out)
    if filled == len(out) and stream.readinto(bytearray(1)):
        raise too_much(path, len(out), stream.compressed_read)
    return filled


def too_much(path: str | Path, declared: int, read: int) -> FormatError:
    """The error for a stream that holds more than the header declares (bytes past the end)."""
    return FormatError(
        path,
        f"unexpected bytes after the {declared} bytes the header declares: the compressed "
        f"stream holds more (stopped after {read} compressed bytes)",
        offset=declared,
        field="payload",
        expected=declared,
        actual=f"more than {declared}",
    )
