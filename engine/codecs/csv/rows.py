"""Vectorised formatting of CSV rows of small integers: every value becomes its text through a
lookup table of 4-byte cells (digits, then the separator, padded with NUL bytes), then the padding
is dropped in one C-level pass. No per-value `str()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from engine.compute.executors import Executor

ROWS_PER_PIECE = 2048
_CELL = 4


def cell_table(low: int, high: int, separator: str) -> np.ndarray:
    """`low..high` as text followed by `separator`, NUL-padded into little-endian uint32 cells."""
    cells = np.zeros(high - low + 1, dtype="<u4")
    for index, value in enumerate(range(low, high + 1)):
        text = f"{value}{separator}".encode("ascii")
        if len(text) > _CELL:
            raise ValueError(f"{value}{separator!r} does not fit a {_CELL}-byte cell")
        cells[index] = int.from_bytes(text.ljust(_CELL, b"\0"), "little")
    return cells


class RowFormatter:
    """Formats rows `label, pixel, pixel, ...` (or `label` alone, for an item without image)."""

    def __init__(
        self, label_range: tuple[int, int], pixel_range: tuple[int, int], delimiter: str
    ) -> None:
        self.label_low, self.pixel_low = label_range[0], pixel_range[0]
        self.labels = cell_table(*label_range, delimiter)
        self.labels_alone = cell_table(*label_range, "\n")
        self.pixels = cell_table(*pixel_range, delimiter)
        self.pixels_last = cell_table(*pixel_range, "\n")

    def pieces(
        self, labels: np.ndarray, images: np.ndarray | None, has_image: np.ndarray
    ) -> Iterator[bytes]:
        """The text of every row, a few thousand rows per piece.

        `images` holds the images present, in order, flattened or not; `has_image` marks the rows
        that have one (the others are written as their label alone).
        """
        width = 0 if images is None or len(images) == 0 else int(np.prod(images.shape[1:]))
        flat = None if images is None or width == 0 else images.reshape(len(images), width)
        image_rows = np.cumsum(has_image) - 1
        for start in range(0, len(labels), ROWS_PER_PIECE):
            stop = min(start + ROWS_PER_PIECE, len(labels))
            cells = np.zeros((stop - start, 1 + width), dtype="<u4")
            label_codes = labels[start:stop].astype(np.int64) - self.label_low
            present = has_image[start:stop]
            cells[:, 0] = np.where(
                present, self.labels.take(label_codes), self.labels_alone.take(label_codes)
            )
            if flat is not None and present.any():
                picked = flat[image_rows[start:stop][present]].astype(np.int64) - self.pixel_low
                if present.all():
                    np.take(self.pixels, picked[:, :-1], out=cells[:, 1:-1])
                    cells[:, -1] = self.pixels_last.take(picked[:, -1])
                else:
                    cells[present, 1:-1] = self.pixels.take(picked[:, :-1])
                    cells[present, -1] = self.pixels_last.take(picked[:, -1])
            yield cells.tobytes().translate(None, b"\0")

    def pixel_pieces(self, images: np.ndarray) -> Iterator[bytes]:
        """The text of rows holding pixels only (files without a label column)."""
        flat = images.reshape(len(images), -1)
        for start in range(0, len(flat), ROWS_PER_PIECE):
            picked = flat[start : start + ROWS_PER_PIECE].astype(np.int64) - self.pixel_low
            cells = np.empty(picked.shape, dtype="<u4")
            np.take(self.pixels, picked[:, :-1], out=cells[:, :-1])
            cells[:, -1] = self.pixels_last.take(picked[:, -1])
            yield cells.tobytes().translate(None, b"\0")


def _format_rows(
    formatter: RowFormatter, labels: np.ndarray, images: np.ndarray | None, has_image: np.ndarray
) -> bytes:
    """Worker: the text of one chunk of rows (run where the executor runs it)."""
    return b"".join(formatter.pieces(labels, images, has_image))


def _format_pixel_rows(formatter: RowFormatter, images: np.ndarray) -> bytes:
    """Worker: the text of one chunk of pixel-only rows."""
    return b"".join(formatter.pixel_pieces(images))


def pieces_on(
    executor: Executor,
    formatter: RowFormatter,
    labels: np.ndarray | None,
    images: np.ndarray | None,
    has_image: np.ndarray,
) -> Iterator[bytes]:
    """The same text as ``formatter.pieces`` (or ``pixel_pieces`` when ``labels`` is None),
    formatted on ``executor`` a window of chunks at a time (2 per worker), so memory stays
    bounded by the window whatever the size of the subset."""
    rows = len(has_image)
    before = np.concatenate([[0], np.cumsum(has_image)])  # images before each row
    bounds = [(a, min(a + ROWS_PER_PIECE, rows)) for a in range(0, rows, ROWS_PER_PIECE)]
    window = max(2, 2 * executor.workers)
    for first in range(0, len(bounds), window):
        chunks: list[tuple[Any, ...]] = []
        for start, stop in bounds[first : first + window]:
            held = None if images is None else images[before[start] : before[stop]]
            if labels is None:
                chunks.append((formatter, held))
            else:
                chunks.append((formatter, labels[start:stop], held, has_image[start:stop]))
        work = _format_pixel_rows if labels is None else _format_rows
        yield from executor.map(work, chunks)
