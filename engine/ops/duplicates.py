"""Duplicates and train/test leakage: identical images (hashed pixels) and near-duplicates (a
pixel descriptor, confirmed on the full pixels; see ``engine.ops.near_pairs``), within each subset
and across subsets, with the labels of both items.

An exact group of k identical images is reported as k - 1 pairs, from its first item (subsets in
the order train, validation, test, others by name; then row order) to each other one; the near
search then runs on one image per group, so a pair of distinct images is reported once.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from engine.compute import executors
from engine.errors import OptionNotUsedWarning
from engine.model import NO_LABEL, Dataset, Subset, subset_order
from engine.ops import near_pairs
from engine.ops.near_pairs import DEFAULT_THRESHOLD, TOLERANCE, Images

EXACT = "exact"
NEAR = "near"
#: block products sent to an executor at once, per worker (bounds what is in flight)
_WINDOW_PER_WORKER = 4


@dataclass(frozen=True)
class DuplicatePair:
    """Two items with the same or nearly the same image; ``a`` comes first in the dataset."""

    subset_a: str
    id_a: str
    label_a: int | None
    subset_b: str
    id_b: str
    label_b: int | None
    distance: float
    kind: str
    row_a: int = field(repr=False)
    row_b: int = field(repr=False)

    @property
    def label_disagrees(self) -> bool:
        """Both items are labelled, with different classes (a label error or an ambiguous
        digit)."""
        return (
            self.label_a is not None and self.label_b is not None and self.label_a != self.label_b
        )

    @property
    def leaked(self) -> bool:
        """The two items are in different subsets (e.g. a test image also in train)."""
        return self.subset_a != self.subset_b

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "distance": round(float(self.distance), 4),
            "a": {"subset": self.subset_a, "id": self.id_a, "label": self.label_a},
            "b": {"subset": self.subset_b, "id": self.id_b, "label": self.label_b},
            "label_disagrees": self.label_disagrees,
        }


@dataclass
class DuplicateReport:
    """What ``find_duplicates`` found: the pairs (closest first), counts per subset pair, and
    how they were searched (threshold, tolerance, method)."""

    subsets: list[str]
    items: int
    #: items with an image (the others match nothing)
    with_images: int
    near: bool
    threshold: float
    tolerance: int
    method: str
    #: columns of the pairs: subset index and row of each side, distance, exact or not
    columns: dict[str, np.ndarray] = field(repr=False)
    names: list[str] = field(repr=False)
    ids: list[np.ndarray] = field(repr=False)
    labels: list[np.ndarray] = field(repr=False)

    def __len__(self) -> int:
        return len(self.columns["distance"])

    @cached_property
    def pairs(self) -> list[DuplicatePair]:
        """Every pair, exact ones first, then by distance."""
        c = self.columns
        return [
            self._pair(int(c["part_a"][k]), int(c["row_a"][k]), int(c["part_b"][k]),
                       int(c["row_b"][k]), float(c["distance"][k]), bool(c["exact"][k]))
            for k in range(len(self))
        ]  # fmt: skip

    def _pair(
        self, part_a: int, row_a: int, part_b: int, row_b: int, distance: float, exact: bool
    ) -> DuplicatePair:
        return DuplicatePair(
            self.names[part_a],
            str(self.ids[part_a][row_a]),
            _label(self.labels[part_a][row_a]),
            self.names[part_b],
            str(self.ids[part_b][row_b]),
            _label(self.labels[part_b][row_b]),
            distance,
            EXACT if exact else NEAR,
            row_a,
            row_b,
        )

    @property
    def leaked(self) -> list[DuplicatePair]:
        """Pairs across two subsets (train/test leakage)."""
        return [p for p in self.pairs if p.leaked]

    @property
    def label_disagreements(self) -> list[DuplicatePair]:
        """Pairs whose two labels differ."""
        return [p for p in self.pairs if p.label_disagrees]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per subset pair (``"train/test"``, ``"train"`` within train): exact, near and
        label-disagreeing pairs. Every pair of the searched subsets is listed, zeros too."""
        c = self.columns
        out: dict[str, dict[str, int]] = {}
        for i, first in enumerate(self.names):
            for j in range(i, len(self.names)):
                out[_pair_name(first, self.names[j])] = {"exact": 0, "near": 0, "disagree": 0}
        if len(self):
            disagree = self._disagree_mask()
            low = np.minimum(c["part_a"], c["part_b"])
            high = np.maximum(c["part_a"], c["part_b"])
            for i, j in {(int(a), int(b)) for a, b in zip(low, high, strict=True)}:
                rows = (low == i) & (high == j)
                entry = out[_pair_name(self.names[i], self.names[j])]
                entry["exact"] = int((rows & c["exact"]).sum())
                entry["near"] = int((rows & ~c["exact"]).sum())
                entry["disagree"] = int((rows & disagree).sum())
        return out

    def _disagree_mask(self) -> np.ndarray:
        c = self.columns
        first = np.empty(len(self), dtype=np.int64)
        second = np.empty(len(self), dtype=np.int64)
        for k in range(len(self.names)):
            mine = c["part_a"] == k
            first[mine] = self.labels[k][c["row_a"][mine]]
            mine = c["part_b"] == k
            second[mine] = self.labels[k][c["row_b"][mine]]
        return (first != NO_LABEL) & (second != NO_LABEL) & (first != second)

    def totals(self) -> dict[str, int]:
        """Exact, near, leaked (across subsets) and label-disagreeing pairs in all."""
        c = self.columns
        return {
            "exact": int(c["exact"].sum()),
            "near": int((~c["exact"]).sum()),
            "leaked": int((c["part_a"] != c["part_b"]).sum()),
            "disagree": int(self._disagree_mask().sum()) if len(self) else 0,
        }

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """Plain data for JSON: settings, totals, counts and the pairs (the first ``limit``)."""
        pairs = self.pairs if limit is None else self.pairs[:limit]
        return {
            "subsets": self.subsets,
            "items": self.items,
            "with_images": self.with_images,
            "near": self.near,
            "threshold": self.threshold,
            "tolerance": self.tolerance,
            "method": self.method,
            "totals": self.totals(),
            "counts": self.counts(),
            "pairs": [p.to_dict() for p in pairs],
        }


