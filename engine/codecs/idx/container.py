"""Reads and writes one IDX tensor file: header via the spec's construct struct, payload via numpy.

Every declared size is checked against what the file holds before anything is allocated, so a
header that lies about its size is a FormatError, never a MemoryError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.codecs.idx.header import parse_header
from engine.errors import FormatError, FormatWarning, warn_caller
from engine.io.compression import compression_of, read_content, read_head, write_chunks
from specs.idx import DTYPE_NAMES, IDX_HEADER, TYPE_CODE_OF, TYPE_CODES
from specs.schema import Tensor

DIMS_OFFSET = 4  # byte where the dims start: 2 zero bytes, type code, ndim
HEAD_BYTES = DIMS_OFFSET + 4 * 255  # the longest header: 255 dims


@dataclass(frozen=True)
class IdxHeader:
    """A parsed IDX header: dtype name, dims as declared, and the header's size in bytes."""

    dtype: str
    dims: tuple[int, ...]
    size: int

    @property
    def disk_dtype(self) -> np.dtype:
        return np.dtype(TYPE_CODES[TYPE_CODE_OF[self.dtype]])


def read_header(content: np.ndarray | bytes, path: str | Path) -> IdxHeader:
    """Parses and validates the IDX header at the start of `content`."""
    head = bytes(content[: DIMS_OFFSET + 4 * 255])
    fields, size = parse_header(IDX_HEADER, head, path)
    return IdxHeader(DTYPE_NAMES[int(fields.type_code)], tuple(fields.dims), size)


def read_declared(path: str | Path) -> np.ndarray:
    """The whole content of an IDX file; a compressed one is decompressed into one array of the
    size its header declares, stopping at once if the stream holds more (bomb-safe)."""
    if compression_of(path) == "":
        return read_content(path)
    return read_content(path, declared_content_size(path))


def declared_content_size(path: str | Path) -> int:
    """The uncompressed bytes an IDX file's header declares (header plus payload), read from the
    first bytes only: the most any work on its content needs to inflate. FormatError when the
    start is not an IDX header."""
    return declared_size_of(read_head(path, HEAD_BYTES), path)


def declared_size_of(head: bytes, path: str | Path) -> int:
    """The uncompressed bytes the IDX header at the start of ``head`` declares."""
    header = read_header(head, path)
    return header.size + math.prod(header.dims) * header.disk_dtype.itemsize


def check_against(header: IdxHeader, tensor: Tensor, path: str | Path) -> None:
    """Raises FormatError where the header disagrees with what the spec declares."""
    if header.dtype != tensor.dtype:
        expected = TYPE_CODE_OF[tensor.dtype]
        raise FormatError(
            path,
            f"IDX type code 0x{TYPE_CODE_OF[header.dtype]:02x} ({header.dtype}) where this format "
            f"stores 0x{expected:02x} ({tensor.dtype})",
            offset=2,
            field="type_code",
            expected=expected,
            actual=TYPE_CODE_OF[header.dtype],
        )
    ndim = 1 + len(tensor.item_shape)
    if len(header.dims) != ndim:
        raise FormatError(
            path,
            f"IDX number of dimensions is {len(header.dims)}, expected {ndim}",
            offset=3,
            field="ndim",
            expected=ndim,
            actual=len(header.dims),
        )
    shape = _stored_shape(tensor)
    for axis, (found, wanted) in enumerate(zip(header.dims[1:], shape, strict=True), start=1):
        if found != wanted:
            raise FormatError(
                path,
                f"IDX dimension {axis} is {found}, expected {wanted}",
                offset=DIMS_OFFSET + 4 * axis,
                field=f"dims[{axis}]",
                expected=wanted,
                actual=found,
            )


def _stored_shape(tensor: Tensor) -> tuple[int, ...]:
    shape = tensor.item_shape
    return shape[:-2] + shape[:-3:-1] if tensor.transposed and len(shape) >= 2 else shape


def read_idx(
    path: str | Path,
    tensor: Tensor | None = None,
    *,
    count: int | None = None,
    tolerate_element_count: bool = False,
) -> np.ndarray:
    """Reads an IDX file into an array (native byte order; zero-copy for single-byte types).

    `tensor` constrains dtype and item shape; `count`, when known from a companion file, is the
    number of items the file must hold. With `tolerate_element_count`, a first dim that counts
    elements rather than items (Datumaro's writer) is accepted with a FormatWarning.
    """
    content = read_declared(path)
    header = read_header(content, path)
    if tensor is not None:
        check_against(header, tensor, path)
    items = header.dims[0]
    per_item = math.prod(header.dims[1:])
    itemsize = header.disk_dtype.itemsize
    _check_item_size(header, per_item * itemsize, path)
    items = items_held(header, len(content) - header.size, path, count, tolerate_element_count)
    array = np.frombuffer(content, header.disk_dtype, items * per_item, header.size)
    array = array.reshape((items, *header.dims[1:]))
    if header.disk_dtype.itemsize > 1:
        array = array.astype(header.disk_dtype.newbyteorder("="))
    if tensor is not None and tensor.transposed and array.ndim >= 3:
        array = array.swapaxes(-1, -2)
    return array


