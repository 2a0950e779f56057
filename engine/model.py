"""The columnar dataset model: arrays per subset, with light item views made on access.

A subset holds one labels array and one images array viewed on the decoded file buffer (no per-item
copies), optional string ids and per-item attribute columns. Items are views onto a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The model's label value for an item without a label (formats map their own sentinel onto it).
NO_LABEL = -1
DEFAULT_SUBSET = "default"


class Label:
    """A class-label annotation (Datumaro's `Label`): the class index and optional attributes."""

    __slots__ = ("attributes", "id", "label")
    type = "label"

    def __init__(self, label: int, *, id: int = 0, attributes: Mapping[str, Any] | None = None):
        self.label = int(label)
        self.id = id
        self.attributes = dict(attributes or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Label) and other.label == self.label

    def __hash__(self) -> int:
        return hash(("label", self.label))

    def __repr__(self) -> str:
        return f"Label({self.label})"


class Image:
    """An image held in memory, or a file read on first access (Datumaro's `Image` media)."""

    __slots__ = ("_data", "path")

    def __init__(self, data: np.ndarray | None = None, *, path: str | Path | None = None):
        if data is None and path is None:
            raise ValueError("Image needs data or a path")
        self._data = None if data is None else np.asarray(data)
        self.path = None if path is None else str(path)

    @property
    def data(self) -> np.ndarray:
        """The pixels as an array (H, W) or (H, W, C); a file is decoded on first access."""
        if self._data is None:
            from PIL import Image as PILImage

            with PILImage.open(self.path) as picture:
                self._data = np.asarray(picture)
        return self._data

    @property
    def has_data(self) -> bool:
        return self._data is not None or (self.path is not None and Path(self.path).is_file())

    @property
    def size(self) -> tuple[int, int]:
        """(height, width), as Datumaro reports it."""
        return tuple(self.data.shape[:2])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Image) and np.array_equal(self.data, other.data)

    def __repr__(self) -> str:
        where = f"path={self.path!r}" if self._data is None else f"shape={self._data.shape}"
        return f"Image({where})"


def _as_image(value: Any) -> Image | None:
    if value is None or isinstance(value, Image):
        return value
    if isinstance(value, str | Path):
        return Image(path=value)
    return Image(data=value)


