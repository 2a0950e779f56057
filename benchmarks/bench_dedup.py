"""Duplicates at scale, side by side in one run: ``engine.find_duplicates`` (exact + near) against
the brute force a user would write with numpy (every pair's pixel L2 distance, by blocked matrix
products of the 784 pixels, pairs under a relative distance counted).

Inputs (distinct images, like a real dataset): the real MNIST test set (10,000; from
../shared/data, else synthetic digits) and, for 70,000, its 7 flips and transposes; for 1,000,000,
random variants of the 8 flips and transposes (rotated up to 20 degrees, scaled 0.8 to 1.2,
gaussian noise of sigma 8). The brute force beyond ``--brute-max`` images is measured on a
sub-sample of that size and extrapolated by (n / sub-sample)^2, as the pairs grow; the row says so.

Each figure is the median of ``--runs`` runs (1,000,000: ``--million-runs``), with the peak growth
of this process's RssAnon (anonymous memory) during our runs.

    python3 benchmarks/bench_dedup.py [--runs 3] [--sizes 10000,70000,1000000] [--brute-max 20000]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import threading
import time
from collections.abc import Callable

import numpy as np
from _common import MNIST_DATA

import engine
from engine.model import Subset

BRUTE_BLOCK = 2048
BRUTE_DISTANCE = 0.2  # relative L2 distance under which the brute force counts a pair


def rss_anon_kb() -> int:
    with open(f"/proc/{os.getpid()}/status") as handle:
        for line in handle:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


class PeakAnon:
    """The peak growth of this process's RssAnon (MiB) while the block runs, sampled every 5 ms."""

    def __enter__(self) -> PeakAnon:
        self.base = self.peak = rss_anon_kb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_anon_kb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_kb())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.base) / 1024


def timed(action: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def base_images() -> tuple[np.ndarray, str]:
    path = MNIST_DATA / "t10k-images-idx3-ubyte.gz"
    if path.exists():
        data = gzip.decompress(path.read_bytes())
        return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28), "real MNIST test"
    from engine.ops.synthetic import synthesize_digits

    return synthesize_digits(10_000, seed=1)[0], "synthetic digits (no ../shared/data)"


def dihedral(images: np.ndarray, count: int) -> np.ndarray:
    flipped = images.transpose(0, 2, 1)
    views = [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1], flipped]
    views += [flipped[:, :, ::-1], flipped[:, ::-1], flipped[:, ::-1, ::-1]]
    return np.ascontiguousarray(np.concatenate(views)[:count])


def variants(images: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """``count`` random variants of ``images``: rotated, scaled (nearest pixel), noisy."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, 28, 28), dtype=np.uint8)
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij")).reshape(2, -1) - 13.5
    for start in range(0, count, 50_000):
        size = min(50_000, count - start)
        pick = rng.integers(0, len(images), size)
        angle = np.radians(rng.uniform(-20, 20, size))
        scale = rng.uniform(0.8, 1.2, size)
        cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
        rows = cos[:, None] * grid[0] - sin[:, None] * grid[1] + 13.5
        cols = sin[:, None] * grid[0] + cos[:, None] * grid[1] + 13.5
        r = np.clip(np.rint(rows), 0, 27).astype(np.intp)
        c = np.clip(np.rint(cols), 0, 27).astype(np.intp)
        inside = (rows > -0.5) & (rows < 27.5) & (cols > -0.5) & (cols < 27.5)
        moved = images[pick[:, None], r, c] * inside
        noisy = moved + rng.normal(0, 8, moved.shape)
        out[start : start + size] = np.clip(noisy, 0, 255).reshape(size, 28, 28)
    return out


def brute_force(images: np.ndarray) -> int:
    """Pairs under BRUTE_DISTANCE by every pair's pixel L2 distance, in blocks."""
    flat = images.reshape(len(images), -1).astype(np.float32) / 255
    norms = (flat * flat).sum(axis=1)
    found = 0
    for i in range(0, len(flat), BRUTE_BLOCK):
        left = flat[i : i + BRUTE_BLOCK]
        for j in range(i, len(flat), BRUTE_BLOCK):
            right = flat[j : j + BRUTE_BLOCK]
            squared = norms[i : i + len(left), None] + norms[None, j : j + len(right)]
            squared -= 2 * (left @ right.T)
            limit = BRUTE_DISTANCE**2 * np.maximum(
                norms[i : i + len(left), None], norms[None, j : j + len(right)]
            )
            close = squared <= limit
            if i == j:
                close = np.triu(close, 1)
            found += int(close.sum())
    return found


def dataset_of(images: np.ndarray) -> engine.Dataset:
    labels = np.zeros(len(images), dtype=np.int32)
    cut = len(images) * 6 // 7
    return engine.Dataset(
        {
            "train": Subset("train", labels[:cut], images[:cut]),
            "test": Subset("test", labels[cut:], images[cut:]),
        },
        ["digit"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--million-runs", type=int, default=1)
    parser.add_argument("--sizes", default="10000,70000,1000000")
    parser.add_argument("--brute-max", type=int, default=20_000)
    args = parser.parse_args()
    base, origin = base_images()
    print(f"inputs from {origin}; {os.cpu_count()} CPUs; numpy {np.__version__}")
    header = f"{'images':>9}  {'method':34} {'ours s':>8} {'brute s':>12} {'ratio':>7}"
    print(header + f" {'pairs':>8} {'peak MiB':>9}")
    for count in (int(s) for s in args.sizes.split(",")):
        images = (
            dihedral(base, count)
            if count <= 8 * len(base)
            else variants(dihedral(base, 80_000), count)
        )
        dataset = dataset_of(images)
        runs = args.million_runs if count >= 500_000 else args.runs
        with PeakAnon() as peak:
            ours, report = timed(lambda d=dataset: engine.find_duplicates(d), runs)
        sample = images[: args.brute_max]
        brute, _ = timed(lambda s=sample: brute_force(s), args.runs)
        estimated = len(sample) < count
        brute_total = brute * (count / len(sample)) ** 2
        brute_text = f"~{brute_total:.1f}" if estimated else f"{brute_total:.1f}"
        assert hasattr(report, "method")
        print(
            f"{count:>9}  {report.method:34} {ours:>8.2f} {brute_text:>12} "
            f"{brute_total / ours:>7.1f} {len(report):>8} {peak.growth_mib:>9.0f}"
        )
        if estimated:
            print(f"{'':11}(brute force measured on {len(sample)} images, scaled by the pairs)")


if __name__ == "__main__":
    main()
