"""A contact sheet of duplicate pairs: the closest pairs side by side, each with its subsets, ids,
labels and distance, so a person can look at them rather than read ids."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from engine.model import Dataset
from engine.ops.duplicates import DuplicatePair, DuplicateReport
from engine.ops.preview import BACKGROUND, GAP, INK, MUTED, _font, _paste

#: pairs whose labels disagree are captioned in this colour
WARNING = (180, 30, 30)
COLUMNS = 4


def duplicate_sheet(
    dataset: Dataset,
    report: DuplicateReport,
    *,
    limit: int = 48,
    scale: int = 3,
    title: str = "",
) -> Image.Image:
    """The first ``limit`` pairs of ``report`` (exact ones, then the closest), ``COLUMNS`` pairs
    a row; label-disagreeing pairs captioned in red."""
    pairs = report.pairs[:limit]
    cell = 28 * scale
    caption = 44
    pair_width = 2 * cell + 3 * GAP
    pair_height = cell + caption + GAP
    columns = max(1, min(COLUMNS, len(pairs)))
    rows = -(-len(pairs) // columns) if pairs else 1
    header = 40
    width = max(columns * (pair_width + 2 * GAP) + GAP, 360)
    height = header + rows * (pair_height + 2 * GAP) + GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    totals = report.totals()
    heading = title or "duplicates"
    draw.text((2 * GAP, 6), heading, fill=INK, font=_font(16))
    summary = (
        f"{totals['exact']} exact, {totals['near']} near (threshold {report.threshold:g}), "
        f"{totals['leaked']} across subsets, {totals['disagree']} labels disagree"
        + (f"; {len(pairs)} of {len(report)} shown" if len(report) > len(pairs) else "")
    )
    draw.text((2 * GAP, 24), summary, fill=MUTED, font=_font(12))
    if not pairs:
        draw.text((2 * GAP, header + 8), "no duplicates found", fill=INK, font=_font(14))
    small = _font(11)
    for index, pair in enumerate(pairs):
        x = GAP + (index % columns) * (pair_width + 2 * GAP)
        y = header + (index // columns) * (pair_height + 2 * GAP)
        for side, (subset, row) in enumerate(
            ((pair.subset_a, pair.row_a), (pair.subset_b, pair.row_b))
        ):
            image = dataset[subset].image_at(row)
            if image is not None:
                _paste(sheet, np.asarray(image), x + side * (cell + GAP), y, cell)
        colour = WARNING if pair.label_disagrees else INK
        lines = [
            f"{pair.kind} d={pair.distance:.3f}",
            _side(pair, "a"),
            _side(pair, "b"),
        ]
        for number, line in enumerate(lines):
            draw.text(
                (x, y + cell + 2 + number * 13), line, fill=colour if number else INK, font=small
            )
    return sheet


def _side(pair: DuplicatePair, side: str) -> str:
    subset, item, label = (
        (pair.subset_a, pair.id_a, pair.label_a)
        if side == "a"
        else (pair.subset_b, pair.id_b, pair.label_b)
    )
    shown = "-" if label is None else str(label)
    text = f"{subset}:{item} [{shown}]"
    return text if len(text) <= 30 else text[:27] + "..."


def sheet_png(sheet: Image.Image) -> bytes:
    """The sheet encoded as PNG bytes."""
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
