"""Dataset transforms under Datumaro's names: random_split, split (its classification task),
remap_labels, map_subsets, reindex, id_from_image_name, and remove_duplicates (after Datumaro's
near-duplicate removal, by pixels).
One implementation serves `dataset.transform(...)` and the `transform` command.

Each returns a new dataset; the input is never changed (the public `engine.Dataset` verbs then
take the result in place, as Datumaro's do). Class lists follow a remap in the order
documented on `remap_labels`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from engine.errors import NoImagePathWarning, NotSupportedError, warn_caller
from engine.model import NO_LABEL, Dataset, Subset, subset_order
from engine.model.lineage import Step, plain
from engine.ops.item_transforms import (
    NOT_OFFERED_TRANSFORMS,
    project_labels,
    remove_annotations,
    remove_items,
    rename,
)
from engine.ops.merge import join_subsets, relabel, unique_ids

#: how far the ratios of a split may sum from 1 (they are then scaled to sum to 1 exactly)
RATIO_TOLERANCE = 1e-3


def random_split(
    dataset: Dataset,
    splits: Sequence[tuple[str, float]] | Mapping[str, float] = (("train", 0.67), ("test", 0.33)),
    *,
    seed: int | None = None,
    stratified: bool = True,
) -> Dataset:
    """Pools every subset and deals the items into new subsets with the given ratios.

    Every item lands in exactly one subset. `stratified` (the default) splits each class (and the
    unlabeled items as one more group) on its own, so each subset holds within one item of its
    exact share of every class; the subset sizes stay within a few items of their shares too.
    Items keep their order and their ids, as in Datumaro (MNIST's row numbers too: a format
    writes them, e.g. in `<subset>-meta.gz`, so each item's origin is known); ids that clash
    across the pooled subsets become `<former subset>/<id>`.
    """
    names, ratios = _check_splits(splits)
    pool = _pool(dataset)
    rng = np.random.default_rng(seed)
    groups = (
        [np.flatnonzero(pool.labels == value) for value in np.unique(pool.labels)]
        if stratified
        else [np.arange(len(pool))]
    )
    target = np.zeros(len(pool), dtype=np.int64)
    assigned = np.zeros(len(names), dtype=np.int64)
    seen = 0
    for rows in groups:
        counts = _counts(len(rows), ratios, assigned, seen)
        seen += len(rows)
        assigned += counts
        shuffled = rng.permutation(rows)
        target[shuffled] = np.repeat(np.arange(len(names)), counts)
    parts = [_rename(pool.take(target == k), name) for k, name in enumerate(names)]
    return _like(dataset, parts, dataset.categories)


#: Datumaro's ``split`` tasks; only classification has labels this engine holds
SPLIT_TASKS = ("classification", "detection", "segmentation", "reid")


def split(
    dataset: Dataset,
    task: str = "classification",
    splits: Sequence[tuple[str, float]] | Mapping[str, float] = (("train", 0.67), ("test", 0.33)),
    *,
    seed: int | None = None,
    query: Any = None,
) -> Dataset:
    """Datumaro's ``split`` transform for its ``classification`` task: each class dealt into the
    subsets in the given ratios, so every subset keeps the class distribution (this is
    ``random_split`` stratified; ids kept). The other tasks split boxes, masks or identities,
    which an MNIST-family dataset does not hold: NotSupportedError."""
    if task not in SPLIT_TASKS:
        raise ValueError(f"split: unknown task {task!r}; Datumaro's tasks are {SPLIT_TASKS}")
    if task != "classification":
        raise NotSupportedError(
            f"split: task {task!r} splits {'identities' if task == 'reid' else 'annotations'} "
            "this engine does not hold (images with class labels); use task='classification'"
        )
    if query is not None:
        raise NotSupportedError("split: query= belongs to the reid task, which is not supported")
    return random_split(dataset, splits, seed=seed, stratified=True)


def _check_splits(
    splits: Sequence[tuple[str, float]] | Mapping[str, float],
) -> tuple[list[str], np.ndarray]:
    pairs = list(splits.items()) if isinstance(splits, Mapping) else list(splits)
    if not pairs:
        raise ValueError("random_split needs at least one subset with its ratio")
    names = [str(name) for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"random_split: subset {repeated[0]!r} is named twice")
    ratios = np.array([float(ratio) for _, ratio in pairs])
    bad = [f"{n}:{r:g}" for n, r in zip(names, ratios, strict=True) if not 0 < r <= 1]
    if bad or not np.isfinite(ratios).all():
        raise ValueError(f"random_split: ratios must be in (0, 1]; got {', '.join(bad)}")
    if not math.isclose(ratios.sum(), 1.0, abs_tol=RATIO_TOLERANCE):
        raise ValueError(f"random_split: the ratios sum to {ratios.sum():g}, not 1")
    return names, ratios / ratios.sum()


def _counts(size: int, ratios: np.ndarray, assigned: np.ndarray, seen: int) -> np.ndarray:
    """Items of one group for each subset: the floor of its share, and the group's remaining
    items one each to the subsets furthest behind their share of everything dealt so far."""
    exact = ratios * size
    counts = np.floor(exact).astype(np.int64)
    left = size - int(counts.sum())
    if left:
        # only subsets whose exact share has a fraction may round up, so each stays within one item
        behind = ratios * (seen + size) - (assigned + counts)
        behind[exact - counts <= 1e-9] = -np.inf
        counts[np.argsort(-behind, kind="stable")[:left]] += 1
    return counts


def _pool(dataset: Dataset) -> Subset:
    """Every subset's rows in one subset (ids as `random_split` documents)."""
    subsets = sorted(dataset.subsets().values(), key=lambda s: subset_order(s.name))
    if len(subsets) == 1:
        return subsets[0]  # its rows keep their ids (row numbers too) when taken
    ids = np.concatenate([s.id_column() for s in subsets] or [np.zeros(0, dtype=object)])
    if len(set(ids.tolist())) < len(ids):
        ids = np.array(
            [f"{s.name}/{item_id}" for s in subsets for item_id in s.id_column()], dtype=object
        )
    return join_subsets("pool", subsets, ids)


def _rename(subset: Subset, name: str) -> Subset:
    """The subset under another name."""
    return replace(subset, name=name)


def remap_labels(
    dataset: Dataset, mapping: Mapping[str, str | None], default: str = "keep"
) -> Dataset:
    """Renames, merges and deletes classes by name; labels follow their classes.

    `mapping` maps a class name to its new name (several classes to one name merge them; an
    empty name or None deletes the class, its items becoming unlabeled). Classes not in the
    mapping are kept (`default="keep"`) or deleted (`default="delete"`). The new class list is
    the old one in its order, each class renamed, a name kept once at its first place, deleted
    classes left out (Datumaro's order).
    """
    if default not in ("keep", "delete"):
        raise ValueError(f"remap_labels: default must be 'keep' or 'delete', not {default!r}")
    unknown = [name for name in mapping if name not in dataset.categories]
    if unknown:
        raise ValueError(
            f"remap_labels: no class {unknown[0]!r}; the classes are {list(dataset.categories)}"
        )
    new_names: list[str] = []
    codes = np.full(len(dataset.categories), NO_LABEL, dtype=np.int32)
    for index, name in enumerate(dataset.categories):
        target = mapping.get(name, name if default == "keep" else None)
        if not target:
            continue
        if target not in new_names:
            new_names.append(target)
        codes[index] = new_names.index(target)
    parts = [relabel(subset, codes) for subset in dataset.subsets().values()]
    return _like(dataset, parts, new_names)


def map_subsets(dataset: Dataset, mapping: Mapping[str, str]) -> Dataset:
    """Renames subsets (`{"val": "test"}`); subsets mapped to one name are joined, and ids that
    clash there are renumbered with a warning (as `engine.merge` does)."""
    unknown = [name for name in mapping if name not in dataset]
    if unknown:
        raise ValueError(
            f"map_subsets: no subset {unknown[0]!r}; the subsets are {list(dataset.subsets())}"
        )
    grouped: dict[str, list[tuple[str, Subset]]] = {}
    for name, subset in dataset.subsets().items():
        grouped.setdefault(str(mapping.get(name, name)), []).append((name, subset))
    parts = []
    for name, group in grouped.items():
        subsets = [subset for _, subset in group]
        if len(subsets) == 1:
            parts.append(_rename(subsets[0], name))
        else:
            parts.append(join_subsets(name, subsets, unique_ids(name, group, renumber=True)))
    parts.sort(key=lambda subset: subset_order(subset.name))
    return _like(dataset, parts, dataset.categories)


def reindex(dataset: Dataset, start: int = 0) -> Dataset:
    """Numbers the items `start`, `start + 1`, ... across the subsets in their order (Datumaro's
    `reindex`: ids are then unique in the whole dataset)."""
    parts, number = [], int(start)
    for subset in dataset.subsets().values():
        ids = np.array([str(i) for i in range(number, number + len(subset))], dtype=object)
        number += len(subset)
        parts.append(replace(subset, ids=ids))
    return _like(dataset, parts, dataset.categories)


def id_from_image_name(dataset: Dataset) -> Dataset:
    """Sets each item's id to its image's file name without extension (`3/img_17.png` ->
    `img_17`), for items read from image files; other items keep their ids, with one warning."""
    parts, missing = [], 0
    for subset in dataset.subsets().values():
        if subset.image_paths is None:
            missing += len(subset)
            parts.append(subset)
            continue
        ids = subset.id_column().copy()
        for row, path in enumerate(subset.image_paths):
            if path:
                ids[row] = PurePosixPath(str(path).replace("\\", "/")).stem
            else:
                missing += 1
        parts.append(replace(subset, ids=ids))
    if missing:
        warn_caller(
            f"id_from_image_name: {missing} items have no image file name; their ids are kept",
            NoImagePathWarning,
        )
    return _like(dataset, parts, dataset.categories)


def remove_duplicates(
    dataset: Dataset,
    keep: str = "first",
    *,
    near: bool = True,
    threshold: float | None = None,
    train_subset: str = "train",
) -> Dataset:
    """Removes duplicate images found by ``engine.find_duplicates`` (exact, and near ones unless
    ``near=False``, at ``threshold``); pairs linked through a shared item form one group.

    ``keep="first"`` keeps the first item of every group (subsets in the order train, validation,
    test, others by name; then row order) and removes the others, within and across subsets.
    ``keep="train"`` removes only the leaked copies: every item of another subset in a group with
    an item of ``train_subset``; duplicates within one subset stay. Ids are kept.
    """
    from engine.ops.duplicates import find_duplicates

    if keep not in ("first", "train"):
        raise ValueError(f"remove_duplicates: keep must be 'first' or 'train', not {keep!r}")
    if keep == "train" and train_subset not in dataset:
        raise ValueError(
            f"remove_duplicates: keep='train' needs a subset {train_subset!r}; "
            f"the subsets are {list(dataset.subsets())}"
        )
    report = find_duplicates(dataset, near=near, threshold=threshold)
    names = report.names
    offsets = np.cumsum([0, *(len(dataset[name]) for name in names)])
    columns = report.columns
    first = offsets[columns["part_a"]] + columns["row_a"]
    second = offsets[columns["part_b"]] + columns["row_b"]
    group = _groups(int(offsets[-1]), first, second)
    linked = np.zeros(int(offsets[-1]), dtype=bool)
    linked[first] = linked[second] = True
    if keep == "first":
        leader = np.full(len(group), len(group), dtype=np.int64)
        np.minimum.at(leader, group, np.arange(len(group)))
        drop = linked & (leader[group] != np.arange(len(group)))
    else:
        home = names.index(train_subset)
        in_train = np.zeros(len(group), dtype=bool)
        in_train[offsets[home] : offsets[home + 1]] = True
        has_train = np.zeros(len(group), dtype=bool)
        has_train[group[in_train & linked]] = True
        drop = linked & ~in_train & has_train[group]
    parts = [
        dataset[name][~drop[offsets[k] : offsets[k + 1]]] if drop[offsets[k] : offsets[k + 1]].any()
        else dataset[name]
        for k, name in enumerate(names)
    ]  # fmt: skip
    order = list(dataset.subsets())
    parts.sort(key=lambda part: order.index(part.name))
    return _like(dataset, parts, dataset.categories)


def _groups(count: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The group of each of ``count`` items when the pairs (first[k], second[k]) link items: the
    smallest item of its group (min-label propagation with pointer jumping)."""
    group = np.arange(count, dtype=np.int64)
    while len(first):
        low = np.minimum(group[first], group[second])
        before = group.copy()
        np.minimum.at(group, first, low)
        np.minimum.at(group, second, low)
        group = group[group]
        if np.array_equal(group, before):
            return group
    return group


def _like(dataset: Dataset, subsets: Iterable[Subset], categories: Iterable[str]) -> Dataset:
    return type(dataset)(subsets, categories, dataset.info)


#: name -> transform function (each takes the dataset, then its own keyword options)
TRANSFORMS: dict[str, Callable[..., Dataset]] = {
    "random_split": random_split,
    "split": split,
    "remap_labels": remap_labels,
    "map_subsets": map_subsets,
    "reindex": reindex,
    "id_from_image_name": id_from_image_name,
    "remove_duplicates": remove_duplicates,
    "project_labels": project_labels,
    "remove_items": remove_items,
    "remove_annotations": remove_annotations,
    "rename": rename,
}


def transform(dataset: Dataset, name: str, **options: Any) -> Dataset:
    """Applies the transform called `name` (Datumaro's names) with its options, and records it
    in the result's provenance. A `random_split` or `split` given no seed draws one, recorded,
    so the split can be made again."""
    try:
        function = TRANSFORMS[name]
    except KeyError:
        if name in NOT_OFFERED_TRANSFORMS:
            raise NotSupportedError(
                f"transform {name!r} (Datumaro's) is not supported: {NOT_OFFERED_TRANSFORMS[name]}"
            ) from None
        raise ValueError(
            f"unknown transform {name!r}; known transforms: {', '.join(sorted(TRANSFORMS))}"
        ) from None
    if function in (random_split, split) and options.get("seed") is None:
        options["seed"] = int(np.random.default_rng().integers(1 << 63))
    result = function(dataset, **options)
    recorded = {key: value for key, value in options.items() if key != "seed"}
    seed = options.get("seed")
    result.lineage = dataset.lineage.then(
        Step("transform", name, plain(recorded), int(seed) if seed is not None else None)
    )
    return result
