"""Contact sheets: one labelled row of sample images per class (per subset if asked), scaled up
with crisp pixels so digits are readable, as a Pillow image ready to save as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.model import NO_LABEL, Dataset, Subset

BACKGROUND = (236, 236, 236)
INK = (20, 20, 20)
MUTED = (110, 110, 110)
GAP = 4


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def as_display(image: np.ndarray) -> np.ndarray:
    """An image as uint8 gray (H, W) or RGB (H, W, 3) for display."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype.kind in "ui":
        info = np.iinfo(array.dtype)
        low = 0 if info.min >= 0 or array.min() >= 0 else info.min
        return ((array.astype(np.float64) - low) / (info.max - low) * 255).round().astype(np.uint8)
    values = np.nan_to_num(array.astype(np.float64))
    top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
    return (np.clip(values / top, 0, 1) * 255).round().astype(np.uint8)


def _sample_rows(
    subset: Subset, label: int, count: int, rng: np.random.Generator | None
) -> np.ndarray:
    if subset.images is None:
        return np.zeros(0, dtype=np.int64)
    rows = np.flatnonzero(np.asarray(subset.labels) == label)
    if not subset.has_uniform_images:
        rows = np.array([r for r in rows if subset.images[r] is not None], dtype=np.int64)
    if rng is not None and len(rows) > count:
        return np.sort(rng.choice(rows, count, replace=False))
    return rows[:count]


def contact_sheet(
    dataset: Dataset,
    *,
    title: str = "",
    per_class: int = 12,
    scale: int = 3,
    by_subset: bool = False,
    subsets: Sequence[str] | None = None,
    seed: int | None = None,
) -> Image.Image:
    """A title, then per block (the dataset, or each subset) one labelled row per class."""
    chosen = subsets or list(dataset.subsets())
    parts = [dataset[name] for name in chosen]
    blocks = [(name, [dataset[name]]) for name in chosen] if by_subset else [("", parts)]
    cell = _cell_size(parts) * scale
    label_font, small_font, title_font = _font(max(14, cell // 3)), _font(13), _font(18)
    names = list(dataset.categories)
    labels = sorted({int(v) for p in parts for v in np.unique(p.labels)} - {NO_LABEL})
    classes = sorted(set(range(len(names))) | set(labels))
    has_unlabeled = any((np.asarray(p.labels) == NO_LABEL).any() for p in parts)
    rows_per_block = len(classes) + (1 if has_unlabeled else 0)
    label_width = 150
    width = label_width + per_class * (cell + GAP) + GAP
    header = 34 if title else 6
    block_header = 26 if by_subset else 0
    row_height = cell + GAP
    height = header + len(blocks) * (block_header + rows_per_block * row_height) + GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((GAP * 2, 8), title, fill=INK, font=title_font)
    rng = np.random.default_rng(seed) if seed is not None else None
    y = header
    for block_name, block in blocks:
        if by_subset:
            total = sum(len(p) for p in block)
            draw.text(
                (GAP * 2, y + 4), f"subset {block_name} ({total} items)", fill=INK, font=title_font
            )
            y += block_header
        for label in [*classes, *([NO_LABEL] if has_unlabeled else [])]:
            name = (
                "(no label)"
                if label == NO_LABEL
                else (names[label] if label < len(names) else f"#{label}")
            )
            total = sum(int((np.asarray(p.labels) == label).sum()) for p in block)
            caption = f"{label}" if label != NO_LABEL else "-"
            draw.text((GAP * 2, y + 2), caption, fill=INK, font=label_font)
            if name != caption:
                draw.text(
                    (GAP * 2, y + 2 + label_font.size + 2), name[:18], fill=INK, font=small_font
                )
            draw.text(
                (GAP * 2, y + 2 + label_font.size + 18),
                f"{total} items",
                fill=MUTED,
                font=small_font,
            )
            x = label_width
            shown = 0
            for part in block:
                for row in _sample_rows(part, label, per_class - shown, rng):
                    image = part.image_at(row)
                    assert image is not None  # _sample_rows picks rows that have an image
                    _paste(sheet, image, x, y, cell)
                    x += cell + GAP
                    shown += 1
            y += row_height
    return sheet


def _cell_size(parts: Sequence[Subset]) -> int:
    for part in parts:
        if isinstance(part.images, np.ndarray):
            return int(max(part.images.shape[1:3]))
        if part.images is not None:
            sizes = [max(np.shape(i)[:2]) for i in part.images if i is not None]
            if sizes:
                return int(np.median(sizes))
    return 28


def _paste(sheet: Image.Image, image: np.ndarray, x: int, y: int, cell: int) -> None:
    picture = Image.fromarray(as_display(image))
    factor = cell / max(picture.size)
    size = (max(1, round(picture.width * factor)), max(1, round(picture.height * factor)))
    resample = Image.Resampling.NEAREST if factor >= 1 else Image.Resampling.LANCZOS
    picture = picture.resize(size, resample).convert("RGB")
    sheet.paste(picture, (x + (cell - size[0]) // 2, y + (cell - size[1]) // 2))
