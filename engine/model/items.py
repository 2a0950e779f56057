"""Single items of the model: labels, images and the Datumaro-shaped `DatasetItem`.

Nothing here knows about subsets; subsets (engine.model.subset) hold items as columns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import FormatError

#: The model's label value for an item without a label (formats map their own sentinel onto it).
NO_LABEL = -1
DEFAULT_SUBSET = "default"


class Label:
    """A class-label annotation (Datumaro's `Label`): the class index and optional attributes."""

    __slots__ = ("attributes", "group", "id", "label", "object_id")
    type = "label"

    def __init__(
        self,
        label: int,
        *,
        id: int = 0,
        attributes: Mapping[str, Any] | None = None,
        group: int = 0,
        object_id: int = -1,
    ):
        """Datumaro 1.x's keywords; ``group`` and ``object_id`` are kept on the object (no format
        of the MNIST family stores them)."""
        self.label = _class_index(label)
        self.id = id
        self.attributes = dict(attributes or {})
        self.group = group
        self.object_id = object_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Label) and other.label == self.label

    def __hash__(self) -> int:
        return hash(("label", self.label))

    def __repr__(self) -> str:
        return f"Label({self.label})"


def _class_index(label: Any) -> int:
    """``label`` as an int, as Datumaro converts it (``"3"`` and ``3.0`` are 3); a fraction, NaN
    or anything that is no number is refused rather than cut to an int."""
    if isinstance(label, (float, np.floating)) and not float(label).is_integer():
        raise ValueError(f"Label: the class index must be a whole number, found {label!r}")
    try:
        return int(label)
    except (TypeError, ValueError):
        raise TypeError(f"Label: the class index must be an integer, found {label!r}") from None


def _read_picture(path: str) -> np.ndarray:
    """The pixels of the image file at ``path``; a missing file, something that is not a regular
    file (a FIFO would block) or a file that is no image is a FormatError naming it."""
    from PIL import Image as PILImage

    if not Path(path).is_file():
        what = "no such file" if not os.path.lexists(path) else "not a regular file"
        raise FormatError(path, f"the item's image file cannot be read: {what} ({path})")
    try:
        with PILImage.open(path) as picture:
            return np.asarray(picture)
    # Pillow raises many types for bad data (OSError, SyntaxError, ValueError, struct.error,
    # DecompressionBombError...); each means "not a readable image" here
    except Exception as error:
        raise FormatError(path, f"not a readable image ({error or type(error).__name__})") from None


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
            assert self.path is not None  # the constructor demands data or a path
            self._data = _read_picture(self.path)
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
        self.subset = str(subset) if subset else DEFAULT_SUBSET
        self.media = _as_image(media if media is not None else image)
        self.annotations = list(annotations or [])
        for annotation in self.annotations:
            if not isinstance(annotation, Label):
                raise TypeError(
                    f"DatasetItem {self.id!r}: annotations are Label objects (this engine holds "
                    f"class labels), found {type(annotation).__name__} {annotation!r:.60}"
                )
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
