"""Single items of the model: labels, images and the Datumaro-shaped `DatasetItem`.

Nothing here knows about subsets; subsets (engine.model.subset) hold items as columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    @classmethod
    def from_numpy(cls, data: np.ndarray, *, size: tuple[int, int] | None = None) -> Image:
        """An image held in memory (Datumaro 1.x's constructor); `size` (height, width), when
        given, must match the data."""
        image = cls(data=data)
        if size is not None and tuple(size) != image.size:
            raise ValueError(f"size {tuple(size)} does not match the data's {image.size}")
        return image

    @classmethod
    def from_file(cls, path: str | Path, *, size: tuple[int, int] | None = None) -> Image:
        """An image file, decoded on first access (Datumaro 1.x's constructor); `size` is
        checked against the file once it is read."""
        image = cls(path=path)
        if size is not None and Path(path).is_file() and tuple(size) != image.size:
            raise ValueError(f"{path}: size {tuple(size)} does not match the file's {image.size}")
        return image

    @property
    def data(self) -> np.ndarray:
        """The pixels as an array (H, W) or (H, W, C); a file is decoded on first access."""
        if self._data is None:
            from PIL import Image as PILImage

            assert self.path is not None  # the constructor demands data or a path

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
