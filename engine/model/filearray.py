"""Where an array lives in a plain file, so another process (a pool or Dask worker) can map the
same bytes instead of receiving a copy of them.

An array is file-backed when its buffer chain ends in a read-only `np.memmap` (how plain IDX files
are read); a slice of it is described by the file, the byte offset of its first element, its shape,
strides and dtype. Copies (`astype`, fancy indexing) are not file-backed: they travel as data.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

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
