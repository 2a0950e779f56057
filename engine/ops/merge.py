"""Merges datasets from several named sources: same-named subsets are joined row after row.

`merge_datasets` (projects): class lists must agree (an empty one adopts the other); conflicting
lists or repeated item ids are errors naming both sources, so nothing is silently relabelled or
lost. `merge_union` (`engine.merge`, the `merge` command): the class lists are united by name
(the first dataset's order, then each new name as met) and labels follow their names; ids that
clash are renumbered with a warning saying which, or refused with `renumber=False`.
`merge_intersect`: only the items (by subset and id) every source holds, labels kept where all
sources agree. The three are Datumaro's merge policies `exact`, `union` and `intersect`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from engine.errors import (
    IdsRenumberedWarning,
    LabelsDisagreeWarning,
    ValidationError,
    warn_caller,
)
from engine.model import NO_LABEL, Dataset, Subset, stack_images, subset_order
from engine.model.filearray import concat_rows
from engine.model.lineage import Lineage, Step


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
    result = kind(merged, categories, _merged_info(dataset for _, dataset in sources))
    return _recorded(result, sources, {"policy": "by subset name"})


def _merged_info(datasets: Iterable[Dataset]) -> dict[str, Any]:
    """The facts every dataset agrees on (a fact one of them lacks or contradicts is dropped)."""
    infos = [dataset.info for dataset in datasets]
    if not infos:
        return {}
    return {k: v for k, v in infos[0].items() if all(k in i and i[k] == v for i in infos[1:])}


def _short(names: Sequence[str]) -> str:
    shown = ", ".join(names[:6])
    return f"[{shown}{', ...' if len(names) > 6 else ''}] ({len(names)} classes)"


def _join(name: str, parts: list[tuple[str, Subset]]) -> Subset:
    if len(parts) == 1:
        return parts[0][1]
    subsets = [subset for _, subset in parts]
    joined = join_subsets(name, subsets)
    if joined.ids is not None:
        offsets = np.cumsum([0, *(len(s) for s in subsets)])
        _check_unique_ids(name, joined.ids, parts, offsets)
    return joined


def join_subsets(name: str, subsets: Sequence[Subset], ids: np.ndarray | None = None) -> Subset:
    """One subset named `name` holding the rows of `subsets` one after the other.

    Ids are kept as they are (none when every part uses row numbers, which then simply continue);
    `ids` replaces them. Uniqueness is the caller's business.
    """
    labels = np.concatenate(
        [np.asarray(s.labels, dtype=np.int32) for s in subsets] or [np.zeros(0, np.int32)]
    )
    offsets = np.cumsum([0, *(len(s) for s in subsets)])
    if ids is None and not all(s.default_ids for s in subsets):
        ids = np.concatenate([s.id_column() for s in subsets])
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
        images=_join_images(list(subsets)),
        ids=ids,
        attributes=attributes,
        multi_labels=multi,
        image_paths=_join_paths(subsets),
    )


def _join_paths(subsets: Sequence[Subset]) -> np.ndarray | None:
    """The parts' image paths (None for items of parts without), or None when no part has any."""
    if all(s.image_paths is None for s in subsets):
        return None
    return np.concatenate(
        [
            np.full(len(s), None, dtype=object) if s.image_paths is None else s.image_paths
            for s in subsets
        ]
    )


def _join_images(subsets: list[Subset]) -> np.ndarray | list[np.ndarray | None] | None:
    if all(s.images is None for s in subsets):
        return None
    arrays = [s.images for s in subsets if isinstance(s.images, np.ndarray)]
    if len(arrays) == len(subsets) and len({(a.shape[1:], a.dtype) for a in arrays}) == 1:
        return concat_rows(arrays)  # a spill file when large, not a heap copy
    images: list[np.ndarray | None] = []
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


