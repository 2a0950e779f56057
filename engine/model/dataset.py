"""The plain columnar dataset: named subsets plus the ordered class names.

The Datumaro-shaped verbs (`import_from`, `export`, `filter`) are added by the public
`engine.Dataset` in engine.api, so this layer imports nothing above it.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from engine.errors import ItemReplacedWarning, NotSupportedError, warn_caller
from engine.model.categories import ClassNames, class_names
from engine.model.items import NO_LABEL, DatasetItem, Label
from engine.model.lineage import Lineage
from engine.model.subset import ItemView, Subset, stack_images


class Dataset:
    """Subsets of items plus the ordered class names; the object `engine.load` returns.

    `info` holds dataset-level facts a format recorded on load (e.g. the variant a spec's files
    named, `{"split": "balanced"}`), so a save back to that format needs no option again.
    """

    def __init__(
        self,
        subsets: Mapping[str, Subset] | Iterable[Subset] = (),
        categories: Any = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """`categories`: names, Datumaro's `LabelCategories` or `{AnnotationType.label: ...}`;
        when not given, the class names the subsets carry (from the dataset they were taken
        from), so `Dataset({"train": ds["train"], "val": part})` keeps the classes."""
        if isinstance(subsets, Mapping):  # the keys name the subsets
            subsets = [
                part if part.name == key else dataclasses.replace(part, name=str(key))
                for key, part in ((key, _subset(part, key)) for key, part in subsets.items())
            ]
        self._subsets: dict[str, Subset] = {}
        for part in subsets:
            part = _subset(part, None)
            if part.name in self._subsets:
                raise ValueError(
                    f"two subsets are named {part.name!r}; give each subset its own name "
                    "(pass a mapping {name: subset} to name them)"
                )
            self._subsets[part.name] = part
        self.categories = (
            _classes_of(self._subsets.values()) if categories is None else class_names(categories)
        )
        self.info: dict[str, Any] = dict(info or {})
        #: where the items came from and what was done to them (see engine.model.lineage)
        self.lineage: Lineage = Lineage()

    def infos(self) -> dict[str, Any]:
        """Dataset-level facts (Datumaro 1.x's name for them)."""
        return dict(self.info)

    @property
    def categories(self) -> ClassNames:
        """The class names in label order: a tuple, also callable as Datumaro's `categories()`
        (`{AnnotationType.label: LabelCategories}`)."""
        if self._categories._owner is None:  # unpickled or copied: bind the names to this dataset
            self._categories.owned_by(weakref.ref(self))
        return self._categories

    @categories.setter
    def categories(self, names: Any) -> None:
        self._categories: ClassNames = class_names(names).owned_by(weakref.ref(self))
        # each subset learns the names; one held by another dataset too is replaced, not changed
        self._subsets = {
            name: part
            if part.categories == self._categories
            else dataclasses.replace(part, categories=self._categories)
            for name, part in self._subsets.items()
        }

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names (torchvision's name for `categories`)."""
        return self.categories

    # -- Datumaro-shaped constructors and verbs ------------------------------------------------
    @classmethod
    def from_iterable(
        cls,
        items: Iterable[DatasetItem],
        infos: Mapping[str, Any] | None = None,
        categories: Any = None,
        *,
        media_type: Any = None,
        ann_types: Iterable[Any] | None = None,
        env: Any = None,
    ) -> Dataset:
        """Builds a dataset from items, grouping them into columnar subsets (Datumaro 1.x's
        signature: `infos`, then `categories` as names or `LabelCategories`)."""
        _check_datumaro_options(media_type, ann_types, env)
        if infos is not None and not isinstance(infos, Mapping):
            raise TypeError(
                "from_iterable(items, infos, categories): infos is a mapping of dataset facts, "
                "as in Datumaro 1.x; pass the class names as categories=[...]"
            )
        grouped: dict[str, dict[str, DatasetItem | ItemView]] = {}
        replaced: list[str] = []
        for position, item in enumerate(items):
            if not isinstance(item, (DatasetItem, ItemView)):
                raise TypeError(
                    f"from_iterable: item {position} is a {type(item).__name__}, not a "
                    "DatasetItem; make one with engine.DatasetItem(id=..., image=..., "
                    "annotations=[engine.Label(k)])"
                )
            group = grouped.setdefault(item.subset, {})
            if item.id in group:  # Datumaro keeps one item per (id, subset): the last one put
                replaced.append(f"{item.subset}:{item.id}")
            group[item.id] = item
        if replaced:
            shown = ", ".join(repr(key) for key in replaced[:5])
            more = f" and {len(replaced) - 5} more" if len(replaced) > 5 else ""
            warn_caller(
                f"from_iterable: {len(replaced)} item(s) had the id of an earlier item of their "
                f"subset and replaced it, as in Datumaro ({shown}{more})",
                ItemReplacedWarning,
            )
        return cls(
            [_subset_from_items(name, list(group.values())) for name, group in grouped.items()],
            categories if categories is not None else (),
            infos,
        )

    def get_subset(self, name: str) -> Subset:
        """The subset called `name` (Datumaro's spelling of `dataset[name]`)."""
        return self[name]

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
        """The item with this id (in `subset`, or in the only subset holding it), or None.

        An id held by several subsets needs `subset=`: a ValueError names them.
        """
        if subset is None:
            holders = [n for n in self._subsets if self._find(id, n) is not None]
            if len(holders) > 1:
                raise ValueError(
                    f"id {str(id)!r} is in the subsets {holders}; pass subset=... to pick one"
                )
            return self._find(id, holders[0]) if holders else None
        return self._find(id, subset)

    def _find(self, id: str | int, subset: str) -> ItemView | None:
        for name in [subset]:
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


def _check_datumaro_options(media_type: Any, ann_types: Iterable[Any] | None, env: Any) -> None:
    """Refuses Datumaro options this engine cannot honour (it holds images and class labels)."""
    if media_type is not None and getattr(media_type, "__name__", "") != "Image":
        raise NotSupportedError(
            f"media_type={getattr(media_type, '__name__', media_type)}: this engine holds images "
            "only (media_type=Image)"
        )
    other = [
        str(getattr(t, "name", t))
        for t in ann_types or ()
        if str(getattr(t, "name", t)) not in ("label", "1")
    ]
    if other:
        raise NotSupportedError(f"ann_types {other}: this engine holds class labels only")
    if env is not None:
        raise NotSupportedError(
            "env=: plugin environments are not supported; formats are "
            "registered with engine.register_format / register_spec"
        )


def _classes_of(subsets: Iterable[Subset]) -> ClassNames:
    """The class names the subsets carry; subsets that disagree are a ValueError (their labels
    would mean different classes)."""
    found = {tuple(part.categories): part.name for part in subsets if part.categories}
    if len(found) > 1:
        (first, a), (second, b) = list(found.items())[:2]
        raise ValueError(
            f"subsets {a!r} and {b!r} have different classes ({list(first)[:5]} vs "
            f"{list(second)[:5]}); pass categories=... (or merge them with engine.merge)"
        )
    return class_names(next(iter(found), ()))


def _subset_from_items(name: str, items: list[DatasetItem | ItemView]) -> Subset:
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


def _subset(part: object, key: object) -> Subset:
    """``part`` when it is a Subset; anything else (a tuple of arrays, a torchvision dataset) is
    a TypeError saying how to make one."""
    if isinstance(part, Subset):
        return part
    name = f"subset {str(key)!r}" if key is not None else "a subset"
    raise TypeError(
        f"{name}: expected an engine.Subset, found {type(part).__name__}; make one with "
        "engine.Subset(name, labels, images), or build the dataset with "
        "engine.Dataset.from_iterable(items, categories=...)"
    )
