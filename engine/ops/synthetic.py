"""Synthetic MNIST-like digits rendered by this project, so samples never include real MNIST."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from engine.ops.normalize import mnistify, whole_number

__all__ = ["synthesize_digits"]

_CANVAS = 96  # side of the high-resolution drawing canvas, in pixels
_FIELD = 28  # MNIST image side
_BOX = 20  # MNIST digit box side

_FONT_SIZES = (52, 68)  # half-open range of font sizes (the glyph is about 0.7 of the size)
_STROKE_WIDTHS = (0, 3)  # half-open range of extra outline widths that thicken the strokes
_MAX_ROTATION_DEG = 15.0
# Horizontal slant as x offset per unit of y (y grows downwards), so negative values lean the top
# to the right; the range favours that, as most handwriting does.
_SHEAR = (-0.35, 0.1)
_X_SCALE = (0.75, 1.15)  # horizontal squeeze/stretch relative to the font's glyph width
_MAX_SHIFT = 3.0  # translation in canvas pixels
_ELASTIC_GRID = 4  # coarse grid of random displacements, smoothly upsampled to the canvas
_ELASTIC_SIGMA = 2.2  # standard deviation of the coarse displacements, in canvas pixels
_BLUR_RADIUS = (0.5, 1.2)  # Gaussian blur radius range on the canvas, for soft grey edges
# Ones are drawn as the font's plain sans-serif "I" stem, the commonest handwritten form; this share
# of them gets a short drawn flag. The font's own "1" has a long flag that reads as a "7" once
# rotated or slanted.
_FLAGGED_ONE_SHARE = 0.4
_FLAG_LENGTH = (0.25, 0.4)  # flag length as a fraction of the stem height
_FLAG_ANGLE_DEG = (20.0, 45.0)  # flag angle below the horizontal


def synthesize_digits(
    count: int, *, seed: int = 0, classes: Sequence[int] = range(10)
) -> tuple[np.ndarray, np.ndarray]:
    """Render ``count`` MNIST-style digits with balanced labels, deterministic for a given seed.

    Returns ``(images, labels)``: uint8 arrays of shape ``(count, 28, 28)`` and ``(count,)``.
    Glyphs come from Pillow's bundled scalable font (no system font needed) and are varied by
    size, stroke width, rotation, slant, stretch, elastic warp and blur before ``mnistify``.
    Output is reproducible for one Pillow/FreeType build; other builds may differ by a few levels.
    """
    count = whole_number("count", count, minimum=0)
    digits = _validate_classes(classes)
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(count, digits, rng)
    images = np.empty((count, _FIELD, _FIELD), dtype=np.uint8)
    for index, label in enumerate(labels):
        images[index] = _render_digit(int(label), rng)
    return images, labels


def _validate_classes(classes: Sequence[int]) -> list[int]:
    """Check that ``classes`` is a non-empty set of distinct digits 0..9 and return it as a list."""
    digits: list[int] = []
    for value in classes:
        if isinstance(value, bool):
            raise ValueError("classes must hold integers 0..9, got a bool")
        try:
            digit = operator.index(value)
        except TypeError:
            raise ValueError(f"classes must hold integers 0..9, got {value!r}") from None
        if not 0 <= digit <= 9:
            raise ValueError(f"classes must hold digits 0..9, got {digit}")
        if digit in digits:
            raise ValueError(f"classes must not repeat a digit, got {digit} twice")
        digits.append(digit)
    if not digits:
        raise ValueError("classes must not be empty")
    return digits


def _balanced_labels(count: int, digits: list[int], rng: np.random.Generator) -> np.ndarray:
    """Cycle through the classes, each cycle in a fresh shuffled order, so counts differ by <= 1."""
    cycles = -(-count // len(digits))
    order = [rng.permutation(digits) for _ in range(cycles)]
    flat = np.concatenate(order) if order else np.empty(0, dtype=np.int64)
    return flat[:count].astype(np.uint8)


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Load Pillow's bundled scalable default font at ``size`` pixels, cached per size."""
    try:
        return ImageFont.load_default(size=size)
    except ImportError as exc:
        raise RuntimeError("synthesize_digits needs Pillow built with FreeType support") from exc