def merge_intersect(sources: Sequence[tuple[str, Dataset]]) -> Dataset:
    """The items (by subset and id) every source holds, in the first source's order, with its
    images: classes united by name, an item's labels kept where every source gives the same ones,
    else the item is left unlabeled with a warning naming it."""
    categories, relabelled = _united(sources)
    names = [set(parts) for parts in relabelled]
    common = set.intersection(*names) if names else set()
    merged, disagreeing = [], []
    for subset_name in [name for name in relabelled[0] if name in common] if relabelled else []:
        parts = [parts[subset_name] for parts in relabelled]
        positions = [_positions(part) for part in parts]
        rows = [
            row
            for row, item_id in enumerate(parts[0].id_column())
            if all(str(item_id) in where for where in positions[1:])
        ]
        first = parts[0].take(np.asarray(rows, dtype=np.int64))
        labels = first.labels.copy()
        multi = dict(first.multi_labels)
        for new_row, row in enumerate(rows):
            item_id = str(parts[0].id_at(row))
            mine = parts[0].labels_at(row)
            others = zip(parts[1:], positions[1:], strict=True)
            if any(part.labels_at(where[item_id]) != mine for part, where in others):
                labels[new_row] = NO_LABEL
                multi.pop(new_row, None)
                disagreeing.append(f"{subset_name}:{item_id}")
        merged.append(replace(first, labels=labels, multi_labels=multi))
    if disagreeing:
        shown = ", ".join(disagreeing[:10]) + (" ..." if len(disagreeing) > 10 else "")
        warn_caller(
            f"intersect merge: the sources label {len(disagreeing)} items differently; they are "
            f"kept unlabeled: {shown}",
            LabelsDisagreeWarning,
        )
    merged.sort(key=lambda subset: subset_order(subset.name))
    kind = type(sources[0][1]) if sources else Dataset
    return kind(merged, categories, _merged_info(dataset for _, dataset in sources))


def _united(sources: Sequence[tuple[str, Dataset]]) -> tuple[list[str], list[dict[str, Subset]]]:
    """The class names united by name, and each source's subsets relabelled onto them."""
    categories: list[str] = []
    for _, dataset in sources:
        categories += [name for name in dataset.categories if name not in categories]
    index = {name: i for i, name in enumerate(categories)}
    relabelled = []
    for _, dataset in sources:
        mapping = np.array([index[name] for name in dataset.categories], dtype=np.int32)
        relabelled.append(
            {name: relabel(subset, mapping) for name, subset in dataset.subsets().items()}
        )
    return categories, relabelled


def _positions(subset: Subset) -> dict[str, int]:
    """Row of each id in `subset` (the first row, should an id repeat)."""
    where: dict[str, int] = {}
    for row, item_id in enumerate(subset.id_column()):
        where.setdefault(str(item_id), row)
    return where


def merge_union(sources: Sequence[tuple[str, Dataset]], *, renumber: bool = True) -> Dataset:
    """One dataset holding every source's items: classes united by name, subsets by name.

    An item whose id (within its subset) an earlier source already holds gets a new one: the next
    free number for numeric ids, else `<id>_<n>`; a warning names the source and the ids. With
    `renumber=False` such a clash is a ValidationError naming the ids.
    """
    categories, relabelled = _united(sources)
    grouped: dict[str, list[tuple[str, Subset]]] = {}
    for (source, _), own in zip(sources, relabelled, strict=True):
        for subset_name, subset in own.items():
            grouped.setdefault(subset_name, []).append((source, subset))
    merged = []
    for subset_name, parts in grouped.items():
        subsets = [subset for _, subset in parts]
        ids = None  # one part with row numbers keeps them; row numbers of two parts clash
        if len(parts) > 1 or not subsets[0].default_ids:
            ids = unique_ids(subset_name, parts, renumber)
        merged.append(join_subsets(subset_name, subsets, ids))
    merged.sort(key=lambda subset: subset_order(subset.name))
    kind = type(sources[0][1]) if sources else Dataset
    return kind(merged, categories, _merged_info(dataset for _, dataset in sources))


