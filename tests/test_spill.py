"""Large inputs in bounded memory: compressed IDX payloads, CSV pixels and row selections above
the spill threshold go to a memory-mapped temporary file and give the same data (and errors)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import engine
from engine.errors import FormatError
from engine.model import filearray
from tests.conftest import make_dataset


@pytest.fixture
def small_spill(monkeypatch):
    monkeypatch.setattr(filearray, "SPILL_BYTES", 4096)


def _spilled(array: np.ndarray) -> bool:
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    return isinstance(root, np.memmap)


def test_compressed_idx_and_csv_read_through_a_spill_give_the_same_data(tmp_path, small_spill):
    dataset = make_dataset((("train", 40), ("test", 30)))
    engine.save(dataset, "mnist", tmp_path / "idx")
    engine.save(dataset, "mnist_csv", tmp_path / "csv")
    for fmt in ("mnist", "mnist_csv"):
        loaded = engine.load(fmt, tmp_path / fmt.replace("mnist_", "").replace("mnist", "idx"))
        for name in ("train", "test"):
            assert _spilled(loaded[name].images)
            assert np.array_equal(loaded[name].images, dataset[name].images)
            assert np.array_equal(loaded[name].labels, dataset[name].labels)


def test_take_gathers_a_large_selection_into_a_spill(small_spill):
    subset = make_dataset((("train", 50),))["train"]
    rows = np.flatnonzero(subset.labels % 2 == 0)
    taken = subset.take(rows)
    assert _spilled(taken.images)
    assert np.array_equal(taken.images, subset.images[rows])


def _gz_idx(path, count: int, payload: bytes) -> None:
    path.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, count, 28, 28) + payload, mtime=0))


@pytest.mark.parametrize(
    ("count", "extra", "message"),
    [
        (20, -784 * 5, r"payload ends early.*15 whole items"),
        (10, 100, r"100 unexpected bytes after the payload"),
    ],
)
def test_streamed_payload_errors_name_the_file(tmp_path, small_spill, count, extra, message):
    images = tmp_path / "train-images-idx3-ubyte.gz"
    _gz_idx(images, count, bytes(784 * count + extra))
    from engine.codecs.idx.streamed import read_idx_spilled
    from specs.mnist import SPEC

    with pytest.raises(FormatError, match=message) as caught:
        read_idx_spilled(images, SPEC.layout.images)
    assert caught.value.path == str(images)


def test_a_header_claiming_more_than_gzip_can_hold_is_refused_before_reading(tmp_path, small_spill):
    images = tmp_path / "train-images-idx3-ubyte.gz"
    _gz_idx(images, 10**7, bytes(784))
    from engine.codecs.idx.streamed import read_idx_spilled
    from specs.mnist import SPEC

    with pytest.raises(FormatError, match="cannot inflate to more than"):
        read_idx_spilled(images, SPEC.layout.images)


def test_a_project_merging_large_sources_joins_their_images_in_a_spill(small_spill):
    from engine.ops.merge import merge_datasets

    first, second = make_dataset(seed=1), make_dataset(seed=2)
    merged = merge_datasets([("a", first), ("b", second)])
    assert _spilled(merged["train"].images)
    both = np.concatenate([first["train"].images, second["train"].images])
    assert np.array_equal(merged["train"].images, both)
