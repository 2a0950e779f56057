"""The floor `mnist-engine info` is measured against: gunzip a folder's two MNIST test files and
count the labels, in plain Python (no engine, no numpy). Usage: floor_count_labels.py FOLDER."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path


def main(folder: Path) -> None:
    images = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())[8:]
    counts = [labels.count(bytes([digit])) for digit in range(10)]
    print(f"{len(labels)} items, {len(images) - 16} pixel bytes: {counts}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
