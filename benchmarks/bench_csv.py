"""CSV codec speed and memory, measured side by side in one run (median of several runs).

Builds a 60,000-row `mnist_train.csv` in a temporary folder from the real MNIST test images in
../shared/data/mnist tiled six times, then compares:
- reading: engine.load vs pandas.read_csv(header=None, dtype=uint8) vs np.loadtxt(dtype=uint8);
- peak memory of engine.load (tracemalloc) vs the parsed payload (pixels + labels);
- writing: the engine's vectorised formatter vs a plain Python `",".join(map(str, row))` loop.

Run: python3 benchmarks/bench_csv.py [--runs N]   (pandas comes with the `bench` extra)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, median_time, require_real_data

import engine
from engine.codecs.csv.rows import RowFormatter

DATA = MNIST_DATA
IMAGES = DATA / "t10k-images-idx3-ubyte.gz"
LABELS = DATA / "t10k-labels-idx1-ubyte.gz"


def python_write(path: Path, labels: np.ndarray, pixels: np.ndarray) -> None:
    """The plain Python way: one `",".join(map(str, row))` per row."""
    with open(path, "w", encoding="ascii") as out:
        for label, row in zip(labels.tolist(), pixels.tolist(), strict=True):
            out.write(f"{label}," + ",".join(map(str, row)) + "\n")


def engine_write(path: Path, labels: np.ndarray, pixels: np.ndarray) -> None:
    formatter = RowFormatter((-1, 254), (0, 255), ",")
    with open(path, "wb") as out:
        for piece in formatter.pieces(labels, pixels, np.ones(len(labels), dtype=bool)):
            out.write(piece)


def peak_memory(function) -> int:
    """Peak bytes allocated (Python and numpy, as tracemalloc sees them) during `function()`."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    args = parser.parse_args()
    require_real_data("bench_csv", IMAGES, LABELS)
    try:
        import pandas
    except ImportError:
        print("bench_csv: pandas is missing; install the bench extra: pip install -e '.[bench]'")
        return 1

    images = np.tile(engine.read_idx(IMAGES), (6, 1, 1))
    labels = np.tile(engine.read_idx(LABELS), 6).astype(np.int16)
    pixels = images.reshape(len(images), -1)
    payload = images.nbytes + len(labels) * np.dtype(np.int32).itemsize
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "mnist_train.csv"
        engine_write(csv, labels, pixels)
        size_mb = csv.stat().st_size / 1e6
        print(f"file: {len(labels)} rows x 785 values, {size_mb:.1f} MB; runs: {args.runs}")

        loaded = engine.load("mnist_csv", csv)["train"]
        assert np.array_equal(loaded.images, images) and np.array_equal(loaded.labels, labels)
        ours = median_time(lambda: engine.load("mnist_csv", csv), args.runs)
        by_pandas = median_time(
            lambda: pandas.read_csv(csv, header=None, dtype=np.uint8).to_numpy(), args.runs
        )
        by_loadtxt = median_time(
            lambda: np.loadtxt(csv, delimiter=",", dtype=np.uint8), max(1, args.runs // 2)
        )
        print(f"read  engine.load          {ours:7.3f} s  ({size_mb / ours:6.1f} MB/s)")
        print(
            f"read  pandas.read_csv      {by_pandas:7.3f} s  -> engine is "
            f"{by_pandas / ours:.2f}x faster (target >= 2x)"
        )
        print(
            f"read  np.loadtxt          {by_loadtxt:7.3f} s  -> engine is "
            f"{by_loadtxt / ours:.2f}x faster (target >= 1x)"
        )
        peak = peak_memory(lambda: engine.load("mnist_csv", csv))
        print(
            f"peak memory of engine.load {peak / 1e6:.1f} MB for a {payload / 1e6:.1f} MB payload "
            f"-> {peak / payload:.2f}x (target <= 3x)"
        )

        out = Path(folder) / "written.csv"
        ours_write = median_time(lambda: engine_write(out, labels, pixels), args.runs)
        assert out.read_bytes() == csv.read_bytes()
        plain = median_time(lambda: python_write(out, labels, pixels), max(1, args.runs // 2))
        assert out.read_bytes() == csv.read_bytes()
        print(f"write engine formatter     {ours_write:7.3f} s")
        print(
            f"write Python join loop     {plain:7.3f} s  -> engine is "
            f"{plain / ours_write:.1f}x faster (target >= 10x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