def _render_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one distorted digit on a large canvas and normalise it to a 28x28 MNIST image."""
    size = int(rng.integers(*_FONT_SIZES))
    stroke = int(rng.integers(*_STROKE_WIDTHS))
    canvas = Image.new("L", (_CANVAS, _CANVAS), 0)
    _draw_glyph(ImageDraw.Draw(canvas), digit, _font(size), stroke, rng)
    warped = _warp(np.asarray(canvas, dtype=np.float64), rng)
    blurred = Image.fromarray(np.clip(np.rint(warped), 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(float(rng.uniform(*_BLUR_RADIUS)))
    )
    image = mnistify(np.asarray(blurred, dtype=np.float64), box=_BOX, field=_FIELD)
    peak = int(image.max())
    if peak == 0:
        return image
    # Stretch so the stroke cores reach 255, as they do in MNIST.
    return np.clip(np.rint(image * (255.0 / peak)), 0, 255).astype(np.uint8)


def _draw_glyph(
    draw: ImageDraw.ImageDraw,
    digit: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    stroke: int,
    rng: np.random.Generator,
) -> None:
    """Draw the digit in white at the canvas centre, a one as a stem with an optional short flag."""
    centre = (_CANVAS / 2.0, _CANVAS / 2.0)
    glyph = "I" if digit == 1 else str(digit)
    draw.text(centre, glyph, fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255)
    if digit != 1 or rng.random() >= _FLAGGED_ONE_SHARE:
        return
    left, top, right, bottom = draw.textbbox(
        centre, glyph, font=font, anchor="mm", stroke_width=stroke
    )
    width = right - left
    length = rng.uniform(*_FLAG_LENGTH) * (bottom - top)
    angle = math.radians(rng.uniform(*_FLAG_ANGLE_DEG))
    start = ((left + right) / 2.0, top + width / 2.0)
    end = (start[0] - length * math.cos(angle), start[1] + length * math.sin(angle))
    draw.line([start, end], fill=255, width=max(1, round(0.7 * width)))


def _warp(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply a random rotation, slant, stretch, shift and smooth elastic warp in one resampling."""
    angle = math.radians(rng.uniform(-_MAX_ROTATION_DEG, _MAX_ROTATION_DEG))
    shear = rng.uniform(*_SHEAR)
    x_scale = rng.uniform(*_X_SCALE)
    shift = rng.uniform(-_MAX_SHIFT, _MAX_SHIFT, size=2)
    coarse = rng.normal(0.0, _ELASTIC_SIGMA, size=(2, _ELASTIC_GRID, _ELASTIC_GRID))

    # Forward map (x, y) about the centre: stretch x, slant, then rotate; we need its inverse to
    # find, for every output pixel, the source pixel it comes from.
    cos, sin = math.cos(angle), math.sin(angle)
    rotate = np.array([[cos, -sin], [sin, cos]])
    slant = np.array([[1.0, shear], [0.0, 1.0]])
    stretch = np.array([[x_scale, 0.0], [0.0, 1.0]])
    inverse = np.linalg.inv(rotate @ slant @ stretch)

    size = ink.shape[0]
    centre = (size - 1) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    dx = xs - centre - shift[0]
    dy = ys - centre - shift[1]
    src_x = inverse[0, 0] * dx + inverse[0, 1] * dy + centre
    src_y = inverse[1, 0] * dx + inverse[1, 1] * dy + centre
    src_x += _upsample(coarse[0], size)
    src_y += _upsample(coarse[1], size)
    return _bilinear(ink, src_y, src_x)


def _upsample(grid: np.ndarray, size: int) -> np.ndarray:
    """Smoothly enlarge a small displacement grid to ``size`` x ``size`` with bicubic filtering."""
    image = Image.fromarray(grid.astype(np.float32)).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float64)


def _bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample ``image`` at fractional coordinates, reading zero outside its bounds."""
    height, width = image.shape
    padded = np.pad(image, 1)
    rows = np.clip(rows + 1.0, 0.0, height + 0.999)
    cols = np.clip(cols + 1.0, 0.0, width + 0.999)
    r0 = np.floor(rows).astype(np.intp)
    c0 = np.floor(cols).astype(np.intp)
    fr = rows - r0
    fc = cols - c0
    top = padded[r0, c0] * (1.0 - fc) + padded[r0, c0 + 1] * fc
    bottom = padded[r0 + 1, c0] * (1.0 - fc) + padded[r0 + 1, c0 + 1] * fc
    return top * (1.0 - fr) + bottom * fr