def _pair_name(first: str, second: str) -> str:
    return first if first == second else f"{first}/{second}"


def _label(value: Any) -> int | None:
    return None if int(value) == NO_LABEL else int(value)


def find_duplicates(
    dataset: Dataset,
    *,
    near: bool = True,
    threshold: float | None = None,
    subsets: Sequence[str] | None = None,
    executor: Any = None,
) -> DuplicateReport:
    """Exact and near-duplicate images within and across subsets, with their labels.

    ``threshold`` (default ``DEFAULT_THRESHOLD``, 0.10) is the largest share of ink pixels that
    may differ by more than ``TOLERANCE`` grey levels once the two images are aligned (docs:
    duplicates). ``near=False`` looks for identical images only. ``executor`` (a Dask client or
    address, or an engine executor; else the one in effect, e.g. the CLI's ``--scheduler``) runs
    the block products of the near search; without one they run here, on numpy's threads. Images
    of another size are resized to 28x28 for the near search, colour images made grey; items
    without an image are left out.
    """
    limit = _check_threshold(threshold, near)
    names = _chosen_subsets(dataset, subsets)
    parts = [dataset[name] for name in names]
    if executor is not None and not near:
        warnings.warn(
            "find_duplicates: the executor is not used: without the near search, identical "
            "images are found by hashing in this process",
            OptionNotUsedWarning,
            stacklevel=2,
        )
    part_of, row_of, valid = _item_index(parts)
    digests = _digests(parts)
    first_of = _first_occurrences(digests, valid)
    member = valid & (first_of != np.arange(len(first_of)))
    exact_b = np.flatnonzero(member)
    exact_a = first_of[exact_b]
    near_a = near_b = np.zeros(0, dtype=np.int64)
    near_d = np.zeros(0, dtype=np.float32)
    method = "exact only (hashed pixels)"
    if near:
        representatives = np.flatnonzero(valid & ~member)
        pixels = canonical_images(parts, part_of[representatives], row_of[representatives])
        found_a, found_b, near_d, method = _near_search(pixels, limit, executor)
        near_a, near_b = representatives[found_a], representatives[found_b]
    first = np.concatenate([exact_a, near_a])
    second = np.concatenate([exact_b, near_b])
    distance = np.concatenate([np.zeros(len(exact_a), dtype=np.float32), near_d])
    exact = np.concatenate([np.ones(len(exact_a), bool), np.zeros(len(near_a), bool)])
    order = np.lexsort((second, first, distance, ~exact))
    columns = {
        "part_a": part_of[first][order],
        "row_a": row_of[first][order],
        "part_b": part_of[second][order],
        "row_b": row_of[second][order],
        "distance": distance[order],
        "exact": exact[order],
    }
    return DuplicateReport(
        subsets=names,
        items=int(valid.size),
        with_images=int(valid.sum()),
        near=near,
        threshold=limit,
        tolerance=TOLERANCE,
        method=method,
        columns=columns,
        names=names,
        ids=[part.id_column() for part in parts],
        labels=[np.asarray(part.labels) for part in parts],
    )


