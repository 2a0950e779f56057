"""A dataset as a Hugging Face `datasets.DatasetDict` (needs `[hf]`), built from Arrow tables
directly rather than example by example.

`images="image"` gives the `Image()` feature (the Hub's; the pixels are PNG-encoded once, by the
fast encoder, since `Image()` stores encoded bytes); `images="array"` gives `Array2D`/`Array3D`
holding the pixels as they are, with no encoding at all. Labels are `ClassLabel(names)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import ValidationError
from engine.interop import require
from engine.model.subset import Subset

BATCH_ROWS = 10_000
IMAGE_KINDS = ("image", "array")


def to_hf(subsets: dict[str, Subset], categories: tuple[str, ...], images: str = "image") -> Any:
    """The subsets as a `datasets.DatasetDict`, one split per subset."""
    datasets = require("datasets", "hf")
    from datasets.table import InMemoryTable

    from engine.interop.arrow import pa, plan_table

    if images not in IMAGE_KINDS:
        raise ValueError(f"images must be one of {IMAGE_KINDS}, not {images!r}")
    splits = {}
    for name, subset in subsets.items():
        has_pixels = subset.images is not None
        encoding = "raw" if images == "array" and has_pixels else "png"
        plan = plan_table(subset, categories, encoding)
        schema = plan.schema()
        batches = [
            plan.batch(start, min(len(subset), start + BATCH_ROWS))
            for start in range(0, len(subset), BATCH_ROWS)
        ]
        table = pa.Table.from_batches(batches, schema=schema)
        features = datasets.Features.from_arrow_schema(schema)
        if encoding == "raw":
            table, features = _as_array_feature(table, features, plan, datasets, pa)
        info = datasets.DatasetInfo(features=features)
        splits[name] = datasets.Dataset(InMemoryTable(table), info=info, split=name)
    return datasets.DatasetDict(splits)


def _as_array_feature(table: Any, features: Any, plan: Any, datasets: Any, pa: Any):
    """The raw pixel column re-viewed (no copy of pixel bytes) as nested lists for ArrayND."""
    shape = plan.raw_shape
    if len(shape) not in (2, 3):
        raise ValidationError(f"images of shape {shape} have no ArrayND feature")
    kind = datasets.Array2D if len(shape) == 2 else datasets.Array3D
    feature = kind(shape=shape, dtype=plan.raw_dtype)
    column = table.column("image").combine_chunks()
    count = len(column)
    width = column.type.byte_width
    flat = np.frombuffer(column.buffers()[1], np.uint8, count * width, column.offset * width)
    values: Any = pa.array(flat.view(plan.raw_dtype))
    for axis in reversed(range(len(shape))):
        lists = count * int(np.prod(shape[:axis]))
        offsets = np.arange(0, lists * shape[axis] + 1, shape[axis], dtype=np.int32)
        values = pa.ListArray.from_arrays(pa.array(offsets), values)
    storage = feature()
    nested = pa.ExtensionArray.from_storage(storage, values.cast(storage.storage_dtype))
    index = table.schema.get_field_index("image")
    table = table.set_column(index, pa.field("image", storage), nested)
    features = datasets.Features({**features, "image": feature})
    return table, features


def from_hf(
    dataset_dict: Any, *, workers: int | None = None
) -> tuple[list[Subset], tuple[str, ...]]:
    """(subsets, class names) of a `datasets.DatasetDict` (or one `datasets.Dataset`).

    The image column is the first `Image()` (or `Array2D`/`Array3D`) feature, the label column
    the first `ClassLabel` (or an integer column named `label`); `id` and other columns become ids
    and attributes; encoded images are decoded on `workers` processes.
    """
    datasets = require("datasets", "hf")
    from engine.interop.arrow import (
        ID,
        SubsetBuilder,
        TableInfo,
        pa,
    )

    if isinstance(dataset_dict, datasets.Dataset):
        dataset_dict = {str(dataset_dict.split or "train"): dataset_dict}
    subsets, categories = [], None
    for split, part in dataset_dict.items():
        features = part.features
        image = _first(features, (datasets.Image, datasets.Array2D, datasets.Array3D))
        label = _first(features, (datasets.ClassLabel,))
        if label is None and "label" in features:
            label = "label"
        names = (
            features[label].names if isinstance(features.get(label), datasets.ClassLabel) else None
        )
        if names is not None:
            if categories is not None and tuple(names) != categories:
                raise ValidationError(f"split {split!r} has other class names than the others")
            categories = tuple(names)
        table = part.with_format("arrow")[:]
        others = tuple(n for n in table.column_names if n not in (image, label, ID))
        is_array = image is not None and not isinstance(features[image], datasets.Image)
        info = TableInfo(
            encoding=None if image is None or is_array else "png",
            raw_shape=None,
            raw_dtype=None,
            categories=None,
            has_label=label is not None,
            has_ids=ID in table.column_names,
            attributes=others,
        )
        renamed = table.rename_columns(
            ["image" if n == image else "label" if n == label else n for n in table.column_names]
        )
        builder = SubsetBuilder(str(split), info, workers=workers)
        for batch in renamed.to_batches(max_chunksize=BATCH_ROWS):
            builder.add(batch, f"split {split!r}")
        subset = builder.subset()
        if is_array:
            subset.images = _array_images(renamed.column("image"), features[image], pa)
        subsets.append(subset)
    if categories is None:
        top = max((int(s.labels.max()) for s in subsets if len(s)), default=-1)
        categories = tuple(str(i) for i in range(top + 1))
    return subsets, categories


def _first(features: Any, kinds: tuple) -> str | None:
    return next((name for name, f in features.items() if isinstance(f, kinds)), None)


def _array_images(column: Any, feature: Any, pa: Any) -> np.ndarray:
    """ArrayND cells (nested lists) as one array (N, *shape)."""
    values = column.combine_chunks()
    if isinstance(values, pa.ExtensionArray):
        values = values.storage
    for _ in feature.shape:
        values = values.flatten()
    pixels = values.to_numpy(zero_copy_only=False)
    return pixels.astype(feature.dtype, copy=False).reshape((len(column), *feature.shape))
