"""IDX-family figures on the real files in ../shared/data, measured side by side (median of 5):

- engine.verify of a folder / floor (hashlib MD5 of each file, plus the gzip-decompressed
  content's MD5 where verify needs it), both streamed;
- engine.load('qmnist') of the published label tables / floor (gzip/xz decompress + np.frombuffer);
- engine.detect of the MNIST and QMNIST folders, in milliseconds.

Run: python3 benchmarks/bench_family.py
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import tempfile
from pathlib import Path

import numpy as np
from _common import SHARED_DATA, median_time, require_real_data

import engine

DATA = SHARED_DATA
MNIST = DATA / "mnist"
QMNIST = DATA / "reference" / "qmnist"
RUNS = 5


def hash_floor() -> None:
    for file in sorted(MNIST.iterdir()):
        hashlib.md5(file.read_bytes()).hexdigest()
        if file.name.startswith("t10k"):  # recompressed here: verify needs their content MD5
            hashlib.md5(gzip.decompress(file.read_bytes())).hexdigest()


def qmnist_floor() -> None:
    for file in sorted(QMNIST.glob("*idx2-int*")):
        opener = lzma.decompress if file.suffix == ".xz" else gzip.decompress
        raw = opener(file.read_bytes())
        np.frombuffer(raw, ">i4", offset=12).reshape(-1, 8).astype(np.int32)


def main() -> int:
    require_real_data("bench_family", MNIST, QMNIST)
    verify = median_time(lambda: engine.verify(MNIST), RUNS)
    floor = median_time(hash_floor, RUNS)
    print(
        f"verify mnist folder: {verify * 1e3:.1f} ms, floor {floor * 1e3:.1f} ms, "
        f"ratio {verify / floor:.2f}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        qmnist_only = Path(scratch)  # the label tables alone (links; nothing is copied)
        for file in QMNIST.glob("*idx2-int*"):
            (qmnist_only / file.name).symlink_to(file)
        load = median_time(lambda: engine.load("qmnist", qmnist_only), RUNS)
    floor = median_time(qmnist_floor, RUNS)
    print(
        f"load qmnist tables (523,953 rows x 8): {load * 1e3:.1f} ms, floor {floor * 1e3:.1f} ms, "
        f"ratio {load / floor:.2f}"
    )
    for name, folder in (("mnist", MNIST), ("qmnist", QMNIST)):
        took = median_time(lambda folder=folder: engine.detect(folder), RUNS)
        print(f"detect {name} folder: {took * 1e3:.1f} ms -> {engine.detect(folder)[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