def _check_threshold(threshold: float | None, near: bool) -> float:
    if threshold is None:
        return DEFAULT_THRESHOLD
    if not near:
        warnings.warn(
            "find_duplicates: the threshold is not used: near=False finds identical images only",
            OptionNotUsedWarning,
            stacklevel=3,
        )
    value = float(threshold)
    if not 0 <= value <= 1:
        raise ValueError(f"threshold must be between 0 and 1 (a share of pixels), not {threshold}")
    return value


def _chosen_subsets(dataset: Dataset, subsets: Sequence[str] | None) -> list[str]:
    if subsets is None:
        return sorted(dataset.subsets(), key=subset_order)
    unknown = [name for name in subsets if name not in dataset]
    if unknown:
        raise ValueError(f"no subset {unknown[0]!r}; the subsets are {list(dataset.subsets())}")
    return sorted(dict.fromkeys(subsets), key=subset_order)


def _item_index(parts: Sequence[Subset]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item of all parts in order: its part, its row, and whether it has an image."""
    part_of = np.concatenate(
        [np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)] or [np.zeros(0, int)]
    )
    row_of = np.concatenate([np.arange(len(p)) for p in parts] or [np.zeros(0, int)])
    valid = np.concatenate([_has_image(p) for p in parts] or [np.zeros(0, bool)])
    return part_of.astype(np.int64), row_of.astype(np.int64), valid


def _has_image(part: Subset) -> np.ndarray:
    if part.images is None:
        return np.zeros(len(part), dtype=bool)
    if isinstance(part.images, np.ndarray):
        return np.ones(len(part), dtype=bool)
    return np.array([image is not None for image in part.images], dtype=bool)


def _digests(parts: Sequence[Subset]) -> np.ndarray:
    """A 16-byte BLAKE2b digest of each item's pixels, shape and type (zeros without image)."""
    out: list[bytes] = []
    for part in parts:
        out.extend(_digest(image) for image in _images_of(part))
    return np.array(out, dtype="S16") if out else np.zeros(0, dtype="S16")


def _images_of(part: Subset) -> Iterator[np.ndarray | None]:
    if part.images is None:
        yield from (None for _ in range(len(part)))
    else:
        yield from part.images


def _digest(image: np.ndarray | None) -> bytes:
    if image is None:
        return bytes(16)
    array = np.ascontiguousarray(image)
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(array.data)
    return hasher.digest()


def _first_occurrences(digests: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """For each item, the position of the first item with the same digest."""
    if not len(digests):
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(digests, return_index=True, return_inverse=True)
    result = first[inverse.reshape(-1)].astype(np.int64)
    result[~valid] = np.flatnonzero(~valid)  # items without image match nothing
    return result


def canonical_images(
    parts: Sequence[Subset], part_of: np.ndarray, row_of: np.ndarray
) -> np.ndarray:
    """The chosen items' images as uint8 grey 28x28 (n, 28, 28): uint8 28x28 images as they are,
    others made grey (Pillow's luma), scaled to 0..255 and resized with Pillow's bilinear filter."""
    out = np.empty((len(part_of), near_pairs.SIDE, near_pairs.SIDE), dtype=np.uint8)
    for k, part in enumerate(parts):
        mine = np.flatnonzero(part_of == k)
        if not len(mine):
            continue
        rows = row_of[mine]
        images = part.images
        side = (near_pairs.SIDE, near_pairs.SIDE)
        if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape[1:] == side:
            if len(rows) == len(images) and np.array_equal(rows, np.arange(len(images))):
                out[mine] = images  # one copy of the whole array, never one per image
            else:
                out[mine] = images[rows]
            continue
        assert images is not None  # only items with an image are chosen
        for position, row in zip(mine, rows, strict=True):
            image = images[int(row)]
            assert image is not None
            try:
                out[position] = _as_grey_28(image)
            except (TypeError, ValueError):
                shown = np.asarray(image)
                raise ValueError(
                    f"subset {part.name!r}, item {part.id_at(int(row))!r}: an image of shape "
                    f"{shown.shape} and type {shown.dtype} is no picture (H x W, or H x W x 1, 3 "
                    "or 4 channels of numbers)"
                ) from None
    return out


def _as_grey_28(image: np.ndarray) -> np.ndarray:
    from PIL import Image as PilImage

    from engine.ops.preview import as_display

    display = as_display(np.asarray(image))
    picture = PilImage.fromarray(display)
    if picture.mode != "L":
        picture = picture.convert("L")
    side = near_pairs.SIDE
    if picture.size != (side, side):
        picture = picture.resize((side, side), PilImage.Resampling.BILINEAR)
    return np.asarray(picture, dtype=np.uint8)


def _near_search(
    pixels: np.ndarray, threshold: float, executor: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Confirmed near pairs among ``pixels`` (positions, positions, distances) and the method."""
    empty = np.zeros(0, dtype=np.int64)
    if len(pixels) < 2:
        return empty, empty, np.zeros(0, np.float32), "all pairs"
    images = Images.prepare(pixels)
    if len(pixels) <= near_pairs.ALL_PAIRS_LIMIT:
        blocks: Iterable[tuple[Any, Any, bool, Any]] = (
            (*block, None) for block in near_pairs.all_pairs_blocks(len(pixels))
        )
        method = "all pairs (blocked)"
    else:
        bits, tables = near_pairs.lsh_plan(len(pixels), near_pairs.lsh_bits(images.vectors))
        blocks = near_pairs.lsh_blocks(images.vectors, bits, tables)
        method = f"LSH ({tables} tables of {bits} bits)"
    chunks = (
        (
            images.part(left, buckets),
            images.part(right, buckets),
            same,
            near_pairs.candidate_cosine(threshold),
            threshold,
            TOLERANCE,
        )
        for left, right, same, buckets in blocks
    )
    results = _run_blocks(chunks, executor)
    first = np.concatenate([r[0] for r in results] or [empty]).astype(np.int64)
    second = np.concatenate([r[1] for r in results] or [empty]).astype(np.int64)
    distance = np.concatenate([r[2] for r in results] or [np.zeros(0, np.float32)])
    low, high = np.minimum(first, second), np.maximum(first, second)
    key = low * len(pixels) + high
    _, unique = np.unique(key, return_index=True)  # each pair once, in order
    return low[unique], high[unique], distance[unique], method


def _run_blocks(chunks: Iterator[tuple[Any, ...]], executor: Any) -> list[Any]:
    """``block_pairs`` over every chunk: here, or on the executor a window of chunks at a time."""
    if executor is None and executors.current() is None:
        return [near_pairs.block_pairs(*chunk) for chunk in chunks]
    results: list[Any] = []
    with executors.using(executor) as runner:
        assert runner is not None
        window = max(1, runner.workers * _WINDOW_PER_WORKER)
        while True:
            batch = [chunk for _, chunk in zip(range(window), chunks, strict=False)]
            if not batch:
                return results
            results += runner.map(near_pairs.block_pairs, batch)
