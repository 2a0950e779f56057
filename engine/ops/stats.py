"""Pixel statistics for normalisation (mean and std per subset, on a 0..1 scale for integer
pixels, as `transforms.Normalize((0.1307,), (0.3081,))` uses them) and image size histograms.

Integer pixels are summed exactly (Python integers), chunk by chunk, so the figures are exact
and memory stays flat on large subsets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from engine.compute.pool import resolve_workers, run_chunks
from engine.compute.progress import Progress
from engine.model import Subset

_CHUNK = 8192
#: subsets of fewer uniform images are summed in the calling process (unless workers= says)
_POOL_ROWS = 200_000


@dataclass
class PixelStats:
    """Running sums over images: per channel count, sum, sum of squares."""

    scale: float | None = None
    count: int = 0
    sums: list = field(default_factory=list)
    squares: list = field(default_factory=list)

    def add(self, images: np.ndarray) -> None:
        """Adds a batch (N, H, W) or (N, H, W, C) of one dtype."""
        if images.size == 0:
            return
        channels = images.shape[-1] if images.ndim == 4 else 1
        flat = images.reshape(-1, channels)
        if self.scale is None:
            self.scale = _scale_of(images.dtype)
        exact = images.dtype.kind in "uib"
        work = flat.astype(np.int64 if exact else np.float64)
        sums = work.sum(axis=0)
        squares = np.einsum("ij,ij->j", work, work)
        if not self.sums:
            self.sums = [0] * channels
            self.squares = [0] * channels
        if len(self.sums) != channels:
            raise ValueError("images with different channel counts in one subset")
        for c in range(channels):
            self.sums[c] += int(sums[c]) if exact else float(sums[c])
            self.squares[c] += int(squares[c]) if exact else float(squares[c])
        self.count += len(flat)

    def merge(self, other: PixelStats) -> None:
        """Adds the sums of `other` (figures of another chunk of the same subset)."""
        if not other.count:
            return
        if self.scale is None:
            self.scale = other.scale
        if not self.sums:
            self.sums = [0] * len(other.sums)
            self.squares = [0] * len(other.sums)
        if len(self.sums) != len(other.sums):
            raise ValueError("images with different channel counts in one subset")
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
        self.squares = [a + b for a, b in zip(self.squares, other.squares, strict=True)]
        self.count += other.count

    def mean_std(self) -> list[tuple[float, float]]:
        """(mean, population std) per channel, divided by the pixel scale."""
        result = []
        for total, squares in zip(self.sums, self.squares, strict=True):
            n = self.count
            if isinstance(total, int):
                mean = total / n
                variance = (n * squares - total * total) / (n * n)
            else:
                mean = total / n
                variance = max(squares / n - mean * mean, 0.0)
            scale = self.scale or 1.0
            result.append((mean / scale, variance**0.5 / scale))
        return result


def _scale_of(dtype: np.dtype) -> float:
    if dtype.kind == "u" or dtype.kind == "i":
        return float(np.iinfo(dtype).max)
    return 1.0


def subset_pixel_stats(
    subset: Subset,
    into: Iterable[PixelStats] = (),
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> PixelStats:
    """The pixel statistics of one subset (also added to each accumulator in `into`).

    Uniform images are summed in chunks of rows on the executor of the work (local processes
    for big subsets, a Dask cluster when one is named), merged in chunk order, so the figures
    are the same wherever the chunks ran.
    """
    stats = PixelStats()
    sinks = [stats, *into]
    images = subset.images
    if images is None:
        return stats
    if isinstance(images, np.ndarray):
        count = len(images)
        bounds = [(a, min(a + _CHUNK, count)) for a in range(0, count, _CHUNK)]
        processes = resolve_workers(workers, count if count >= _POOL_ROWS else 0)
        parts = run_chunks(
            _chunk_stats,
            [(images[a:b],) for a, b in bounds],
            workers=processes,
            sizes=[b - a for a, b in bounds],
            progress=progress,
        )
        for part in parts:
            for sink in sinks:
                sink.merge(part)
        return stats
    for image in images:
        if image is None:
            continue
        batch = np.asarray(image)[None]
        if batch.ndim == 3 or batch.ndim == 4:
            for sink in sinks:
                sink.add(batch)
        if progress is not None:
            progress.update(1)
    return stats


def _chunk_stats(images: np.ndarray) -> PixelStats:
    """Worker: the sums of one chunk of rows."""
    stats = PixelStats()
    stats.add(np.asarray(images))
    return stats


def size_histogram(subset: Subset) -> Counter:
    """Counts of image sizes `HxW` (`HxWxC` with channels), `none` for items without image."""
    images = subset.images
    if images is None:
        return Counter({"none": len(subset)})
    if isinstance(images, np.ndarray):
        return Counter({_size_text(images.shape[1:]): len(images)})
    return Counter("none" if image is None else _size_text(np.shape(image)) for image in images)


def _size_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)
