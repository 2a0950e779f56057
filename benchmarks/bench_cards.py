"""What a dataset card costs: saving 70,000 items with and without ``card=True``, side by side
in one run (median of N runs), for Parquet and MNIST's IDX files, and the card alone.

Builds the items from the real MNIST test set in ../shared/data/mnist (10,000 images tiled 7x,
train 60,000 / test 10,000), read so the provenance has real source files to hash. The card's
work is hashing the written files (SHA-256) and the source files (SHA-256 and MD5, content MD5
of the published names), so its cost follows the bytes, not the items.

    python3 benchmarks/bench_cards.py [--runs 5] [--data ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, median_time, require_real_data

import engine
from engine.model import Subset


def build(data: Path) -> engine.Dataset:
    """70,000 items from the real test set (tiled 7x), with the read's provenance kept."""
    loaded = engine.load("mnist", data, subset="test")
    test = loaded["test"]
    images = np.concatenate([test.images] * 7)
    labels = np.concatenate([test.labels] * 7)
    dataset = engine.Dataset(
        [
            Subset("train", labels[:60000], images[:60000]),
            Subset("test", labels[60000:], images[60000:]),
        ],
        [str(d) for d in range(10)],
    )
    dataset.lineage = loaded.lineage
    return dataset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=MNIST_DATA)
    args = parser.parse_args()
    require_real_data("bench_cards", args.data / "t10k-images-idx3-ubyte.gz")
    dataset = build(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-cards-"))
    try:
        print(f"{'format':10} {'save':>9} {'save+card':>10} {'ratio':>6}  (median of {args.runs})")
        for fmt in ("parquet", "mnist"):
            times = {}
            for card in (False, True):
                out = work / f"{fmt}-{card}"

                def save(out: Path = out, card: bool = card, fmt: str = fmt) -> None:
                    shutil.rmtree(out, ignore_errors=True)
                    engine.save(dataset, fmt, out, card=card)

                save()  # warm: the worker pool and imports are not the card's cost
                times[card] = median_time(save, args.runs)
            ratio = times[True] / times[False]
            print(f"{fmt:10} {times[False]:8.2f}s {times[True]:9.2f}s {ratio:6.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
