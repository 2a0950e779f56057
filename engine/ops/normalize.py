"""LeCun-style MNIST normalisation: crop to ink, fit a box, centre by mass in a square field."""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["center_of_mass", "mnistify"]

# ITU-R BT.601 luma weights for R, G, B.
_LUMA_601 = np.array([0.299, 0.587, 0.114])

# A pixel is ink when it exceeds both this absolute level (0..255 scale) and this fraction of the
# brightest pixel; the relative part keeps faint background noise out of the bounding box.
_INK_ABSOLUTE = 8.0
_INK_RELATIVE = 0.1


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Return the intensity-weighted (row, col) centroid of a 2-D image, used to centre digits."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"center_of_mass needs a 2-D image, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"center_of_mass needs a numeric image, got dtype {arr.dtype}")
    values = arr.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("center_of_mass needs finite intensities")
    if values.size and values.min() < 0:
        raise ValueError("center_of_mass needs non-negative intensities")
    total = values.sum()
    if not total > 0:
        raise ValueError("center_of_mass is undefined for an image with no positive intensity")
    rows = values.sum(axis=1) @ np.arange(values.shape[0]) / total
    cols = values.sum(axis=0) @ np.arange(values.shape[1]) / total
    return float(rows), float(cols)


def mnistify(
    image: np.ndarray, *, invert: bool = False, box: int = 20, field: int = 28
) -> np.ndarray:
    """Normalise a digit image the way MNIST was built, so any handwriting matches the dataset.

    The ink's bounding box is scaled (aspect preserved, anti-aliased) so its longer side is ``box``
    pixels, then pasted into a ``field`` x ``field`` uint8 canvas with its centre of mass moved to
    the geometric centre ``((field - 1) / 2, (field - 1) / 2)`` by a whole-pixel shift, clipped so
    the patch stays on the canvas. Ink is bright on dark; pass ``invert=True`` for dark on light.
    Integer inputs are read as 0..255, float inputs as 0..1 when their maximum is at most 1 and as
    0..255 otherwise. An image without ink yields an all-zero canvas.
    """
    box = whole_number("box", box)
    field = whole_number("field", field)
    if box > field:
        raise ValueError(f"box ({box}) must not exceed field ({field})")

    grey = _to_grey(image, invert=invert)
    canvas = np.zeros((field, field), dtype=np.float64)
    peak = float(grey.max())
    threshold = max(_INK_ABSOLUTE, _INK_RELATIVE * peak)
    ink = grey > threshold
    if not ink.any():
        return canvas.astype(np.uint8)

    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = np.where(ink, grey, 0.0)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    patch = _fit_box(crop, box)

    com_row, com_col = center_of_mass(patch)
    centre = (field - 1) / 2.0
    top = _place(centre - com_row, field - patch.shape[0])
    left = _place(centre - com_col, field - patch.shape[1])
    canvas[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def whole_number(name: str, value: int, *, minimum: int = 1) -> int:
    """An integer-like argument as int; TypeError for non-integers, ValueError below `minimum`."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


def _to_grey(image: np.ndarray, *, invert: bool) -> np.ndarray:
    """Convert a grey, RGB or RGBA array of any numeric dtype to float64 grey on a 0..255 scale."""
    arr = np.asarray(image)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"mnistify needs a numeric image, got dtype {arr.dtype}")
    if arr.ndim == 3:
        if arr.shape[2] not in (1, 3, 4):
            raise ValueError(
                f"mnistify needs 1, 3 or 4 channels in an (H, W, C) image, got shape {arr.shape}"
            )
    elif arr.ndim != 2:
        raise ValueError(f"mnistify needs an (H, W) or (H, W, C) image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"mnistify needs a non-empty image, got shape {arr.shape}")

    values = arr.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("mnistify needs finite pixel values")
    if arr.dtype.kind in "bf" and values.max() <= 1.0:
        values = values * 255.0
    values = np.clip(values, 0.0, 255.0)

    background = 255.0 if invert else 0.0
    if values.ndim == 2:
        grey = values
    elif values.shape[2] == 1:
        grey = values[:, :, 0]
    else:
        grey = values[:, :, :3] @ _LUMA_601
        if values.shape[2] == 4:
            alpha = values[:, :, 3] / 255.0
            grey = grey * alpha + background * (1.0 - alpha)
    return 255.0 - grey if invert else grey


def _fit_box(crop: np.ndarray, box: int) -> np.ndarray:
    """Resize a crop so its longer side is ``box`` pixels, keeping aspect, without ringing."""
    height, width = crop.shape
    scale = box / max(height, width)
    new_height = min(box, max(1, round(height * scale)))
    new_width = min(box, max(1, round(width * scale)))
    # BOX averages areas when shrinking (LeCun's anti-aliasing); BILINEAR avoids blockiness when
    # enlarging. Neither overshoots, so no halo of faint ringing pixels appears around strokes.
    from PIL import Image  # imported by the first mnistify

    resample = Image.Resampling.BOX if scale <= 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(crop.astype(np.float32)).resize((new_width, new_height), resample)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 255.0)


def _place(offset: float, limit: int) -> int:
    """Round a paste offset half-up and clip it to ``0..limit`` so the patch stays on canvas."""
    return int(min(max(np.floor(offset + 0.5), 0), limit))
