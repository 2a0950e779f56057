"""A local check of the near-duplicate threshold with real data (../shared/data, never committed):
2,000 copies planted among the 10,000 MNIST test digits (identical, shifted by one pixel in 8
directions, gaussian noise of sigma 8, noise and a shift, identical with another label, uniform
noise of +-8) must all be found at the default threshold, and nothing else; then the MNIST and
KMNIST test sets as they are: pairs at the default threshold, the closest distances, a sheet each.

Run: `python benchmarks/check_dedup_real.py [--sheets DIR]` (stops with a message when the data is
absent).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _common import SHARED_DATA, require_real_data

import engine
from engine.io.atomic_file import write_file_atomically
from engine.model import Subset
from engine.ops.duplicate_sheet import duplicate_sheet, sheet_png

KINDS = ["identical", "shifted", "noisy", "noisy+shifted", "relabelled", "uniform noise"]
SHIFTS = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)]


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    padded = np.pad(image, 1)
    return padded[1 - dy : 29 - dy, 1 - dx : 29 - dx]


def planted(images: np.ndarray, labels: np.ndarray, count: int = 2000):
    rng = np.random.default_rng(1)
    rows = rng.choice(len(images), count, replace=False)
    copies, copy_labels, kinds = [], [], []
    for number, row in enumerate(rows):
        image, label, kind = images[row], int(labels[row]), number % 6
        if kind == 1:
            image = shifted(image, *SHIFTS[number % 8])
        elif kind in (2, 3):
            base = shifted(image, 1, -1) if kind == 3 else image
            image = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).round().astype(np.uint8)
        elif kind == 4:
            label = (label + 1) % 10
        elif kind == 5:
            image = np.clip(image.astype(int) + rng.integers(-8, 9, image.shape), 0, 255)
        copies.append(np.asarray(image, dtype=np.uint8).copy())
        copy_labels.append(label)
        kinds.append(kind)
    return rows, np.stack(copies), np.array(copy_labels, np.int32), np.array(kinds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sheets", type=Path, help="folder for the sheets (default: a temp one)")
    args = parser.parse_args()
    mnist = SHARED_DATA / "mnist"
    require_real_data("check_dedup_real", mnist / "t10k-images-idx3-ubyte.gz")
    sheets = args.sheets or Path(tempfile.mkdtemp(prefix="dedup-sheets-"))
    sheets.mkdir(parents=True, exist_ok=True)
    test = engine.load("mnist", mnist)["test"]
    images, labels = test.images, np.asarray(test.labels, np.int32)

    rows, copies, copy_labels, kinds = planted(images, labels)
    dataset = engine.Dataset(
        {"train": Subset("train", labels, images), "test": Subset("test", copy_labels, copies)},
        [str(d) for d in range(10)],
    )
    found = engine.find_duplicates(dataset)
    hits = {
        p.row_b for p in found.pairs if (p.subset_a, p.subset_b) == ("train", "test")
        and rows[p.row_b] == p.row_a
    }  # fmt: skip
    missed = [k for k in range(len(rows)) if k not in hits]
    print(f"planted: {len(rows)} copies among {len(images)} MNIST test digits, threshold "
          f"{found.threshold:g}")  # fmt: skip
    for kind, name in enumerate(KINDS):
        mine = kinds == kind
        print(f"  {name:14} found {sum(k in hits for k in np.flatnonzero(mine))} of {mine.sum()}")
    near = [p.distance for p in found.pairs if p.kind == "near"]
    print(f"  recall {len(hits) / len(rows):.4f}; precision {len(hits) / max(len(found), 1):.4f} "
          f"({len(found)} pairs reported); largest planted distance {max(near):.3f}; "
          f"missed {missed[:10]}")  # fmt: skip

    sources = [("MNIST test", engine.load("mnist", mnist))]
    kmnist = SHARED_DATA / "reference" / "kmnist"
    if kmnist.exists():
        sources.append(("KMNIST test", engine.load("kmnist", kmnist)))
    for name, data in sources:
        default = engine.find_duplicates(data)
        loose = engine.find_duplicates(data, threshold=0.3)
        closest = sorted(p.distance for p in loose.pairs)[:5]
        sheet = sheets / f"{name.replace(' ', '_').lower()}_pairs_0.3.png"
        picture = duplicate_sheet(data, loose, title=f"{name}: pairs within 0.3")
        write_file_atomically(sheet, sheet_png(picture))
        print(f"{name}: {default.totals()} at {default.threshold:g}; within 0.3: {len(loose)} "
              f"pairs, closest {[round(d, 3) for d in closest]}; sheet {sheet}")  # fmt: skip


if __name__ == "__main__":
    main()
