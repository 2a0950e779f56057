"""One array in a `.npz` archive, read safely: the `.npy` header inside the zip member is read
first, and its shape times its item size must equal the member's uncompressed size (which must
itself be possible for the compressed size) before anything is allocated. Object arrays are
refused (nothing is ever unpickled); every zip, zlib or numpy failure is a FormatError.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from engine.errors import EngineError, FormatError
from engine.io.growbuffer import GrowingBuffer

#: deflate cannot expand data more than about 1032:1; a member declaring more is lying
MAX_DEFLATE_RATIO = 1032


def read_npz_array(path: Path, name: str) -> np.ndarray:
    """The array `name` of the archive at `path`, checked against what its headers declare."""
    member = f"{name}.npy"
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo(member)
            except KeyError:
                raise FormatError(
                    path,
                    f"no array {name!r} in the archive (it holds {archive.namelist()[:5]})",
                    field="array",
                    expected=name,
                    actual=archive.namelist()[:5],
                ) from None
            _check_member_size(path, info)
            with archive.open(info) as stream:
                shape, fortran, dtype, header_end = _read_npy_header(stream, path)
                payload = math.prod(shape) * dtype.itemsize
                if header_end + payload != info.file_size:
                    raise FormatError(
                        path,
                        f"{member}: the .npy header declares shape {shape} of {dtype} "
                        f"({payload} bytes), the member holds {info.file_size - header_end}",
                        offset=header_end,
                        field="shape",
                        expected=info.file_size - header_end,
                        actual=payload,
                    )
                data = _inflate_once(stream, payload)
    except FormatError:
        raise
    except MemoryError as error:  # an honest array larger than this process may hold
        raise EngineError(f"{path}: {member} holds {payload} bytes: {error}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise FormatError(path, f"not a readable .npz archive ({error})") from None
    except (NotImplementedError, RuntimeError) as error:  # zipfile: unknown method, encrypted
        raise FormatError(path, f"an .npz member this reader cannot open ({error})") from None
    if len(data) != payload:
        raise FormatError(
            path,
            f"{member} is truncated: {len(data)} of the {payload} payload bytes",
            offset=header_end + len(data),
            field="payload",
            expected=payload,
            actual=len(data),
        )
    array = data.view(dtype) if payload else np.zeros(0, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


PIECE = 1 << 22  # uncompressed bytes taken from the member at a time


def _inflate_once(stream: IO[bytes], payload: int) -> np.ndarray:
    """The member's next ``payload`` bytes, inflated once straight into the array that keeps
    them (``ZipExtFile.read(n)`` joins its pieces into a second copy: a 1.1 GB array peaked at
    2.2 GB). The buffer grows as bytes arrive, a bounded step ahead of them."""

    def fill(view: memoryview) -> int:
        piece = stream.read(min(len(view), PIECE))
        view[: len(piece)] = piece
        return len(piece)

    buffer = GrowingBuffer(payload)
    buffer.fill_from(fill)
    return buffer.array()[:payload]


def _check_member_size(path: Path, info: zipfile.ZipInfo) -> None:
    limit = info.compress_size * MAX_DEFLATE_RATIO + 1024
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > limit:
        raise FormatError(
            path,
            f"{info.filename} declares {info.file_size} bytes from {info.compress_size} "
            "compressed, more than deflate can expand",
            field="file_size",
            expected=f"<= {limit}",
            actual=info.file_size,
        )


def _read_npy_header(stream, path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, header length) of a `.npy` stream."""
    fmt = np.lib.format
    version = fmt.read_magic(stream)
    try:
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(stream)
        else:
            raise FormatError(path, f".npy version {version} is not supported", offset=6)
    except (tokenize.TokenError, SyntaxError, RecursionError, TypeError) as error:
        # numpy tokenizes and evaluates the header's dict literal: a mangled one fails in there
        raise FormatError(
            path, f"the .npy header is not a readable dict ({error})", offset=8, field="header"
        ) from None
    if dtype.hasobject:
        raise FormatError(
            path,
            "the array holds Python objects (pickles), which are never loaded",
            field="dtype",
            expected="a numeric dtype",
            actual=str(dtype),
        )
    if any(d < 0 for d in shape):
        raise FormatError(path, f"negative dimension in shape {shape}", field="shape")
    header_end = stream.tell()
    return tuple(int(d) for d in shape), bool(fortran), dtype, header_end


def write_npz_array(path: Path, name: str, array: np.ndarray, *, compressed: bool) -> None:
    """Writes `array` as the only array `name` of a new archive at `path` (never pickled)."""
    save = np.savez_compressed if compressed else np.savez
    with open(path, "wb") as handle:
        save(handle, allow_pickle=False, **{name: np.ascontiguousarray(array)})
