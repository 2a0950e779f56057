"""What individual family members declare: EMNIST's transposed storage and splits, QMNIST's label
tables, row-range subsets, plain-label alternative and xz files."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from spec_data import synthetic_dataset, synthetic_subset

import engine
from engine import Dataset
from engine.codecs.idx.container import idx_header_bytes
from engine.model import Subset
from engine.registry import get_format

EMNIST = get_format("emnist").spec
QMNIST = get_format("qmnist").spec


def beside(folder: Path, name: str) -> Path:
    """A folder next to `folder` (an output is never written inside the input it was read from)."""
    return folder.with_name(f"{folder.name}-{name}")


# --- EMNIST -----------------------------------------------------------------------------------


def test_emnist_images_are_stored_transposed_and_loaded_upright(tmp_path: Path) -> None:
    dataset = synthetic_dataset(EMNIST, (("train", 3),))
    engine.save(dataset, "emnist", tmp_path / "out", split="letters", compression="")
    file = tmp_path / "out" / "emnist-letters-train-images-idx3-ubyte"
    stored = np.frombuffer(file.read_bytes(), np.uint8, offset=16).reshape(3, 28, 28)
    np.testing.assert_array_equal(stored, dataset["train"].images.swapaxes(1, 2))
    (tmp_path / "out" / "labels.txt").unlink()  # the letters split's own classes, not ours
    loaded = engine.load("emnist", tmp_path / "out")
    np.testing.assert_array_equal(loaded["train"].images, dataset["train"].images)
    assert loaded.categories[0] == "N/A" and loaded.categories[1:] == tuple(
        "abcdefghijklmnopqrstuvwxyz"
    )


@pytest.mark.parametrize(
    ("split", "count", "absent"),
    [
        ("byclass", 62, ""),
        ("bymerge", 47, "cijklmopsuvwxyz"),
        ("balanced", 47, "cijklmopsuvwxyz"),
        ("letters", 27, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("digits", 10, "abcABC"),
        ("mnist", 10, "abcABC"),
    ],
)
def test_emnist_split_classes(split: str, count: int, absent: str, tmp_path: Path) -> None:
    engine.save(synthetic_dataset(EMNIST), "emnist", tmp_path / split, split=split)
    (tmp_path / split / "labels.txt").unlink()  # the spec's classes for the split, not ours
    loaded = engine.load("emnist", tmp_path / split)
    assert len(loaded.categories) == count
    assert not set(absent) & set(loaded.categories)


def test_emnist_split_is_needed_to_save_and_must_exist(tmp_path: Path) -> None:
    dataset = synthetic_dataset(EMNIST)
    with pytest.raises(ValueError, match=r"split=.*balanced"):
        engine.save(dataset, "emnist", tmp_path / "a")
    with pytest.raises(ValueError, match="no split 'weird'"):
        engine.save(dataset, "emnist", tmp_path / "b", split="weird")
    with pytest.raises(TypeError, match=r"unknown option .colour"):
        engine.save(dataset, "emnist", tmp_path / "c", split="digits", colour="red")
    assert not any(tmp_path.iterdir())


def test_emnist_folder_with_two_splits_needs_a_choice(tmp_path: Path) -> None:
    folder = tmp_path / "both"
    engine.save(synthetic_dataset(EMNIST, seed=1), "emnist", tmp_path / "d", split="digits")
    engine.save(synthetic_dataset(EMNIST, seed=2), "emnist", tmp_path / "b", split="balanced")
    folder.mkdir()
    for part in ("d", "b"):
        for file in (tmp_path / part).glob("emnist-*"):
            file.rename(folder / file.name)
    with pytest.raises(ValueError, match="balanced, digits"):
        engine.load("emnist", folder)
    balanced = engine.load("emnist", folder, split="balanced")
    expected = synthetic_dataset(EMNIST, seed=2)
    np.testing.assert_array_equal(balanced["train"].images, expected["train"].images)
    assert len(balanced.categories) == 47
    assert engine.load("emnist", folder, split="digits", subset="test").subsets().keys() == {"test"}


def test_emnist_balanced_folder_is_detected_with_its_split(tmp_path: Path) -> None:
    folder = tmp_path / "emnist"
    engine.save(synthetic_dataset(EMNIST), "emnist", folder, split="balanced")
    (folder / "labels.txt").unlink()
    found = engine.detect(folder, evidence=True)
    assert found[0].format == "emnist"
    assert found[0].options == {"split": "balanced"}
    assert found[0].score > found[1].score
    assert len(engine.load(None, folder).categories) == 47


# --- QMNIST -----------------------------------------------------------------------------------


def labels_table(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 100_000, (count, 8)).astype(np.int32)
    table[:, 0] = rng.integers(0, 10, count)
    return table


def write_idx_file(path: Path, array: np.ndarray, dtype: str) -> None:
    disk = array.astype(np.dtype(dtype).newbyteorder(">"))
    payload = idx_header_bytes(dtype, array.shape) + disk.tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    elif path.suffix == ".xz":
        payload = lzma.compress(payload)
    path.write_bytes(payload)


def test_qmnist_label_table_round_trips_byte_exact(tmp_path: Path) -> None:
    table = labels_table(5)
    write_idx_file(tmp_path / "qmnist-train-labels-idx2-int", table, "int32")
    loaded = engine.load("qmnist", tmp_path)
    subset = loaded["train"]
    np.testing.assert_array_equal(subset.labels, table[:, 0])
    np.testing.assert_array_equal(subset.attributes["writer_id"], table[:, 2])
    assert subset[3].attributes["nist_index"] == table[3, 5]
    engine.save(loaded, "qmnist", beside(tmp_path, "out"), compression="")
    written = (beside(tmp_path, "out") / "qmnist-train-labels-idx2-int").read_bytes()
    assert written == (tmp_path / "qmnist-train-labels-idx2-int").read_bytes()


def test_qmnist_test10k_and_test50k_are_row_ranges_of_test(tmp_path: Path) -> None:
    table = labels_table(60_000)
    write_idx_file(tmp_path / "qmnist-test-labels-idx2-int", table, "int32")
    whole = engine.load("qmnist", tmp_path)
    assert list(whole.subsets()) == ["test"]  # views are loaded only on request
    first = engine.load("qmnist", tmp_path, subset="test10k")["test10k"]
    rest = engine.load("qmnist", tmp_path, subset="test50k")["test50k"]
    assert (len(first), len(rest)) == (10_000, 50_000)
    np.testing.assert_array_equal(first.labels, table[:10_000, 0])
    np.testing.assert_array_equal(rest.attributes["hsf_series"], table[10_000:, 1])


def test_qmnist_view_of_a_too_short_test_file_is_a_format_error(tmp_path: Path) -> None:
    write_idx_file(tmp_path / "qmnist-test-labels-idx2-int", labels_table(20), "int32")
    with pytest.raises(engine.FormatError, match=r"test10k.*holds only 20 items"):
        engine.load("qmnist", tmp_path, subset="test10k")


def test_qmnist_plain_idx1_test_labels_are_read(tmp_path: Path) -> None:
    labels = np.arange(12, dtype=np.uint8) % 10
    write_idx_file(tmp_path / "qmnist-test-labels-idx1-ubyte.gz", labels, "uint8")
    loaded = engine.load("qmnist", tmp_path)
    np.testing.assert_array_equal(loaded["test"].labels, labels)
    assert loaded["test"].attributes == {}
    assert engine.detect(tmp_path)[0] == "qmnist"


def test_qmnist_idx2_labels_win_over_idx1(tmp_path: Path) -> None:
    table = labels_table(4)
    write_idx_file(tmp_path / "qmnist-test-labels-idx2-int.gz", table, "int32")
    write_idx_file(tmp_path / "qmnist-test-labels-idx1-ubyte.gz", np.zeros(4, np.uint8), "uint8")
    loaded = engine.load("qmnist", tmp_path)
    np.testing.assert_array_equal(loaded["test"].labels, table[:, 0])


def test_qmnist_nist_subset_is_xz_both_ways(tmp_path: Path) -> None:
    table = labels_table(7)
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    write_idx_file(tmp_path / "xnist-labels-idx2-int.xz", table, "int32")
    write_idx_file(tmp_path / "xnist-images-idx3-ubyte.xz", images, "uint8")
    loaded = engine.load("qmnist", tmp_path)
    np.testing.assert_array_equal(loaded["nist"].images, images)
    engine.save(loaded, "qmnist", beside(tmp_path, "out"))
    assert sorted(p.name for p in (beside(tmp_path, "out")).iterdir()) == [
        "labels.txt",
        "xnist-images-idx3-ubyte.xz",
        "xnist-labels-idx2-int.xz",
    ]
    raw = lzma.decompress((beside(tmp_path, "out") / "xnist-labels-idx2-int.xz").read_bytes())
    assert raw == lzma.decompress((tmp_path / "xnist-labels-idx2-int.xz").read_bytes())


def test_mnist_to_qmnist_fills_unknown_attributes(tmp_path: Path) -> None:
    mnist = synthetic_dataset(get_format("mnist").spec)
    engine.save(mnist, "qmnist", tmp_path / "q", compression="")
    raw = np.frombuffer((tmp_path / "q" / "qmnist-train-labels-idx2-int").read_bytes()[12:], ">i4")
    table = raw.reshape(-1, 8)
    np.testing.assert_array_equal(table[:, 0], mnist["train"].labels)
    assert (table[:, 1:7] == -1).all() and (table[:, 7] == 0).all()


def test_qmnist_attributes_that_do_not_fit_int32_are_a_validation_error(tmp_path: Path) -> None:
    subset = synthetic_subset(QMNIST, "train", 3)
    subset.attributes["writer_id"] = np.array([1, 2**40, 3])
    dataset = Dataset([subset], QMNIST.classes)
    with pytest.raises(engine.ValidationError, match="writer_id") as caught:
        engine.save(dataset, "qmnist", tmp_path / "out")
    assert caught.value.item_ids == ["1"]
    assert not (tmp_path / "out").exists()


def test_qmnist_attributes_from_items_are_written(tmp_path: Path) -> None:
    items = [
        engine.DatasetItem(
            id=i,
            subset="train",
            image=np.full((28, 28), i, np.uint8),
            annotations=[engine.Label(i)],
            attributes={"writer_id": 100 + i},
        )
        for i in range(3)
    ]
    dataset = engine.Dataset.from_iterable(items, categories=[str(d) for d in range(10)])
    engine.save(dataset, "qmnist", tmp_path / "out")
    back = engine.load("qmnist", tmp_path / "out")["train"]
    np.testing.assert_array_equal(back.attributes["writer_id"], [100, 101, 102])
    np.testing.assert_array_equal(back.attributes["hsf_series"], [-1, -1, -1])


def test_qmnist_ignores_plain_mnist_files(tmp_path: Path) -> None:
    write_idx_file(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8), "uint8")
    with pytest.raises(engine.UnknownFormatError, match="no qmnist files"):
        engine.load("qmnist", tmp_path)
    assert "qmnist" not in engine.detect(tmp_path)


def test_subset_model_rows_stay_views(tmp_path: Path) -> None:
    table = labels_table(12_000)
    write_idx_file(tmp_path / "qmnist-test-labels-idx2-int", table, "int32")
    view = engine.load("qmnist", tmp_path, subset="test10k")["test10k"]
    assert isinstance(view, Subset)
    assert view.attributes["writer_id"].base is not None  # a slice of the file's array


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=arrays(
        np.int32,
        st.tuples(st.integers(0, 12), st.just(8)),
        elements=st.integers(-(2**31), 2**31 - 1),
    ),
    images=st.booleans(),
)
def test_qmnist_random_tables_round_trip(table: np.ndarray, images: bool, tmp_path: Path) -> None:
    table[:, 0] = np.abs(table[:, 0]) % 10
    out = tmp_path / f"out{np.random.default_rng().integers(1 << 30)}"
    labels = table[:, 0].copy()
    attributes = {
        column.name: table[:, index].copy()
        for index, column in enumerate(QMNIST.layout.labels.columns)
        if index
    }
    pixels = np.zeros((len(table), 28, 28), np.uint8) if images else None
    dataset = Dataset([Subset("train", labels, pixels, attributes=attributes)], QMNIST.classes)
    engine.save(dataset, "qmnist", out, compression="")
    raw = (out / "qmnist-train-labels-idx2-int").read_bytes()
    assert raw == idx_header_bytes("int32", table.shape) + table.astype(">i4").tobytes()
    back = engine.load("qmnist", out)["train"]
    np.testing.assert_array_equal(back.labels, labels)
    for name, column in attributes.items():
        np.testing.assert_array_equal(back.attributes[name], column)
