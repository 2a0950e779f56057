"""File-backed arrays: where an array lives in a plain file, so another process (a pool or Dask
worker) can map the same bytes instead of receiving a copy; and spills, which gather rows too
large for the heap into a memory-mapped temporary file.

An array is file-backed when its buffer chain ends in a read-only `np.memmap` (how plain IDX files
are read); a slice of it is described by the file, the byte offset of its first element, its shape,
strides and dtype. Copies (`astype`, fancy indexing) are not file-backed: they travel as data.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FileArray:
    """A read-only view of bytes in a file: enough to rebuild the same array anywhere the path
    is visible."""

    path: str
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: str

    def open(self) -> np.ndarray:
        """The array, memory-mapped from the file (no read until its pages are touched)."""
        if 0 in self.shape:
            return np.empty(self.shape, np.dtype(self.dtype))
        mapped = np.memmap(self.path, dtype=np.uint8, mode="r")
        return np.ndarray(
            self.shape,
            np.dtype(self.dtype),
            buffer=mapped,
            offset=self.offset,
            strides=self.strides,
        )

    @property
    def nbytes(self) -> int:
        size = np.dtype(self.dtype).itemsize
        for dim in self.shape:
            size *= dim
        return size


def file_origin(array: object) -> FileArray | None:
    """The `FileArray` `array` is a view of, or None when it is not a read-only file mapping."""
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        return None
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (
        isinstance(root, np.memmap)
        and isinstance(root.base, mmap.mmap)
        and root.filename is not None
        and root.mode in ("r", "c")
        and not array.flags.writeable
        and os.path.exists(root.filename)
    ):
        return None
    start = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return FileArray(
        path=str(root.filename),
        offset=int(root.offset) + start,
        shape=tuple(int(d) for d in array.shape),
        strides=tuple(int(s) for s in array.strides),
        dtype=array.dtype.str,
    )


#: arrays larger than this are gathered into a spill file rather than the heap
SPILL_BYTES = int(os.environ.get("MNIST_ENGINE_SPILL_BYTES", 256 << 20))


class RowSpill:
    """Collects rows appended in chunks into one array: in memory while small, then in an
    anonymous temporary file (in $TMPDIR, gone when the array is), memory-mapped read-only, so a
    dataset larger than memory costs page cache, not heap."""

    def __init__(self, dtype: np.dtype | str, threshold: int | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.threshold = SPILL_BYTES if threshold is None else threshold
        self.size = 0
        self._parts: list[np.ndarray] = []
        self._file: Any = None

    def append(self, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, dtype=self.dtype).reshape(-1)
        if self._file is None and self.size + data.nbytes > self.threshold:
            self._file = tempfile.TemporaryFile(prefix="mnist-engine-spill-")  # noqa: SIM115 (closed by finish)
            for part in self._parts:
                self._file.write(part.view(np.uint8).data)
            self._parts.clear()
        if self._file is not None:
            self._file.write(data.view(np.uint8).data)
        else:
            self._parts.append(data)
        self.size += data.nbytes

    def finish(self) -> np.ndarray:
        """Everything appended, as one flat array (read-only when spilled)."""
        if self._file is None:
            if not self._parts:
                return np.zeros(0, self.dtype)
            return self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts)
        self._file.flush()
        mapped = np.memmap(self._file, self.dtype, "r", shape=(self.size // self.dtype.itemsize,))
        self._file.close()
        return mapped


def take_rows(array: np.ndarray, rows: np.ndarray, chunk_bytes: int = 16 << 20) -> np.ndarray:
    """`array[rows]`, gathered chunk by chunk into a spill when the result is large."""
    per_row = max(1, array[0].nbytes if len(array) else 1)
    if len(rows) * per_row <= SPILL_BYTES:
        return array[rows]
    spill = RowSpill(array.dtype, threshold=0)
    step = max(1, chunk_bytes // per_row)
    for start in range(0, len(rows), step):
        spill.append(array[rows[start : start + step]])
    return spill.finish().reshape((len(rows), *array.shape[1:]))


def concat_rows(arrays: list[np.ndarray], chunk_bytes: int = 16 << 20) -> np.ndarray:
    """`np.concatenate(arrays)` (one shape and dtype), into a spill when the result is large."""
    total = sum(a.nbytes for a in arrays)
    if total <= SPILL_BYTES:
        return np.concatenate(arrays)
    spill = RowSpill(arrays[0].dtype, threshold=0)
    for array in arrays:
        step = max(1, chunk_bytes // max(1, array[0].nbytes if len(array) else 1))
        for start in range(0, len(array), step):
            spill.append(array[start : start + step])
    count = sum(len(a) for a in arrays)
    return spill.finish().reshape((count, *arrays[0].shape[1:]))
