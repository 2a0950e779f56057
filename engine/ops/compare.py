"""Compares two datasets item by item, matched by (subset, id): items only in one, label
differences (by class name, so two class orders compare fairly) and pixel differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.model import Dataset, Subset

#: rows compared in one vectorised step (bounds the temporary boolean arrays)
_CHUNK = 4096


@dataclass
class Comparison:
    """What differs between dataset `a` and dataset `b`; empty lists mean they agree."""

    only_in_a: list[tuple[str, str]] = field(default_factory=list)
    only_in_b: list[tuple[str, str]] = field(default_factory=list)
    label_differences: list[tuple[str, str, list[str], list[str]]] = field(default_factory=list)
    image_differences: list[tuple[str, str, str]] = field(default_factory=list)
    classes_a: tuple[str, ...] = ()
    classes_b: tuple[str, ...] = ()
    matched: int = 0

    @property
    def classes_differ(self) -> bool:
        return self.classes_a != self.classes_b

    @property
    def equal(self) -> bool:
        return not (
            self.only_in_a
            or self.only_in_b
            or self.label_differences
            or self.image_differences
            or self.classes_differ
        )

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """The comparison as plain data (for `--json`); with `limit`, each list holds its first
        `limit` entries and `counts` gives every list's full length."""
        shown = slice(limit)
        return {
            "equal": self.equal,
            "matched": self.matched,
            "classes": {
                "a": list(self.classes_a),
                "b": list(self.classes_b),
                "differ": self.classes_differ,
            },
            "counts": {
                "only_in_a": len(self.only_in_a),
                "only_in_b": len(self.only_in_b),
                "label_differences": len(self.label_differences),
                "image_differences": len(self.image_differences),
            },
            "only_in_a": [{"subset": s, "id": i} for s, i in self.only_in_a[shown]],
            "only_in_b": [{"subset": s, "id": i} for s, i in self.only_in_b[shown]],
            "label_differences": [
                {"subset": s, "id": i, "a": a, "b": b}
                for s, i, a, b in self.label_differences[shown]
            ],
            "image_differences": [
                {"subset": s, "id": i, "difference": d} for s, i, d in self.image_differences[shown]
            ],
        }


def compare_datasets(a: Dataset, b: Dataset) -> Comparison:
    """Matches items by subset and id and lists every difference."""
    result = Comparison(classes_a=tuple(a.categories), classes_b=tuple(b.categories))
    subsets_b = b.subsets()
    for name, left in a.subsets().items():
        right = subsets_b.get(name)
        if right is None:
            result.only_in_a += [(name, str(i)) for i in left.id_column()]
            continue
        _compare_subset(name, left, right, a.categories, b.categories, result)
    for name, right in subsets_b.items():
        if name not in a:
            result.only_in_b += [(name, str(i)) for i in right.id_column()]
    return result


def _compare_subset(
    name: str,
    left: Subset,
    right: Subset,
    classes_a: tuple[str, ...],
    classes_b: tuple[str, ...],
    result: Comparison,
) -> None:
    ids_a = [str(i) for i in left.id_column()]
    ids_b = [str(i) for i in right.id_column()]
    row_b = {item_id: row for row, item_id in enumerate(ids_b)}
    rows_a, rows_b = [], []
    for row, item_id in enumerate(ids_a):
        other = row_b.pop(item_id, None)
        if other is None:
            result.only_in_a.append((name, item_id))
        else:
            rows_a.append(row)
            rows_b.append(other)
    result.only_in_b += [(name, item_id) for item_id in row_b]
    result.matched += len(rows_a)
    for row, other in zip(rows_a, rows_b, strict=True):
        names_a = sorted(_names(left.labels_at(row), classes_a))
        names_b = sorted(_names(right.labels_at(other), classes_b))
        if names_a != names_b:
            result.label_differences.append((name, ids_a[row], names_a, names_b))
    for row, difference in _image_differences(left, right, rows_a, rows_b):
        result.image_differences.append((name, ids_a[row], difference))


def _names(labels: tuple[int, ...], classes: tuple[str, ...]) -> list[str]:
    return [classes[k] if 0 <= k < len(classes) else f"#{k}" for k in labels]


def _image_differences(
    left: Subset, right: Subset, rows_a: list[int], rows_b: list[int]
) -> list[tuple[int, str]]:
    """(row in `left`, what differs) for each matched pair whose images differ."""
    found: list[tuple[int, str]] = []
    a_images, b_images = left.images, right.images
    if (
        isinstance(a_images, np.ndarray)
        and isinstance(b_images, np.ndarray)
        and a_images.shape[1:] == b_images.shape[1:]
    ):
        index_a, index_b = np.asarray(rows_a, dtype=np.int64), np.asarray(rows_b, dtype=np.int64)
        for start in range(0, len(index_a), _CHUNK):
            part_a = a_images[index_a[start : start + _CHUNK]]
            part_b = b_images[index_b[start : start + _CHUNK]]
            unequal = (part_a != part_b).reshape(len(part_a), -1)
            counts = unequal.sum(axis=1)
            for offset in np.flatnonzero(counts):
                found.append((rows_a[start + offset], f"{int(counts[offset])} pixel values"))
        return found
    for row, other in zip(rows_a, rows_b, strict=True):
        difference = _image_difference(left.image_at(row), right.image_at(other))
        if difference:
            found.append((row, difference))
    return found


def _image_difference(a: np.ndarray | None, b: np.ndarray | None) -> str:
    """What differs between two images ("" when nothing does)."""
    if a is None or b is None:
        if a is None and b is None:
            return ""
        return "image only in a" if b is None else "image only in b"
    if a.shape != b.shape:
        return f"shape {'x'.join(map(str, a.shape))} vs {'x'.join(map(str, b.shape))}"
    count = int(np.count_nonzero(a != b))
    return f"{count} pixel values" if count else ""
