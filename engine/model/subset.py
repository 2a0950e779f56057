"""A subset: one labels column, one images array or list, optional ids and attribute columns,
with light `ItemView`s made on access (no per-item copies).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from engine.model.batching import (
    Batches,
    EpochPlan,
    Normalization,
    numpy_batches,
    parse_normalization,
    plan_epoch,
    uniform_images,
)
from engine.model.filearray import take_rows
from engine.model.items import NO_LABEL, Image, Label


def class_indices(labels: Any, subset: str) -> np.ndarray:
    """``labels`` as one integer class index per item (``NO_LABEL`` or None: unlabeled).

    Integers pass as they are (no copy); bools and whole floats become integers; anything that
    would be rounded, or is not a class index at all (text, NaN, several columns), is refused
    here, so no writer turns 0.5 into 0 or writes a table where one column belongs."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(
            f"subset {subset!r}: labels must be one class index per item (shape (N,)), "
            f"found shape {array.shape}"
        )
    kind = array.dtype.kind
    if kind in "iu":
        return array
    if array.size == 0 or kind == "b":
        return array.astype(np.int64)
    if kind == "O":
        array = np.array([NO_LABEL if value is None else value for value in array])
        if array.dtype.kind in "iub":
            return array.astype(np.int64)
        kind = array.dtype.kind
    if kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if whole.all():
            return array.astype(np.int64)
        bad = np.flatnonzero(~whole)
        raise ValueError(
            f"subset {subset!r}: labels must be whole class indices, found "
            f"{', '.join(f'{array[i].item()!r} at {i}' for i in bad[:5])}"
            f"{f' and {len(bad) - 5} more' if len(bad) > 5 else ''}"
        )
    raise ValueError(
        f"subset {subset!r}: labels must be class indices (integers), found {array.dtype} "
        f"values such as {array[0].item()!r}; give class names as categories= and their indices as "
        "labels"
    )


class ItemView:
    """One row of a subset, made on access; reads the columns, copies nothing."""

    __slots__ = ("_index", "_subset")

    def __init__(self, subset: Subset, index: int) -> None:
        self._subset = subset
        self._index = index

    @property
    def index(self) -> int:
        return self._index

    @property
    def id(self) -> str:
        return self._subset.id_at(self._index)

    @property
    def subset(self) -> str:
        return self._subset.name

    @property
    def image(self) -> np.ndarray | None:
        return self._subset.image_at(self._index)

    @property
    def media(self) -> Image | None:
        image = self.image
        return None if image is None else Image(data=image)

    @property
    def label(self) -> int | None:
        value = int(self._subset.labels[self._index])
        return None if value == NO_LABEL else value

    @property
    def annotations(self) -> list[Label]:
        return [Label(k) for k in self._subset.labels_at(self._index)]

    @property
    def attributes(self) -> dict[str, Any]:
        return {name: column[self._index] for name, column in self._subset.attributes.items()}

    def __repr__(self) -> str:
        return f"Item(id={self.id!r}, subset={self.subset!r}, label={self.label})"