def relabel(subset: Subset, mapping: np.ndarray) -> Subset:
    """The subset with label k replaced by mapping[k] (NO_LABEL when mapping[k] is NO_LABEL);
    several labels of one item that become one are kept once."""
    labels = np.asarray(subset.labels, dtype=np.int32)
    known = labels >= 0
    if known.any() and int(labels[known].max()) >= len(mapping):
        bad = subset.id_column()[known & (labels >= len(mapping))]
        raise ValidationError(
            f"subset {subset.name!r}: labels beyond the {len(mapping)} class names", bad.tolist()
        )
    padded = np.append(np.asarray(mapping, dtype=np.int32), np.int32(NO_LABEL))
    new = padded[np.where(known, labels, len(mapping))].astype(np.int32)
    multi: dict[int, tuple[int, ...]] = {}
    for row, values in subset.multi_labels.items():
        kept = tuple(dict.fromkeys(int(mapping[v]) for v in values if mapping[v] != NO_LABEL))
        new[row] = kept[0] if kept else NO_LABEL
        if len(kept) > 1:
            multi[row] = kept
    return replace(subset, labels=new, multi_labels=multi)


def unique_ids(name: str, parts: list[tuple[str, Subset]], renumber: bool) -> np.ndarray:
    """The ids of the joined parts, later clashes renumbered (or refused)."""
    taken: set[str] = set()
    numbers = [int(i) for _, s in parts for i in s.id_column() if str(i).isdigit()]
    next_number = max(numbers, default=-1) + 1
    result = []
    for source, subset in parts:
        clashes: list[tuple[str, str]] = []
        for value in subset.id_column():
            item_id = str(value)
            if item_id in taken:
                if item_id.isdigit():
                    new_id = str(next_number)
                    next_number += 1
                else:
                    count = 1
                    while f"{item_id}_{count}" in taken:
                        count += 1
                    new_id = f"{item_id}_{count}"
                clashes.append((item_id, new_id))
                item_id = new_id
            taken.add(item_id)
            result.append(item_id)
        if clashes and not renumber:
            raise ValidationError(
                f"subset {name!r}: items of source {source!r} have ids an earlier source holds",
                [old for old, _ in clashes],
                hint="merge without --no-renumber (renumber=True) to give them new ids",
            )
        if clashes:
            shown = ", ".join(f"{old}->{new}" for old, new in clashes[:5])
            more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
            warn_caller(
                f"subset {name!r}: {len(clashes)} items of source {source!r} had ids already "
                f"taken; renumbered {shown}{more}",
                IdsRenumberedWarning,
            )
    return np.array(result, dtype=object)


#: Datumaro's merge policies
MERGE_POLICIES = ("union", "exact", "intersect")


def merge_by_policy(
    sources: Sequence[tuple[str, Dataset]], policy: str, *, renumber: bool = True
) -> Dataset:
    """Merges `sources` by one of Datumaro's policies (see the module docstring); the result's
    provenance holds each source's."""
    if policy == "union":
        merged = merge_union(sources, renumber=renumber)
    elif policy == "exact":
        _refuse_shared_ids(sources)
        merged = merge_datasets(sources)
    elif policy == "intersect":
        merged = merge_intersect(sources)
    else:
        raise ValueError(f"merge policy {policy!r} is not one of {', '.join(MERGE_POLICIES)}")
    return _recorded(merged, sources, {"policy": policy, "renumber": renumber})


def _recorded(
    merged: Dataset, sources: Sequence[tuple[str, Dataset]], options: dict[str, Any]
) -> Dataset:
    """`merged` with a merge step holding the lineage of each source."""
    step = Step("merge", "merge", {**options, "names": [name for name, _ in sources]})
    merged.lineage = Lineage.merged(tuple(d.lineage for _, d in sources), step)
    return merged


def _refuse_shared_ids(sources: Sequence[tuple[str, Dataset]]) -> None:
    """Datumaro's exact policy: no id (row numbers included) in two sources' same subset."""
    seen: dict[str, set[str]] = {}
    for _, dataset in sources:
        for name, subset in dataset.subsets().items():
            ids = {str(i) for i in subset.id_column()}
            shared = sorted(ids & seen.setdefault(name, set()))
            if shared:
                raise ValidationError(
                    f"exact merge: subset {name!r} of two sources holds the same ids",
                    [f"{name}:{i}" for i in shared],  # all: the message counts the rest
                    hint="merge with the union policy to renumber them",
                )
            seen[name] |= ids
