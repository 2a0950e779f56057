"""Datumaro's transforms on items, ids and class lists that map onto class-labelled images:
``project_labels``, ``remove_items``, ``remove_annotations``, ``rename``; and the Datumaro
transform names this engine does not offer, with what to use instead.

Each returns a new dataset (the public verbs take it in place); nothing is lost silently: ids
or items named but absent are warned about, a rename that would give two items one id is
refused."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from engine.errors import OptionNotUsedWarning, warn_caller
from engine.model import NO_LABEL, Dataset
from engine.ops.merge import relabel

_GEOMETRY = "it changes shapes (boxes, masks, polygons, points) this engine does not hold"

#: Datumaro 1.x transform names not offered here -> why, and what to use instead
NOT_OFFERED_TRANSFORMS: dict[str, str] = {
    "ndr": "use remove_duplicates (near-duplicates by pixels, no model)",
    "random_sampler": "use random_split and keep one subset, or a filter",
    "label_random_sampler": "use random_split (stratified by class) and keep one subset",
    "remove_attributes": "items here carry no attributes of their own to remove",
    "merge_images": "use engine.merge",
    "correct": "run validate, then remap_labels / remove_items for what it reports",
    "clean": "this engine holds no tabular data",
    "astype_annotations": "this engine holds class labels only",
    "pseudo_labeling": "model inference is not part of this engine",
    "resize": "use the save option resize='28x28' (--resize 28x28) or mnistify",
    "reindex_annotations": "an item has one label here: there are no annotation ids to renumber",
    **{
        name: _GEOMETRY
        for name in (
            "boxes_to_masks",
            "masks_to_polygons",
            "polygons_to_masks",
            "shapes_to_boxes",
            "anns_to_labels",
            "bboxes_values_decrement",
            "crop_covered_segments",
            "merge_instance_segments",
        )
    },
}


def project_labels(dataset: Dataset, dst_labels: Sequence[str]) -> Dataset:
    """Sets the class list to ``dst_labels`` in that order (Datumaro's ``project_labels``): a
    label keeps its class by name, a class not in the list is dropped (its items become
    unlabeled), a name not known before is added."""
    names = [str(name) for name in dst_labels]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"project_labels: {repeated} given more than once")
    codes = np.array(
        [names.index(name) if name in names else NO_LABEL for name in dataset.categories],
        dtype=np.int32,
    )
    parts = [relabel(subset, codes) for subset in dataset.subsets().values()]
    return type(dataset)(parts, names, dataset.info)


def remove_items(dataset: Dataset, ids: Iterable[Sequence[str]]) -> Dataset:
    """Drops the items named as ``(id, subset)`` pairs (Datumaro's ``remove_items``); a pair
    naming no item is warned about."""
    wanted = _pairs(ids, "remove_items")
    parts, found = [], set()
    for name, subset in dataset.subsets().items():
        names = {item_id for item_id, part in wanted if part == name}
        if not names:
            parts.append(subset)
            continue
        hit = np.isin(subset.id_column().astype(str), sorted(names))
        found |= {(str(i), name) for i in subset.id_column()[hit]}
        parts.append(subset.take(~hit))
    _warn_absent("remove_items", wanted - found)
    return type(dataset)(parts, dataset.categories, dataset.info)


def remove_annotations(dataset: Dataset, ids: Iterable[Sequence[str]] | None = None) -> Dataset:
    """Removes the labels of the items named as ``(id, subset)`` pairs, or of every item when
    ``ids`` is None (Datumaro's ``remove_annotations``); the items stay, unlabeled."""
    wanted = None if ids is None else _pairs(ids, "remove_annotations")
    parts, found = [], set()
    for name, subset in dataset.subsets().items():
        if wanted is None:
            hit = np.ones(len(subset), dtype=bool)
        else:
            names = sorted(item_id for item_id, part in wanted if part == name)
            hit = np.isin(subset.id_column().astype(str), names)
            found |= {(str(i), name) for i in subset.id_column()[hit]}
        labels = np.asarray(subset.labels).copy()
        labels[hit] = NO_LABEL
        multi = {row: values for row, values in subset.multi_labels.items() if not hit[row]}
        parts.append(replace(subset, labels=labels, multi_labels=multi))
    if wanted is not None:
        _warn_absent("remove_annotations", wanted - found)
    return type(dataset)(parts, dataset.categories, dataset.info)


def rename(dataset: Dataset, regex: str) -> Dataset:
    """Renames item ids by a regular expression written ``|pattern|replacement|``, as Datumaro's
    ``rename`` (the first character delimits the parts, as in Python's ``re.sub``).

    Two items of a subset given one id would lose one of them: refused, naming them."""
    pattern, replacement = _substitution(regex)
    parts = []
    for subset in dataset.subsets().values():
        old = subset.id_column()
        new = np.array([pattern.sub(replacement, str(i)) for i in old], dtype=object)
        values, counts = np.unique(new.astype(str), return_counts=True)
        if (counts > 1).any():
            clash = str(values[counts > 1][0])
            sources = [str(i) for i in old[new.astype(str) == clash]][:5]
            raise ValueError(
                f"rename: ids {sources} of subset {subset.name!r} would all become {clash!r}"
            )
        parts.append(replace(subset, ids=new))
    return type(dataset)(parts, dataset.categories, dataset.info)


def _substitution(regex: str) -> tuple[re.Pattern[str], str]:
    if len(regex) < 3 or regex[-1] != regex[0] or regex.count(regex[0]) != 3:
        raise ValueError(
            f"rename: {regex!r} is not |pattern|replacement| (the first character, here "
            f"{regex[:1]!r}, delimits both parts and ends the expression)"
        )
    _, pattern, replacement, _ = regex.split(regex[0])
    try:
        return re.compile(pattern), replacement
    except re.error as error:
        raise ValueError(f"rename: pattern {pattern!r}: {error}") from None


def _pairs(ids: Iterable[Sequence[str]], transform: str) -> set[tuple[str, str]]:
    pairs = set()
    for pair in ids:
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"{transform}: ids are (id, subset) pairs, found {pair!r}")
        pairs.add((str(pair[0]), str(pair[1])))
    return pairs


def _warn_absent(transform: str, absent: set[tuple[str, str]]) -> None:
    if absent:
        shown = ", ".join(f"{i}:{s}" for i, s in sorted(absent)[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        warn_caller(
            f"{transform}: no item {shown}{more} in the dataset; nothing done for them",
            OptionNotUsedWarning,
        )


__all__ = [
    "NOT_OFFERED_TRANSFORMS",
    "project_labels",
    "remove_annotations",
    "remove_items",
    "rename",
]
