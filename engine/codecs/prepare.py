"""Checks a subset against what a target format can hold, and converts it to the format's arrays.

Shared by every codec: nothing is written until every item passes, and a failure names the items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.codecs.sidefile import SideRows, side_rows_for
from engine.errors import ValidationError
from engine.model import NO_LABEL, Dataset, Subset
from specs.schema import SideFile


@dataclass
class PreparedSubset:
    """A subset as a format stores it: label values, the images present, and side-file rows."""

    name: str
    labels: np.ndarray
    images: np.ndarray | None
    has_image: np.ndarray
    side: SideRows
    #: False: the file gets no label column (every item unlabeled; `labels` is then unused)
    labelled: bool = True


def check_class_names(names: Sequence[str]) -> None:
    """Class names go one per line into labels.txt: none may be blank or hold a line break."""
    bad = [name for name in names if not name.strip() or "\n" in name or "\r" in name]
    if bad:
        raise ValidationError(f"class names {bad!r} cannot be stored one per line in labels.txt")


def check_label_range(dataset: Dataset) -> None:
    """Every writer's check: a label outside the class list is a ValidationError naming the items.
    A dataset without class names has no label in its list: its labelled items are refused too
    (they would be written with an empty class list, and read back as other classes)."""
    classes = len(dataset.categories)
    bad: list[str] = []
    for subset in dataset.subsets().values():
        labels = np.asarray(subset.labels)
        rows = np.flatnonzero((labels != NO_LABEL) & ((labels < 0) | (labels >= classes)))
        multi = [
            r for r, ls in subset.multi_labels.items() if any(not 0 <= x < classes for x in ls)
        ]
        ids = subset.id_column()
        bad += [f"{subset.name}:{ids[r]}" for r in sorted({*rows.tolist(), *multi})]
    if bad:
        raise ValidationError(
            f"labels outside the {classes} classes (0..{classes - 1})"
            if classes
            else "labelled items in a dataset without class names",
            bad,
            hint="add the missing class names to the categories, or fix the labels",
        )


def prepare_labels(
    subset: Subset, *, dtype: str, no_label: int | None, max_label: int | None
) -> np.ndarray:
    """The label column in the format's dtype, with the format's marker for unlabeled items."""
    ids = subset.id_column
    if subset.multi_labels:
        raise ValidationError(
            "items with more than one label cannot be stored in this format",
            [ids()[i] for i in sorted(subset.multi_labels)],
        )
    labels = np.asarray(subset.labels, dtype=np.int64)
    unlabeled = labels == NO_LABEL
    if unlabeled.any() and no_label is None:
        raise ValidationError(
            "items without a label cannot be stored in this format", ids()[unlabeled]
        )
    limit = max_label if max_label is not None else np.iinfo(dtype).max
    too_big = labels > limit
    if too_big.any():
        found = sorted(set(labels[too_big].tolist()))
        raise ValidationError(
            f"label indices {found[:5]} are above {limit}, the largest this format holds",
            ids()[too_big],
        )
    negative = (labels < 0) & ~unlabeled
    if negative.any():
        raise ValidationError("negative label indices", ids()[negative])
    out = labels.copy()
    if no_label is not None:
        out[unlabeled] = no_label
    return out.astype(dtype)


def prepare_images(
    subset: Subset, *, shape: tuple[int, ...], dtype: str
) -> tuple[np.ndarray | None, np.ndarray]:
    """(images present, stacked in the format's shape and dtype; mask of items having one)."""
    count = len(subset)
    if subset.images is None:
        return None, np.zeros(count, dtype=bool)
    if isinstance(subset.images, np.ndarray):
        stacked = _squeeze_channel(subset.images, shape, batch=True)
        if stacked.shape[1:] != shape:
            raise ValidationError(
                f"images are {_shape_text(subset.images.shape[1:])}, this format holds "
                f"{_shape_text(shape)} single-channel images",
                subset.id_column(),
                hint=conversion_hint([subset.images.shape[1:]], shape),
            )
        return _convert_dtype(stacked, dtype, subset.id_column), np.ones(count, dtype=bool)
    has_image = np.array([image is not None for image in subset.images], dtype=bool)
    present = [_squeeze_channel(np.asarray(i), shape) for i in subset.images if i is not None]
    wrong = [
        (index, image.shape)
        for index, image in zip(np.flatnonzero(has_image), present, strict=True)
        if image.shape != shape
    ]
    if wrong:
        ids = subset.id_column()
        shapes = sorted({_shape_text(s) for _, s in wrong})
        raise ValidationError(
            f"images of shape {', '.join(shapes[:5])} where this format holds "
            f"{_shape_text(shape)} single-channel images",
            [ids[index] for index, _ in wrong],
            hint=conversion_hint([s for _, s in wrong], shape),
        )
    if not present:
        return np.zeros((0, *shape), dtype=dtype), has_image
    ids = subset.id_column()[has_image]
    return _convert_dtype(np.stack(present), dtype, lambda: ids), has_image


def conversion_hint(found: list[tuple[int, ...]], shape: tuple[int, ...]) -> str:
    """The save options that would make images of the `found` shapes fit `shape`."""
    size = _shape_text(shape)
    options = []
    if any(len(s) > len(shape) and s[-1] > 1 for s in found):
        options.append("grayscale=True (--grayscale)")
    if any(tuple(s[: len(shape)]) != shape for s in found):
        options.append(f"resize='{size}' (--resize {size})")
    options.append(
        "mnistify=True (--mnistify, LeCun's normalisation; add invert=True / --invert "
        "for dark ink on light paper)"
    )
    return "to convert them on saving, pass " + " or ".join(options)


def _squeeze_channel(images: np.ndarray, shape: tuple[int, ...], batch: bool = False):
    lead = 1 if batch else 0
    if images.ndim == lead + len(shape) + 1 and images.shape[-1] == 1:
        return images[..., 0]
    return images


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _convert_dtype(images: np.ndarray, dtype: str, ids: Callable[[], np.ndarray]) -> np.ndarray:
    """Converts pixel arrays to `dtype` when no value changes; otherwise names the items (`ids`
    is called only then: millions of default ids are not made for nothing)."""
    target = np.dtype(dtype)
    if images.dtype == target:
        return images
    if images.dtype == bool:
        return images.astype(target)
    flat = images.reshape(len(images), -1)
    if target.kind in "iu":
        info = np.iinfo(target)
        with np.errstate(invalid="ignore"):
            ok = (flat >= info.min) & (flat <= info.max)
            if images.dtype.kind == "f":
                ok &= np.isfinite(flat) & (flat == np.round(flat))
        bad_rows = ~ok.all(axis=1)
        if bad_rows.any():
            raise ValidationError(
                f"pixel values that are not whole numbers in {info.min}..{info.max} "
                f"(found dtype {images.dtype})",
                ids()[bad_rows],
                hint=f"scale and round the images to {dtype} first",
            )
    return images.astype(target)


def prepare_subset(
    subset: Subset,
    *,
    image_shape: tuple[int, ...],
    image_dtype: str,
    label_dtype: str,
    no_label: int | None,
    max_label: int | None,
    side: SideFile | None,
    save_media: bool,
) -> PreparedSubset:
    """Validates and converts one subset for writing; raises ValidationError naming the items."""
    labels = prepare_labels(subset, dtype=label_dtype, no_label=no_label, max_label=max_label)
    if save_media:
        images, has_image = prepare_images(subset, shape=image_shape, dtype=image_dtype)
    else:
        images, has_image = None, np.zeros(len(subset), dtype=bool)
    custom_ids = None if subset.default_ids else subset.id_column()
    sizes = None
    if images is not None and not has_image.all():
        sizes = np.zeros((len(subset), 2), dtype=np.int64)
        sizes[has_image] = image_shape[:2]
    if (custom_ids is not None or sizes is not None) and side is None:
        raise ValidationError(
            "this format has no place for custom item ids or items without image",
            subset.id_column()[:10],
        )
    rows = side_rows_for(custom_ids, sizes, side) if side is not None else SideRows()
    return PreparedSubset(subset.name, labels, images, has_image, rows)
