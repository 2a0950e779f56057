"""Shared fixtures: small datasets made by our own code (no network, no ../shared)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Dataset
from engine.model import Subset


def make_dataset(counts=(("train", 7), ("test", 5)), *, seed: int = 0) -> Dataset:
    """A tiny random MNIST-shaped dataset: uint8 28x28 images, labels 0..9."""
    rng = np.random.default_rng(seed)
    subsets = [
        Subset(
            name=name,
            labels=rng.integers(0, 10, count).astype(np.int32),
            images=rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
        )
        for name, count in counts
    ]
    return Dataset(subsets, [str(d) for d in range(10)])


@pytest.fixture
def tiny_dataset() -> Dataset:
    return make_dataset()


@pytest.fixture
def hf_datasets(tmp_path, monkeypatch):
    """The `datasets` module, offline, with its home and caches under tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    return datasets
