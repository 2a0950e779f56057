"""Reads and writes file contents through gzip, xz, bz2 or nothing, chosen by the file's suffix.

Plain files are memory-mapped, so opening a large one costs O(1); compressed ones are decompressed
in one call. Every decompression failure becomes a FormatError naming the file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from engine.errors import FormatError

COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2")


def compression_of(path: str | Path) -> str:
    """The compression suffix of a path ('.gz', '.xz', '.bz2') or '' for a plain file."""
    suffix = Path(path).suffix.lower()
    return suffix if suffix in COMPRESSED_SUFFIXES else ""


def read_content(path: str | Path) -> np.ndarray:
    """The uncompressed content of a file as a read-only uint8 array (memory-mapped when plain)."""
    path = Path(path)
    kind = compression_of(path)
    if kind == "":
        return _map_plain(path)
    with open(path, "rb") as handle:
        packed = handle.read()
    if kind == ".gz":
        return _gunzip(packed, path)
    return np.frombuffer(_decompress(packed, kind, path), dtype=np.uint8)


def read_head(path: str | Path, size: int) -> bytes:
    """The first `size` bytes of the uncompressed content, decompressing no more than needed."""
    path = Path(path)
    opener = _OPENERS[compression_of(path)]
    try:
        with opener(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as error:
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
    done = 0

    def fill(buffer: memoryview) -> int:
        nonlocal done
        try:
            count = handle.readinto(buffer)
        except EOFError:
            raise FormatError(
                path,
                f"the {kind[1:]} stream ends early, after {done} uncompressed bytes: truncated",
            ) from None
        except (OSError, zlib.error, lzma.LZMAError, ValueError) as error:
            raise FormatError(
                path, f"cannot read past {done} uncompressed bytes: {error}", offset=done
            ) from None
        done += count
        return count

    with _OPENERS[kind](path, "rb") as handle:
        yield fill


def _map_plain(path: Path) -> np.ndarray:
    # np.memmap (not a bare mmap) keeps the file name, so views can be mapped again elsewhere
    # (e.g. in DataLoader workers) instead of being pickled whole.
    if Path(path).stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")


_BLOCK = 1 << 23  # output bytes per inflate call: bounds the transient copy


def _gunzip(packed: bytes, path: Path) -> np.ndarray:
    """Inflates every gzip member into one preallocated array (peak memory ~ output + input).

    The size hint comes from the last member's ISIZE field, capped by deflate's 1032:1 ratio so
    a lying trailer cannot make us allocate more than the data could ever hold.
    """
    if packed[:2] != b"\x1f\x8b":
        raise FormatError(path, "not a valid gz file: no gzip magic 1f 8b", offset=0)
    hint = int.from_bytes(packed[-4:], "little") if len(packed) >= 18 else 0
    out = np.empty(min(hint, 1032 * len(packed)) or _BLOCK, dtype=np.uint8)
    filled = 0
    rest = memoryview(packed)
    try:
        while rest:
            inflater = zlib.decompressobj(31)
            pending: bytes | memoryview = rest
            while not inflater.eof:
                if not pending:
                    raise FormatError(
                        path,
                        f"the gz stream ends early, after {filled} uncompressed bytes: "
                        "the file is truncated",
                        offset=len(packed),
                    )
                block = inflater.decompress(pending, _BLOCK)
                pending = inflater.unconsumed_tail
                if filled + len(block) > len(out):
                    out = _grow(out, filled + len(block))
                out[filled : filled + len(block)] = np.frombuffer(block, np.uint8)
                filled += len(block)
            rest = memoryview(inflater.unused_data)
            if rest and not any(rest[:2]):  # zero padding after the last member is allowed
                break
    except zlib.error as error:
        raise FormatError(path, f"not a valid gz file: {error}") from None
    return out[:filled]


def _grow(array: np.ndarray, needed: int) -> np.ndarray:
    bigger = np.empty(max(needed, 2 * len(array)), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


def _decompress(packed: bytes, kind: str, path: Path) -> bytes:
    try:
        if kind == ".gz":
            return gzip.decompress(packed)
        if kind == ".xz":
            return lzma.decompress(packed)
        return bz2.decompress(packed)
    except EOFError:
        raise FormatError(
            path,
            f"the {kind[1:]} stream ends early ({len(packed)} compressed bytes): "
            "the file is truncated",
        ) from None
    except (OSError, zlib.error, lzma.LZMAError, ValueError) as error:
        raise FormatError(path, f"not a valid {kind[1:]} file: {error}") from None


@contextmanager
def open_writer(path: str | Path, compresslevel: int = 6) -> Iterator[io.BufferedIOBase]:
    """A binary writer for `path`, compressing by its suffix; gzip output is reproducible."""
    path = Path(path)
    kind = compression_of(path)
    with open(path, "wb") as raw:
        if kind == ".gz":
            inner_name = path.name[: -len(kind)]
            with gzip.GzipFile(inner_name, "wb", compresslevel, raw, mtime=0) as writer:
                yield writer
        elif kind == ".xz":
            with lzma.LZMAFile(raw, "wb", preset=min(compresslevel, 9)) as writer:
                yield writer
        elif kind == ".bz2":
            with bz2.BZ2File(raw, "wb", compresslevel=max(1, compresslevel)) as writer:
                yield writer
        else:
            yield raw


def write_chunks(
    path: str | Path, chunks: Iterable[bytes | memoryview], compresslevel: int = 6
) -> None:
    """Writes the chunks to `path`, compressed by its suffix."""
    with open_writer(path, compresslevel) as writer:
        for chunk in chunks:
            writer.write(chunk)


_OPENERS: dict[str, Callable[..., io.BufferedIOBase]] = {
    ".gz": gzip.open,
    ".xz": lzma.open,
    ".bz2": bz2.open,
    "": open,
}
