"""Writing 70,000 PNGs (image_dir export): one process vs the process pool, side by side.

Uses the real MNIST test images tiled 7x from ../shared/data/mnist (or `--synthetic` digits
rendered by our own code). Prints the median of several alternating runs and the ratio. The
output goes to tmpfs (/dev/shm) by default, so the figure is our encode-and-write work rather
than the disk's writeback; `--dir PATH` measures on another file system. Dirty pages are synced
before every run so one run's writeback does not slow the next.

    python3 benchmarks/bench_encode.py [--runs 3] [--count 70000] [--workers N] [--synthetic]
                                       [--dir PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import MNIST_DATA

import engine
from engine import Dataset
from engine.compute.pool import available_cpus
from engine.model import Subset

DATA = MNIST_DATA


def images(count: int, synthetic: bool) -> np.ndarray:
    """`count` 28x28 uint8 digits: real MNIST test images tiled, or synthetic ones."""
    if synthetic:
        from engine.ops.synthetic import synthesize_digits

        base, _ = synthesize_digits(min(count, 10_000), seed=0)
    else:
        if not (DATA / "t10k-images-idx3-ubyte.gz").is_file():
            sys.exit(f"bench_encode: {DATA} is absent; run with --synthetic to use rendered digits")
        base = engine.load("mnist", DATA / "t10k-images-idx3-ubyte.gz")["test"].images
    reps = -(-count // len(base))
    return np.concatenate([base] * reps)[:count]


def timed_save(dataset: Dataset, workers: int, scratch: Path) -> float:
    out = scratch / f"out-{workers}"
    os.sync()
    start = time.perf_counter()
    engine.save(dataset, "image_dir", out, workers=workers, progress=False)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=70_000)
    parser.add_argument("--workers", type=int, default=available_cpus())
    parser.add_argument("--synthetic", action="store_true")
    default_dir = "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir()
    parser.add_argument("--dir", default=default_dir, help="where to write (default: tmpfs)")
    args = parser.parse_args()
    pixels = images(args.count, args.synthetic)
    labels = np.zeros(len(pixels), np.int32)
    dataset = Dataset([Subset("default", labels, pixels)], [str(d) for d in range(10)])
    warnings.simplefilter("ignore", UserWarning)  # image_dir says it drops labels
    source = "synthetic digits" if args.synthetic else "MNIST test images tiled"
    print(
        f"writing {len(pixels)} PNGs ({source}) into {args.dir}; {available_cpus()} CPUs; "
        f"{args.runs} runs each"
    )
    one, pool = [], []
    with tempfile.TemporaryDirectory(prefix="bench-encode-", dir=args.dir) as scratch:
        for _ in range(args.runs):
            one.append(timed_save(dataset, 1, Path(scratch)))
            pool.append(timed_save(dataset, args.workers, Path(scratch)))
    single, parallel = statistics.median(one), statistics.median(pool)
    print(f"1 process:       median {single:6.2f} s  ({len(pixels) / single:8.0f} images/s)")
    rate = len(pixels) / parallel
    print(f"{args.workers} processes:     median {parallel:6.2f} s  ({rate:8.0f} images/s)")
    print(f"speed-up: {single / parallel:.2f}x")


if __name__ == "__main__":
    main()
