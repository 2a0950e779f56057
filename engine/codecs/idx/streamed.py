"""Large compressed IDX files read in bounded memory: the payload is decompressed piece by piece
into a spill file (engine.model.filearray.RowSpill) and memory-mapped, so an 8.1M-image .gz costs
disk and page cache, not 6 GB of heap. Small files keep the in-memory path (faster); when the
cache is asked for (``cache=True``, or the CLI's automatic policy), the cache is used instead,
at every size, so the next load maps it rather than decompressing again.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine.codecs.idx.container import DIMS_OFFSET, check_against, items_held, read_header
from engine.compute.progress import Progress
from engine.errors import FormatError
from engine.io import cache
from engine.io.compression import compression_of, read_head, stream_reader
from engine.model import filearray
from engine.model.filearray import RowSpill
from specs.schema import Tensor

_PIECE = 1 << 24  # uncompressed bytes decompressed at a time
_GZIP_RATIO = 1032  # deflate's largest expansion


def read_idx_spilled(
    path: str | Path,
    tensor: Tensor,
    *,
    count: int | None = None,
    tolerate_element_count: bool = False,
) -> np.ndarray | None:
    """The tensor of a compressed IDX file whose payload is over SPILL_BYTES, streamed into a
    spill; None for a plain or small file (read it with `read_idx`). Checks as `read_idx` does."""
    if compression_of(path) == "":
        return None
    header = read_header(read_head(path, DIMS_OFFSET + 4 * 255), path)
    check_against(header, tensor, path)
    per_item = math.prod(header.dims[1:]) * header.disk_dtype.itemsize
    declared = header.dims[0] * per_item
    if declared <= filearray.SPILL_BYTES or header.disk_dtype.itemsize > 1:
        return None
    packed = Path(path).stat().st_size
    cap = _GZIP_RATIO * packed + (1 << 16) if compression_of(path) == ".gz" else None
    limit = declared
    if cap is not None and declared > cap and tolerate_element_count:
        limit = header.dims[0] * header.disk_dtype.itemsize  # dims[0] may count elements
    if cap is not None and limit > cap:
        raise FormatError(
            path,
            f"the IDX header declares {declared} payload bytes; {packed} gzip bytes cannot "
            f"inflate to more than {_GZIP_RATIO * packed}",
            offset=DIMS_OFFSET,
            field="dims",
            expected=f"<= {_GZIP_RATIO * packed}",
            actual=declared,
        )
    if cache.current_policy().wants(header.size + declared):
        return None  # the cache, when asked for, wins over the per-run spill: read_idx maps it
    spill = RowSpill(np.dtype(np.uint8), threshold=0)
    total = _stream_payload(path, header.size, limit, spill)
    items = items_held(header, total, path, count, tolerate_element_count)
    array = spill.finish()[: items * per_item].reshape((items, *header.dims[1:]))
    if tensor.transposed and array.ndim >= 3:
        array = array.swapaxes(-1, -2)
    return array


def _stream_payload(path: str | Path, skip: int, declared: int, spill: RowSpill) -> int:
    """Decompresses the payload after `skip` header bytes into `spill`; stops one piece past
    `declared` (enough to tell that bytes follow, never a bomb's worth). Returns bytes seen."""
    buffer = np.empty(_PIECE, dtype=np.uint8)
    total = -skip
    with (
        stream_reader(path) as fill,
        Progress(declared, f"decompressing {Path(path).name} (bytes)") as bar,
    ):
        while total <= declared:
            got = fill(buffer.data)
            if got == 0:
                break
            piece = buffer[:got]
            if total < 0:
                piece = piece[min(-total, got) :]
            total += got
            spill.append(piece)
            bar.update(len(piece))
    return max(total, 0)