@dataclass
class Subset:
    """One subset's columns: labels (N,) int32 with NO_LABEL, images, optional ids and attributes.

    `images` is an array (N, H, W) or (N, H, W, C) when every item has an image of one shape;
    otherwise a list with one array (or None, for an item without image) per item; None when the
    subset has no images at all. `image_paths`, when the items were read from image files, holds
    each item's file path (or None), for transforms that use file names.
    """

    name: str
    labels: np.ndarray
    images: np.ndarray | list[np.ndarray | None] | None = None
    ids: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    multi_labels: dict[int, tuple[int, ...]] = field(default_factory=dict)
    image_paths: np.ndarray | None = None
    #: class names, set by the Dataset holding the subset (for `to_torch().classes`)
    categories: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = class_indices(self.labels, self.name)
        count = len(self.labels)
        if self.images is not None and len(self.images) != count:
            raise ValueError(f"subset {self.name!r}: {len(self.images)} images, {count} labels")
        if self.ids is not None:
            ids = np.asarray(self.ids)
            # fixed-width text (row numbers picked by `take`) stays compact; the rest is object
            self.ids = ids if ids.dtype.kind == "U" else np.asarray(self.ids, dtype=object)
            if len(self.ids) != count:
                raise ValueError(f"subset {self.name!r}: {len(self.ids)} ids, {count} labels")
        if self.image_paths is not None:
            self.image_paths = np.asarray(self.image_paths, dtype=object)
            if len(self.image_paths) != count:
                raise ValueError(f"subset {self.name!r}: {len(self.image_paths)} image paths")
        for name, column in self.attributes.items():
            if len(column) != count:
                raise ValueError(f"subset {self.name!r}: attribute {name!r} has {len(column)} rows")

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[ItemView]:
        for index in range(len(self.labels)):
            yield ItemView(self, index)

    @overload
    def __getitem__(self, index: int | np.integer) -> ItemView: ...

    @overload
    def __getitem__(self, index: slice | np.ndarray | Sequence[int]) -> Subset: ...

    def __getitem__(self, index: Any) -> ItemView | Subset:
        """One item for an integer; a Subset (ids kept) for a slice, indices or a boolean mask."""
        if isinstance(index, int | np.integer) and not isinstance(index, bool):
            if not -len(self) <= index < len(self):
                raise IndexError(f"subset {self.name!r} has {len(self)} items")
            return ItemView(self, int(index) % len(self))
        if isinstance(index, slice):
            return self.with_ids_kept(np.arange(len(self))[index])
        rows = np.asarray(index)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise IndexError(f"a boolean mask of {rows.shape} for {len(self)} items")
            return self.with_ids_kept(np.flatnonzero(rows))
        if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
            raise TypeError(f"subset indices must be integers, a slice or a mask, not {index!r}")
        if rows.size and not (-len(self) <= rows.min() and rows.max() < len(self)):
            raise IndexError(f"subset {self.name!r} has {len(self)} items")
        return self.with_ids_kept(rows % max(len(self), 1))

    def with_ids_kept(self, rows: np.ndarray) -> Subset:
        """The rows as a new subset whose items keep their ids (row numbers become ids)."""
        return self.take(rows.astype(np.int64))

    @property
    def has_uniform_images(self) -> bool:
        return isinstance(self.images, np.ndarray)

    @property
    def default_ids(self) -> bool:
        """True when the ids are the row numbers 0..n-1 (formats then need not store them)."""
        if self.ids is None:
            return True
        if self.ids.dtype.kind == "U":
            count = len(self.ids)
            if count and len(str(count - 1)) * 4 > self.ids.dtype.itemsize:
                return False  # the last row number does not fit: not the row numbers
            return bool(np.array_equal(self.ids, np.arange(count).astype(self.ids.dtype)))
        return all(value == str(index) for index, value in enumerate(self.ids))

    def id_at(self, index: int) -> str:
        return str(index) if self.ids is None else self.ids[index]

    def id_column(self) -> np.ndarray:
        """All ids as an object array of str (row numbers when the subset has no explicit ids)."""
        if self.ids is not None:
            return self.ids
        return np.array([str(i) for i in range(len(self))], dtype=object)

    def image_at(self, index: int) -> np.ndarray | None:
        return None if self.images is None else self.images[index]

    def labels_at(self, index: int) -> tuple[int, ...]:
        if index in self.multi_labels:
            return self.multi_labels[index]
        value = int(self.labels[index])
        return () if value == NO_LABEL else (value,)

    # -- bridges to training libraries (each imports its library only when called) -------------
    @property
    def classes(self) -> list[str]:
        """The class names (row numbers as text when the subset belongs to no dataset)."""
        if self.categories:
            return list(self.categories)
        top = int(self.labels.max()) if len(self.labels) else -1
        return [str(i) for i in range(top + 1)]

    def arrays(self, *, int64_labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(images (N, H, W[, C]), labels (N,)): the arrays themselves, no copies.

        Labels are int32 with -1 for no label; `int64_labels=True` gives int64 (what torch's
        losses and most frameworks expect).
        """
        return self.image_array(), self.labels.astype(np.int64 if int64_labels else np.int32)

    def image_array(self) -> np.ndarray:
        """The images as one array; ValueError when they differ in shape or some are missing."""
        if not isinstance(self.images, np.ndarray):
            what = "has no images" if self.images is None else "holds images of several shapes"
            raise ValueError(f"subset {self.name!r} {what}: there is no single image array")
        return self.images

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        images = self.image_array()
        if copy:
            return np.array(images, dtype=dtype)
        return images if dtype is None else images.astype(dtype, copy=False)

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        epoch: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        normalize: tuple[Any, Any] | None = None,
    ) -> Batches:
        """One epoch as numpy `(images, labels)` batches, each gathered in one step; the public
        `engine.Subset.batches` adds `device=` (torch tensors) and says all (docs/training.md)."""
        plan, images, normalization = self.plan_batches(
            batch_size,
            shuffle=shuffle,
            seed=seed,
            epoch=epoch,
            drop_last=drop_last,
            rank=rank,
            world_size=world_size,
            normalize=normalize,
        )
        labels = self.labels
        return Batches(plan, lambda p: numpy_batches(images, labels, p, normalization))

    def plan_batches(
        self,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int,
        epoch: int,
        drop_last: bool,
        rank: int,
        world_size: int,
        normalize: tuple[Any, Any] | None,
    ) -> tuple[EpochPlan, np.ndarray, Normalization | None]:
        """What `batches()` checks and decides before the first batch (ValueErrors naming the
        argument): this rank's epoch plan, the images as one array, the normalization."""
        plan = plan_epoch(
            len(self),
            batch_size,
            shuffle=shuffle,
            seed=seed,
            epoch=epoch,
            drop_last=drop_last,
            rank=rank,
            world_size=world_size,
        )
        images = uniform_images(self.name, self.images, self.id_at)
        return plan, images, parse_normalization(normalize, images)

    def to_dask(self, chunk_rows: int | None = None):
        """Images, labels and attribute columns as dask arrays chunked by rows (needs the [dask]
        extra); images of a plain file are read chunk by chunk from it by offset, where each
        task runs. See engine.model.dask_arrays."""
        from engine.model.dask_arrays import subset_to_dask

        return subset_to_dask(self, chunk_rows)

    def take(self, rows: np.ndarray | Sequence[int]) -> Subset:
        """A new subset holding the given rows (a boolean mask or indices), sharing no state."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        images: np.ndarray | list[np.ndarray | None] | None
        if isinstance(self.images, np.ndarray):
            images = take_rows(self.images, rows)
        elif self.images is None:
            images = None
        else:
            images = [self.images[i] for i in rows]
        multi: dict[int, tuple[int, ...]] = {}
        if self.multi_labels:
            # new row of each old row with several labels (no per-row dict: rows can be millions)
            picked = np.flatnonzero(np.isin(rows, np.fromiter(self.multi_labels, np.int64)))
            position = {int(rows[new]): int(new) for new in picked}
            multi = {
                position[old]: labels
                for old, labels in self.multi_labels.items()
                if old in position
            }
        return type(self)(
            name=self.name,
            labels=self.labels[rows],
            images=images,
            ids=self.id_column()[rows] if self.ids is not None else _row_ids(rows),
            attributes={name: column[rows] for name, column in self.attributes.items()},
            multi_labels=multi,
            image_paths=None if self.image_paths is None else self.image_paths[rows],
            categories=self.categories,
        )


def _row_ids(rows: np.ndarray) -> np.ndarray | None:
    """Ids of rows picked from a subset with implicit ids: None when they are still 0..n-1."""
    if np.array_equal(rows, np.arange(len(rows))):
        return None
    width = len(str(int(rows.max()))) if len(rows) else 1
    return rows.astype(f"U{width}")  # 4 bytes a digit: millions of ids stay small


def stack_images(
    images: Sequence[np.ndarray | None],
) -> np.ndarray | list[np.ndarray | None] | None:
    """One array when every item has an image of one shape and dtype, else the list as given."""
    present = [image for image in images if image is not None]
    if not present:
        return None
    first = present[0]
    if len(present) == len(images) and all(
        image.shape == first.shape and image.dtype == first.dtype for image in present
    ):
        return np.stack(present)
    return images if isinstance(images, list) else list(images)


def subset_order(name: str) -> tuple[int, str]:
    """Train, then validation, then test, then the rest by name: the order users expect."""
    known = ("train", "val", "validation", "test")
    return (known.index(name) if name in known else len(known), name)
