"""Class names in Datumaro 1.x's shapes: `AnnotationType`, `LabelCategories` and the callable
tuple that `dataset.categories` is, so `dataset.categories()[AnnotationType.label]` works as in
Datumaro while the engine keeps reading the names as a plain tuple."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class AnnotationType(IntEnum):
    """Datumaro's annotation kinds; this engine holds class labels only (`label`)."""

    unknown = 0
    label = 1
    mask = 2
    points = 3
    polygon = 4
    polyline = 5
    bbox = 6
    caption = 7
    cuboid_3d = 8
    super_resolution_annotation = 9
    depth_annotation = 10
    ellipse = 11
    hash_key = 12
    feature_vector = 13
    tabular = 14
    rotated_bbox = 15
    cuboid_2d = 16


@dataclass(frozen=True)
class LabelCategory:
    """One class: its name, parent (unused here, kept for Datumaro scripts) and attributes.
    Frozen: a class is renamed with `remap_labels`, so an edit never goes unnoticed."""

    name: str
    parent: str = ""
    attributes: frozenset[str] = field(default_factory=frozenset)


class LabelCategories:
    """The ordered classes (Datumaro's `LabelCategories`): `items`, `find(name)`, `add(name)`,
    indexing by label and `from_iterable([...])`. Those a dataset's `categories()` gives are
    live, as in Datumaro: `add` adds the class to the dataset."""

    def __init__(
        self,
        items: Iterable[LabelCategory] = (),
        attributes: Iterable[str] = (),
        *,
        on_change: Callable[[tuple[str, ...]], None] | None = None,
    ):
        self.items: tuple[LabelCategory, ...] = ()
        self.attributes = set(attributes)
        self._on_change: Callable[[tuple[str, ...]], None] | None = None
        for item in items:
            self.add(item.name, item.parent, item.attributes)
        self._on_change = on_change

    @classmethod
    def from_iterable(cls, iterable: Iterable[Any]) -> LabelCategories:
        """From names, or `(name, parent)` / `(name, parent, attributes)` tuples, or categories."""
        categories = cls()
        for entry in iterable:
            if isinstance(entry, LabelCategory):
                categories.add(entry.name, entry.parent, entry.attributes)
            elif isinstance(entry, tuple):
                categories.add(*entry)
            else:
                categories.add(str(entry))
        return categories

    def add(self, name: str, parent: str = "", attributes: Iterable[str] | None = None) -> int:
        """Appends a class; returns its label. A name already present is a ValueError."""
        if self.find(name)[0] is not None:
            raise ValueError(f"class {name!r} is already in the categories")
        category = LabelCategory(str(name), parent or "", frozenset(attributes or ()))
        self.items = (*self.items, category)
        if self._on_change is not None:
            self._on_change(self.names())
        return len(self.items) - 1

    def find(self, name: str) -> tuple[int | None, LabelCategory | None]:
        """(label, category) of the class called `name`, or (None, None)."""
        for index, item in enumerate(self.items):
            if item.name == name:
                return index, item
        return None, None

    def names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.items)

    def __getitem__(self, index: int) -> LabelCategory:
        return self.items[index]

    def __contains__(self, value: object) -> bool:
        if isinstance(value, int):
            return 0 <= value < len(self.items)
        return self.find(str(value))[0] is not None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[LabelCategory]:
        return iter(self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelCategories) and self.names() == other.names()

    def __repr__(self) -> str:
        return f"LabelCategories({list(self.names())})"


class ClassNames(tuple[str, ...]):
    """The class names in label order: a tuple for the engine, and callable as Datumaro's
    `categories()`, which gives `{AnnotationType.label: LabelCategories}`; `add` on those
    categories adds the class to the dataset the names belong to (`owned_by`)."""

    _owner: Callable[[], Any] | None = None

    def owned_by(self, owner: Callable[[], Any]) -> ClassNames:
        """These names, bound to a dataset (a weak reference) whose classes `add` extends."""
        self._owner = owner
        return self

    def __call__(self) -> dict[AnnotationType, LabelCategories]:
        owner = self._owner
        categories = LabelCategories.from_iterable(self)

        def extend(names: tuple[str, ...]) -> None:
            dataset = owner() if owner is not None else None
            if dataset is not None:
                dataset.categories = names

        categories._on_change = extend
        return {AnnotationType.label: categories}

    def __reduce__(self) -> tuple[Any, ...]:
        return (ClassNames, (tuple(self),))  # the owner does not travel


def class_names(categories: Any) -> ClassNames:
    """The names from any way a user gives classes: names, `LabelCategory`s, a
    `LabelCategories`, or Datumaro's `{AnnotationType.label: LabelCategories}`."""
    if isinstance(categories, Mapping):
        categories = categories.get(AnnotationType.label, ())
    return ClassNames(str(getattr(entry, "name", entry)) for entry in categories or ())
