"""Dask arrays back into a subset: images are computed a few row chunks at a time into a
memory-mapped spill file, so writing them to any format goes through the same writers as any
dataset, in bounded memory.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from engine.model import NO_LABEL, Subset


def subset_from_dask(
    name: str,
    images: Any | None,
    labels: Any | None = None,
    *,
    attributes: dict[str, Any] | None = None,
    ids: Any | None = None,
    spill_dir: str | os.PathLike | None = None,
) -> Subset:
    """A subset from dask (or numpy) arrays: images are computed chunk by chunk into a
    memory-mapped spill file in `spill_dir` (the system's temporary folder by default), removed
    from the folder at once and freed with the subset; labels (None: unlabeled) and attribute
    columns are computed whole."""
    if images is None and labels is None:
        raise ValueError("subset_from_dask needs images or labels")
    stored = None if images is None else _spill(images, spill_dir)
    if labels is None:
        assert stored is not None  # images or labels: checked above
        model_labels = np.full(len(stored), NO_LABEL, dtype=np.int32)
    else:
        model_labels = np.asarray(_compute(labels)).astype(np.int32)
    return Subset(
        name=name,
        labels=model_labels,
        images=stored,
        ids=None if ids is None else np.asarray(_compute(ids), dtype=object),
        attributes={key: np.asarray(_compute(col)) for key, col in (attributes or {}).items()},
    )


def _compute(array: Any) -> Any:
    return array.compute() if hasattr(array, "compute") else array


def _spill(images: Any, spill_dir: str | os.PathLike | None) -> np.ndarray:
    """`images` stored into an unlinked, memory-mapped file (pages on disk, not in the heap),
    computing a few row chunks at a time on the client's scheduler."""
    if not hasattr(images, "dask"):
        return np.asarray(images)
    import dask

    if any(np.isnan(d) for d in images.shape):
        images = images.compute_chunk_sizes()
    shape = tuple(int(d) for d in images.shape)
    dtype = np.dtype(images.dtype)
    if 0 in shape:
        return np.empty(shape, dtype)
    handle, path = tempfile.mkstemp(prefix="mnist-engine-spill-", dir=spill_dir)
    try:
        os.ftruncate(handle, int(np.prod(shape)) * dtype.itemsize)
        target = np.memmap(path, dtype=dtype, mode="r+", shape=shape)
    finally:
        os.close(handle)
        os.unlink(path)
    images = images.rechunk({i: -1 for i in range(1, len(shape))})
    bounds = np.cumsum((0, *images.chunks[0]))
    blocks = list(images.to_delayed().ravel())
    step = 4
    for first in range(0, len(blocks), step):
        done = dask.compute(*blocks[first : first + step])
        for offset, block in enumerate(done):
            index = first + offset
            target[bounds[index] : bounds[index + 1]] = block
    target.flags.writeable = False
    return target
