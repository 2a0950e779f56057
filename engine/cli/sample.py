"""Synthetic MNIST-like datasets made by our own code: the sample the project ships, and test data
users can generate for their pipelines (no real MNIST bytes are involved).
"""

from __future__ import annotations

from pathlib import Path

from engine.api import save
from engine.model import Dataset, Subset
from engine.ops.synthetic import synthesize_digits


def synthetic_dataset(train: int = 500, test: int = 200, *, seed: int = 0) -> Dataset:
    """A dataset of rendered digits with subsets `train` and `test` and classes "0".."9"."""
    subsets = []
    for offset, (name, count) in enumerate((("train", train), ("test", test))):
        if count <= 0:
            continue
        images, labels = synthesize_digits(count, seed=seed * 2 + offset)
        subsets.append(Subset(name=name, labels=labels.astype("int32"), images=images))
    return Dataset(subsets, [str(digit) for digit in range(10)])


def write_synthetic_dataset(
    path: str | Path,
    *,
    train: int = 500,
    test: int = 200,
    seed: int = 0,
    format: str = "mnist",
    overwrite: bool = False,
) -> Dataset:
    """Renders a synthetic dataset and saves it in `format` at `path`; returns it."""
    dataset = synthetic_dataset(train, test, seed=seed)
    save(dataset, format, path, overwrite=overwrite)
    return dataset