def items_held(
    header: IdxHeader,
    payload: int,
    path: str | Path,
    count: int | None,
    tolerate_element_count: bool,
) -> int:
    """How many items `payload` bytes after the header hold, checked against the header (or, with
    `tolerate_element_count`, Datumaro's element count, with a FormatWarning) and against `count`,
    the number a companion file holds."""
    items = header.dims[0]
    per_item_bytes = math.prod(header.dims[1:]) * header.disk_dtype.itemsize
    if (
        items * per_item_bytes != payload
        and tolerate_element_count
        and _counts_elements(header, payload)
    ):
        items = payload // per_item_bytes
        warn_caller(
            f"{Path(path).name}: the IDX header declares {header.dims[0]} items, which is the "
            f"number of elements (a known Datumaro writer bug); reading {items} items",
            FormatWarning,
        )
    else:
        _check_payload(header, payload, path)
    if count is not None and items != count:
        raise FormatError(
            path,
            f"holds {items} items where its companion file holds {count}",
            offset=DIMS_OFFSET,
            field="dims[0]",
            expected=count,
            actual=items,
        )
    return items


#: one item of an IDX file may hold at most this many bytes (numpy cannot shape larger arrays)
MAX_ITEM_BYTES = 1 << 40


def _check_item_size(header: IdxHeader, item_bytes: int, path: str | Path) -> None:
    if item_bytes > MAX_ITEM_BYTES:
        shape = "x".join(str(d) for d in header.dims[1:])
        raise FormatError(
            path,
            f"items of {shape} values ({item_bytes} bytes each) are larger than any array",
            offset=DIMS_OFFSET + 4,
            field="dims",
            expected=f"<= {MAX_ITEM_BYTES} bytes per item",
            actual=item_bytes,
        )


def _counts_elements(header: IdxHeader, payload: int) -> bool:
    per_item_bytes = math.prod(header.dims[1:]) * header.disk_dtype.itemsize
    return (
        per_item_bytes > 0
        and header.dims[0] * header.disk_dtype.itemsize == payload
        and payload % per_item_bytes == 0
    )


def _check_payload(header: IdxHeader, payload: int, path: str | Path) -> None:
    per_item = math.prod(header.dims[1:]) * header.disk_dtype.itemsize
    declared = header.dims[0] * per_item
    if payload == declared:
        return
    shape = "x".join(str(d) for d in header.dims)
    if payload < declared:
        whole = payload // per_item if per_item else 0
        raise FormatError(
            path,
            f"payload ends early: the header declares {shape} {header.dtype} = {declared} bytes, "
            f"the file holds {payload} after the {header.size}-byte header "
            f"({whole} whole items)",
            offset=header.size + payload,
            field="payload",
            expected=declared,
            actual=payload,
        )
    raise FormatError(
        path,
        f"{payload - declared} unexpected bytes after the payload the header declares "
        f"({shape} {header.dtype} = {declared} bytes)",
        offset=header.size + declared,
        field="payload",
        expected=declared,
        actual=payload,
    )


def read_idx_flat(path: str | Path, tensor: Tensor) -> tuple[IdxHeader, np.ndarray]:
    """The header and the whole payload as a flat array, for files whose items vary in size."""
    content = read_content(path)
    header = read_header(content, path)
    check_against(header, tensor, path)
    itemsize = header.disk_dtype.itemsize
    payload = len(content) - header.size
    if payload % itemsize:
        raise FormatError(
            path,
            f"payload of {payload} bytes is not a whole number of {header.dtype} values",
            offset=header.size + payload - payload % itemsize,
        )
    flat = np.frombuffer(content, header.disk_dtype, payload // itemsize, header.size)
    return header, flat


def idx_header_bytes(dtype: str, shape: tuple[int, ...]) -> bytes:
    """The IDX header for an array of this dtype and shape (the first dim counts the items)."""
    return IDX_HEADER.build(
        {"zeros": b"\x00\x00", "type_code": TYPE_CODE_OF[dtype], "ndim": len(shape), "dims": shape}
    )


def write_idx(
    path: str | Path,
    array: np.ndarray,
    tensor: Tensor,
    *,
    compresslevel: int = 6,
    threads: int | None = None,
) -> None:
    """Writes `array` as an IDX file of the tensor's dtype (transposed back if the spec says so),
    in bounded chunks of rows: a conversion or transposition never copies the whole array."""
    if tensor.transposed and array.ndim >= 3:
        array = array.swapaxes(-1, -2)
    disk = np.dtype(TYPE_CODES[TYPE_CODE_OF[tensor.dtype]])
    header = idx_header_bytes(tensor.dtype, array.shape)
    write_chunks(path, [header, *_row_chunks(array, disk)], compresslevel, threads=threads)


WRITE_CHUNK_BYTES = 1 << 24  # rows converted and handed to the writer at a time


def _row_chunks(array: np.ndarray, disk: np.dtype):
    """The array's bytes in the disk dtype, a few MiB of rows at a time (views when possible)."""
    if array.ndim == 0 or len(array) == 0:
        return
    row_bytes = max(1, array[0].size * disk.itemsize)
    rows = max(1, WRITE_CHUNK_BYTES // row_bytes)
    for start in range(0, len(array), rows):
        block = np.ascontiguousarray(array[start : start + rows], dtype=disk)
        yield block.reshape(-1).view(np.uint8).data
