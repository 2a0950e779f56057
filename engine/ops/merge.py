"""Merges datasets from several named sources: same-named subsets are joined row after row.

Class lists must agree (an empty one adopts the other); conflicting lists or repeated item ids
are errors naming both sources, so nothing is silently relabelled or lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.errors import ValidationError
from engine.model import Dataset, Subset, stack_images, subset_order
from engine.model.filearray import concat_rows


def merge_datasets(sources: Sequence[tuple[str, Dataset]]) -> Dataset:
    """One dataset holding every source's items, subsets merged by name."""
    categories: tuple[str, ...] = ()
    owner = ""
    for name, dataset in sources:
        if not dataset.categories:
            continue
        if not categories:
            categories, owner = dataset.categories, name
        elif dataset.categories != categories:
            raise ValidationError(
                f"sources {owner!r} and {name!r} have conflicting categories: "
                f"{owner!r} has {_short(categories)}, {name!r} has {_short(dataset.categories)}"
            )
    grouped: dict[str, list[tuple[str, Subset]]] = {}
    for name, dataset in sources:
        for subset_name, subset in dataset.subsets().items():
            grouped.setdefault(subset_name, []).append((name, subset))
    merged = [_join(subset_name, parts) for subset_name, parts in grouped.items()]
    merged.sort(key=lambda subset: subset_order(subset.name))
    kind = type(sources[0][1]) if sources else Dataset
    return kind(merged, categories)


def _short(names: Sequence[str]) -> str:
    shown = ", ".join(names[:6])
    return f"[{shown}{', ...' if len(names) > 6 else ''}] ({len(names)} classes)"


def _join(name: str, parts: list[tuple[str, Subset]]) -> Subset:
    if len(parts) == 1:
        return parts[0][1]
    subsets = [subset for _, subset in parts]
    labels = np.concatenate([np.asarray(s.labels, dtype=np.int32) for s in subsets])
    offsets = np.cumsum([0, *(len(s) for s in subsets)])
    ids = None
    if not all(s.default_ids for s in subsets):
        ids = np.concatenate([s.id_column() for s in subsets])
        _check_unique_ids(name, ids, parts, offsets)
    multi = {
        int(offset) + row: labels_of
        for offset, s in zip(offsets, subsets, strict=False)
        for row, labels_of in s.multi_labels.items()
    }
    columns = sorted({column for s in subsets for column in s.attributes})
    attributes = {
        column: np.concatenate(
            [
                np.asarray(s.attributes[column], dtype=object)
                if column in s.attributes
                else np.full(len(s), None, dtype=object)
                for s in subsets
            ]
        )
        for column in columns
    }
    return Subset(
        name=name,
        labels=labels,
        images=_join_images(subsets),
        ids=ids,
        attributes=attributes,
        multi_labels=multi,
    )


def _join_images(subsets: list[Subset]):
    if all(s.images is None for s in subsets):
        return None
    arrays = [s.images for s in subsets]
    if (
        all(isinstance(a, np.ndarray) for a in arrays)
        and len({(a.shape[1:], a.dtype) for a in arrays}) == 1
    ):
        return concat_rows(arrays)  # a spill file when large, not a heap copy
    images = []
    for s in subsets:
        images.extend([None] * len(s) if s.images is None else list(s.images))
    return stack_images(images)


def _check_unique_ids(name, ids: np.ndarray, parts, offsets) -> None:
    values, counts = np.unique(ids.astype(str), return_counts=True)
    if (counts == 1).all():
        return
    repeated = values[counts > 1]
    source_of = np.searchsorted(
        offsets, np.flatnonzero(np.isin(ids.astype(str), repeated)), "right"
    )
    names = sorted({parts[i - 1][0] for i in source_of})
    raise ValidationError(
        f"subset {name!r}: sources {' and '.join(repr(n) for n in names)} hold items with the "
        "same ids",
        repeated.tolist(),
        hint="give the sources distinct ids, or export them separately",
    )