class DatasetItem:
    """An item built by the user (Datumaro's `DatasetItem`); `image=` and `media=` are synonyms."""

    def __init__(
        self,
        id: str | int,
        *,
        subset: str | None = None,
        media: Any = None,
        image: Any = None,
        annotations: Sequence[Label] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        if media is not None and image is not None:
            raise ValueError("give either media= or image=, not both")
        self.id = str(id).replace("\\", "/")
        self.subset = subset or DEFAULT_SUBSET
        self.media = _as_image(media if media is not None else image)
        self.annotations = list(annotations or [])
        self.attributes = dict(attributes or {})

    @property
    def image(self) -> np.ndarray | None:
        return None if self.media is None else self.media.data

    @property
    def label(self) -> int | None:
        labels = [a.label for a in self.annotations if isinstance(a, Label)]
        return labels[0] if labels else None

    def __repr__(self) -> str:
        return (
            f"DatasetItem(id={self.id!r}, subset={self.subset!r}, annotations={self.annotations})"
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
    subset has no images at all.
    """

    name: str
    labels: np.ndarray
    images: np.ndarray | list[np.ndarray | None] | None = None
    ids: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    multi_labels: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels)
        count = len(self.labels)
        if self.images is not None and len(self.images) != count:
            raise ValueError(f"subset {self.name!r}: {len(self.images)} images, {count} labels")
        if self.ids is not None:
            self.ids = np.asarray(self.ids, dtype=object)
            if len(self.ids) != count:
                raise ValueError(f"subset {self.name!r}: {len(self.ids)} ids, {count} labels")
        for name, column in self.attributes.items():
            if len(column) != count:
                raise ValueError(f"subset {self.name!r}: attribute {name!r} has {len(column)} rows")

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[ItemView]:
        for index in range(len(self.labels)):
            yield ItemView(self, index)

    def __getitem__(self, index: int) -> ItemView:
        if not -len(self) <= index < len(self):
            raise IndexError(f"subset {self.name!r} has {len(self)} items")
        return ItemView(self, index % len(self))

    @property
    def has_uniform_images(self) -> bool:
        return isinstance(self.images, np.ndarray)

    @property
    def default_ids(self) -> bool:
        """True when the ids are the row numbers 0..n-1 (formats then need not store them)."""
        if self.ids is None:
            return True
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

    def take(self, rows: np.ndarray | Sequence[int]) -> Subset:
        """A new subset holding the given rows (a boolean mask or indices), sharing no state."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if isinstance(self.images, np.ndarray):
            images = self.images[rows]
        elif self.images is None:
            images = None
        else:
            images = [self.images[i] for i in rows]
        position = {int(old): new for new, old in enumerate(rows)}
        return Subset(
            name=self.name,
            labels=self.labels[rows],
            images=images,
            ids=self.id_column()[rows] if self.ids is not None else _row_ids(rows),
            attributes={name: column[rows] for name, column in self.attributes.items()},
            multi_labels={
                position[old]: labels
                for old, labels in self.multi_labels.items()
                if old in position
            },
        )


def _row_ids(rows: np.ndarray) -> np.ndarray | None:
    """Ids of rows picked from a subset with implicit ids: None when they are still 0..n-1."""
    if np.array_equal(rows, np.arange(len(rows))):
        return None
    return np.array([str(i) for i in rows], dtype=object)


class Dataset:
    """Subsets of items plus the ordered class names; the object `engine.load` returns."""

    def __init__(
        self, subsets: Mapping[str, Subset] | Iterable[Subset] = (), categories: Iterable = ()
    ) -> None:
        if isinstance(subsets, Mapping):
            subsets = subsets.values()
        self._subsets: dict[str, Subset] = {s.name: s for s in subsets}
        self.categories: tuple[str, ...] = _category_names(categories)

    # -- Datumaro-shaped constructors and verbs ------------------------------------------------
    @classmethod
    def from_iterable(
        cls, items: Iterable[DatasetItem], categories: Iterable | None = None
    ) -> Dataset:
        """Builds a dataset from items, grouping them into columnar subsets."""
        grouped: dict[str, list[DatasetItem]] = {}
        for item in items:
            grouped.setdefault(item.subset, []).append(item)
        return cls(
            [_subset_from_items(name, group) for name, group in grouped.items()], categories or ()
        )

    @classmethod
    def import_from(cls, path: str | Path, format: str | None = None, **options: Any) -> Dataset:
        from engine.api import load

        return load(format, path, **options)

    def export(self, path: str | Path, format: str, **options: Any) -> None:
        from engine.api import save

        save(self, format, path, **options)

    def filter(
        self,
        expr: str | Callable[[ItemView], bool],
        mode: str = "items",
        *,
        filter_annotations: bool = False,
        remove_empty: bool = False,
    ) -> Dataset:
        """A new dataset filtered by an XPath expression (see engine.filters) or an item predicate.

        `mode` is items, annotations or items+annotations; Datumaro's `filter_annotations` and
        `remove_empty` flags are accepted too.
        """
        from engine.filters import filter_dataset

        if filter_annotations:
            mode = "items+annotations" if remove_empty else "annotations"
        return filter_dataset(self, expr, mode)

    # -- container protocol ---------------------------------------------------------------------
    def subsets(self) -> dict[str, Subset]:
        return dict(self._subsets)

    def __getitem__(self, name: str) -> Subset:
        try:
            return self._subsets[name]
        except KeyError:
            raise KeyError(f"no subset {name!r}; subsets are {list(self._subsets)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._subsets

    def __len__(self) -> int:
        return sum(len(s) for s in self._subsets.values())

    def __iter__(self) -> Iterator[ItemView]:
        for subset in self._subsets.values():
            yield from subset

    def get(self, id: str | int, subset: str | None = None) -> ItemView | None:
        """The item with this id (in `subset`, or in the only subset), or None."""
        names = [subset] if subset else list(self._subsets)
        for name in names:
            part = self._subsets.get(name)
            if part is None:
                continue
            if part.ids is None:
                text = str(id)
                if text.isdigit() and int(text) < len(part):
                    return part[int(text)]
                continue
            hits = np.flatnonzero(part.ids == str(id))
            if len(hits):
                return part[int(hits[0])]
        return None

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}: {len(s)}" for name, s in self._subsets.items())
        return f"Dataset({parts}; {len(self.categories)} classes)"


def _category_names(categories: Iterable) -> tuple[str, ...]:
    names = []
    for entry in categories:
        names.append(str(getattr(entry, "name", entry)))
    return tuple(names)


def _subset_from_items(name: str, items: list[DatasetItem]) -> Subset:
    labels = np.full(len(items), NO_LABEL, dtype=np.int32)
    multi: dict[int, tuple[int, ...]] = {}
    images: list[np.ndarray | None] = []
    attribute_names: list[str] = []
    for index, item in enumerate(items):
        found = tuple(a.label for a in item.annotations if isinstance(a, Label))
        if found:
            labels[index] = found[0]
        if len(found) > 1:
            multi[index] = found
        images.append(item.image)
        attribute_names.extend(k for k in item.attributes if k not in attribute_names)
    ids = np.array([item.id for item in items], dtype=object)
    attributes = {
        key: np.array([item.attributes.get(key) for item in items], dtype=object)
        for key in attribute_names
    }
    return Subset(
        name=name,
        labels=labels,
        images=stack_images(images),
        ids=ids,
        attributes=attributes,
        multi_labels=multi,
    )


def stack_images(images: list[np.ndarray | None]) -> np.ndarray | list[np.ndarray | None] | None:
    """One array when every item has an image of one shape and dtype, else the list as given."""
    if not images or all(image is None for image in images):
        return None
    first = images[0]
    if first is not None and all(
        image is not None and image.shape == first.shape and image.dtype == first.dtype
        for image in images
    ):
        return np.stack(images)
    return images
