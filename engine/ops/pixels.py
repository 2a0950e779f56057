"""Pixel edits asked for when saving: grayscale, resize, LeCun's mnistify (named "edits" so that
"convert" keeps its one meaning: a dataset from one format to another).

They let images that do not fit a target (28x28 single-channel, say) be edited on purpose,
never silently. Each returns a new subset; labels, ids and attributes are shared, not copied.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.compute.pool import chunk_bounds, resolve_workers, run_chunks
from engine.compute.progress import Progress
from engine.model import Dataset, Subset, stack_images
from engine.ops.normalize import mnistify as mnistify_image

# ITU-R BT.601 luma weights for R, G, B.
_LUMA_601 = np.array([0.299, 0.587, 0.114])
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")


def parse_size(value: str | int | Sequence[int]) -> tuple[int, int]:
    """(height, width) from '28x28', 28, or (28, 28); ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"resize: expected HxW such as 28x28, not {value!r}")
    if isinstance(value, int):
        size: tuple[int, ...] = (value, value)
    elif isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"resize: expected HxW such as 28x28, not {value!r}")
        size = (int(match.group(1)), int(match.group(2)))
    else:
        size = tuple(int(v) for v in value)
        if len(size) != 2:
            raise ValueError(f"resize: expected (height, width), not {value!r}")
    if min(size) < 1:
        raise ValueError(f"resize: sizes must be positive, not {value!r}")
    return size[0], size[1]


@dataclass(frozen=True)
class PixelEdit:
    """What to do to every image before writing; the default does nothing."""

    grayscale: bool = False
    resize: tuple[int, int] | None = None
    mnistify: bool = False
    invert: bool = False

    @classmethod
    def from_options(
        cls,
        *,
        grayscale: bool = False,
        resize: str | int | Sequence[int] | None = None,
        mnistify: bool = False,
        invert: bool = False,
    ) -> PixelEdit:
        """Checks and builds the options as users pass them (resize as '28x28' or (28, 28))."""
        size = None if resize in (None, "") else parse_size(resize)
        if invert and not mnistify:
            raise ValueError("invert applies to mnistify; pass mnistify=True with it")
        if mnistify and size is not None and size[0] != size[1]:
            raise ValueError(f"mnistify makes square images; resize {size} is not square")
        return cls(bool(grayscale), size, bool(mnistify), bool(invert))

    def __bool__(self) -> bool:
        return self.grayscale or self.resize is not None or self.mnistify


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """One channel from RGB/RGBA by the ITU-R 601 luma weights (alpha dropped); grey unchanged."""
    if image.ndim == 2:
        return image
    if image.shape[2] in (1, 2):
        return image[:, :, 0]
    grey = image[:, :, :3].astype(np.float64) @ _LUMA_601
    if image.dtype.kind in "iu":
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(grey), info.min, info.max).astype(image.dtype)
    return grey.astype(image.dtype)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` resampled to (height, width) with Lanczos (antialiased when shrinking)."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] in (3, 4)):
        picture = Image.fromarray(np.ascontiguousarray(image))
        return np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS))
    channels = [image] if image.ndim == 2 else [image[:, :, c] for c in range(image.shape[2])]
    resized = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(c, dtype=np.float32)).resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )
        for c in channels
    ]
    out = resized[0] if image.ndim == 2 else np.stack(resized, axis=2)
    if image.dtype.kind in "iu":
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(image.dtype)
    return out.astype(image.dtype)


def edit_image(image: np.ndarray, conversion: PixelEdit) -> np.ndarray:
    """One image converted as asked: mnistify (which includes grey and size), else grey, resize."""
    if conversion.mnistify:
        field = conversion.resize[0] if conversion.resize else 28
        box = max(1, round(field * 20 / 28))
        return mnistify_image(image, invert=conversion.invert, box=box, field=field)
    if conversion.grayscale:
        image = to_grayscale(image)
    if conversion.resize is not None:
        image = resize_image(image, conversion.resize)
    return image


def _edit_chunk(images: Sequence[np.ndarray | None], conversion: PixelEdit) -> list:
    """Worker: converts one chunk of images (None stays None)."""
    return [
        None if image is None else edit_image(np.asarray(image), conversion) for image in images
    ]


def convert_subset(
    subset: Subset,
    conversion: PixelEdit,
    *,
    workers: int | None = None,
    progress: bool | None = None,
) -> Subset:
    """A subset whose images are converted; the other columns are shared with `subset`."""
    if not conversion or subset.images is None:
        return subset
    images = subset.images
    count = len(images)
    processes = resolve_workers(workers, count)
    bounds = chunk_bounds(count, processes)
    chunks = [(images[a:b], conversion) for a, b in bounds]
    with Progress(count, f"converting {subset.name}", enabled=progress) as bar:
        results = run_chunks(
            _edit_chunk,
            chunks,
            workers=processes,
            sizes=[b - a for a, b in bounds],
            progress=bar,
        )
    converted = [image for chunk in results for image in chunk]
    return dataclasses.replace(subset, images=stack_images(converted))


def edit_pixels(
    dataset: Dataset,
    conversion: PixelEdit,
    *,
    workers: int | None = None,
    progress: bool | None = None,
) -> Dataset:
    """A dataset whose images are converted as asked (the same object when nothing is asked)."""
    resolve_workers(workers, 0)  # a bad `workers` is refused even when nothing is converted
    if not conversion:
        return dataset
    subsets = [
        convert_subset(subset, conversion, workers=workers, progress=progress)
        for subset in dataset.subsets().values()
    ]
    return type(dataset)(subsets, dataset.categories, dataset.info)
