"""A subset as dask arrays chunked by rows (`Subset.to_dask`).

Images, labels and attribute columns become dask arrays. Images that are views of a plain file
(raw IDX, or a decompressed cache) become one task per chunk of rows that maps the file at its
offset where the task runs, so a cluster reads partitions in parallel and the client ships no
pixels; other columns are wrapped with `dask.array.from_array`. The way back is
engine.compute.dask_spill.subset_from_dask. Imports nothing of the model but the file-array helper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import EngineError
from engine.model.filearray import FileArray, file_origin

#: rows per chunk when not given: ~64 MB of pixels, at least one row
CHUNK_BYTES = 64 << 20


@dataclass
class DaskColumns:
    """A subset's columns as dask arrays: images (None without images), labels, attributes."""

    name: str
    labels: Any
    images: Any | None
    attributes: dict[str, Any] = field(default_factory=dict)


class _MappedRows:
    """A lazy array source for dask: each slice maps the file and copies only those rows."""

    def __init__(self, origin: FileArray) -> None:
        self.origin = origin
        self.shape = origin.shape
        self.dtype = np.dtype(origin.dtype)
        self.ndim = len(origin.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.array(self.origin.open()[key])


def import_dask_array() -> Any:
    """`dask.array`; an EngineError naming the [dask] extra when it is missing."""
    try:
        import dask.array
    except ImportError as error:
        raise EngineError(
            f'dask arrays need the [dask] extra: pip install "mnist-engine[dask]" ({error})'
        ) from None
    return dask.array


def subset_to_dask(subset: Any, chunk_rows: int | None = None) -> DaskColumns:
    """The subset's columns as dask arrays of `chunk_rows` rows per chunk (default ~64 MB)."""
    da = import_dask_array()
    from dask.base import tokenize

    images = subset.images
    if images is not None and not isinstance(images, np.ndarray):
        raise EngineError(
            f"subset {subset.name!r}: its images differ in shape, so they make no dask array; "
            "convert them to one size first (resize=...)"
        )
    if chunk_rows is None:
        per_row = images[0].nbytes if images is not None and len(images) else 1
        chunk_rows = max(1, CHUNK_BYTES // max(per_row, 1))
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, not {chunk_rows}")
    dask_images = None
    if images is not None:
        chunks = (chunk_rows, *images.shape[1:])
        origin = file_origin(images)
        if origin is not None:
            name = f"images-{subset.name}-" + tokenize(origin, chunk_rows)
            dask_images = da.from_array(_MappedRows(origin), chunks=chunks, name=name)
        else:
            dask_images = da.from_array(images, chunks=chunks)
    return DaskColumns(
        name=subset.name,
        labels=da.from_array(np.asarray(subset.labels), chunks=chunk_rows),
        images=dask_images,
        attributes={
            key: da.from_array(np.asarray(column), chunks=chunk_rows)
            for key, column in subset.attributes.items()
        },
    )
