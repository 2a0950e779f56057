"""NPZ layouts (KMNIST's published archives, Kuzushiji-49) and Kaggle's Digit Recognizer CSVs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.codecs.npz.container import read_npz_array


def beside(folder: Path, name: str) -> Path:
    """A folder next to `folder` (an output is never written inside the input it was read from)."""
    return folder.with_name(f"{folder.name}-{name}")


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


def test_kmnist_reads_and_writes_its_published_npz(tiny_dataset, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5).astype(np.uint8)
    _npz(tmp_path / "kmnist-test-imgs.npz", arr_0=images)
    _npz(tmp_path / "kmnist-test-labels.npz", arr_0=labels)
    assert engine.detect(tmp_path)[0] == "kmnist"
    ds = engine.load(None, tmp_path)
    assert ds.categories[:2] == ("o", "ki")
    np.testing.assert_array_equal(ds["test"].images, images)
    assert ds["test"].labels.tolist() == labels.tolist()
    engine.save(ds, "kmnist", beside(tmp_path, "out"), layout="npz")
    assert sorted(p.name for p in (beside(tmp_path, "out")).iterdir()) == [
        "kmnist-test-imgs.npz",
        "kmnist-test-labels.npz",
        "labels.txt",
    ]
    with np.load(beside(tmp_path, "out") / "kmnist-test-imgs.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["arr_0"], images)
    engine.save(ds, "kmnist", beside(tmp_path, "idx"))
    assert (beside(tmp_path, "idx") / "t10k-images-idx3-ubyte.gz").is_file()


def test_k49_round_trip_and_classes(tiny_dataset, tmp_path: Path) -> None:
    ds = engine.Dataset(tiny_dataset.subsets(), engine.get_format("k49").spec.classes)
    assert len(ds.categories) == 49
    engine.save(ds, "k49", tmp_path / "out")
    assert (tmp_path / "out" / "k49-train-imgs.npz").is_file()
    back = engine.load(None, tmp_path / "out")
    assert back.categories == ds.categories
    np.testing.assert_array_equal(back["train"].images, ds["train"].images)
    with pytest.raises(engine.ValidationError, match="custom item ids"):
        subset = ds["test"].take([1, 0])
        engine.save(engine.Dataset([subset], ds.categories), "k49", tmp_path / "ids")


def test_lying_npy_header_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "k49-train-imgs.npz"
    member = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": (2_000_000_000, 28, 28)}
    np.lib.format.write_array_header_1_0(member, header)
    member.write(bytes(2 * 28 * 28))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("arr_0.npy", member.getvalue())
    with pytest.raises(engine.FormatError, match="declares shape") as caught:
        read_npz_array(path, "arr_0")
    assert caught.value.path == str(path)


def test_object_arrays_missing_arrays_and_garbage_are_format_errors(tmp_path: Path) -> None:
    objects = tmp_path / "objects.npz"
    with open(objects, "wb") as handle:
        np.savez(handle, arr_0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(engine.FormatError, match="pickles"):
        read_npz_array(objects, "arr_0")
    other = _npz(tmp_path / "other.npz", images=np.zeros(3))
    with pytest.raises(engine.FormatError, match="no array 'arr_0'"):
        read_npz_array(other, "arr_0")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04" + b"\0" * 50)
    with pytest.raises(engine.FormatError, match=r"garbage\.npz"):
        read_npz_array(garbage, "arr_0")


def test_npz_of_the_wrong_shape_names_the_file(tmp_path: Path) -> None:
    _npz(tmp_path / "k49-train-imgs.npz", arr_0=np.zeros((2, 32, 32), np.uint8))
    _npz(tmp_path / "k49-train-labels.npz", arr_0=np.zeros(2, np.uint8))
    with pytest.raises(engine.FormatError, match=r"k49-train-imgs\.npz.*shape \(32, 32\)"):
        engine.load("k49", tmp_path)


KAGGLE_TRAIN = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
KAGGLE_TEST = ",".join(f"pixel{i}" for i in range(784)) + "\n"


def _kaggle(tmp_path: Path, rows: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, rows)
    train = rng.integers(0, 256, (rows, 784))
    test = rng.integers(0, 256, (2, 784))
    lines = [KAGGLE_TRAIN] + [
        ",".join(map(str, [label, *row])) + "\n" for label, row in zip(labels, train, strict=True)
    ]
    (tmp_path / "train.csv").write_text("".join(lines))
    (tmp_path / "test.csv").write_text(
        KAGGLE_TEST + "".join(",".join(map(str, r)) + "\n" for r in test)
    )
    return labels, train.reshape(-1, 28, 28), test.reshape(-1, 28, 28)


def test_kaggle_files_read_write_and_detect(tmp_path: Path) -> None:
    labels, train, test = _kaggle(tmp_path)
    assert engine.detect(tmp_path)[0] == "kaggle_digits"
    ds = engine.load(None, tmp_path)
    assert ds["train"].labels.tolist() == labels.tolist()
    np.testing.assert_array_equal(ds["train"].images, train)
    assert ds["test"].labels.tolist() == [-1, -1]
    np.testing.assert_array_equal(ds["test"].images, test)
    engine.save(ds, "kaggle_digits", beside(tmp_path, "out"))
    for name in ("train.csv", "test.csv"):
        assert (beside(tmp_path, "out") / name).read_text() == (tmp_path / name).read_text()
    engine.save(ds, "mnist_csv", beside(tmp_path, "mnist_csv"))
    assert engine.detect(beside(tmp_path, "mnist_csv"))[0] == "mnist_csv"


def test_kaggle_refuses_what_it_cannot_hold_and_bad_rows(tmp_path: Path) -> None:
    _kaggle(tmp_path)
    ds = engine.load("kaggle_digits", tmp_path)
    mixed = ds["train"].take([0, 1])
    mixed.labels[0] = -1
    with pytest.raises(engine.ValidationError, match="without a label"):
        engine.save(engine.Dataset([mixed], ds.categories), "kaggle_digits", tmp_path / "x")
    text = (tmp_path / "test.csv").read_text().splitlines()
    (tmp_path / "test.csv").write_text("\n".join([text[0], text[1] + ",7", text[2]]) + "\n")
    with pytest.raises(engine.FormatError, match=r"test\.csv: line 2.*no label column"):
        engine.load("kaggle_digits", tmp_path)


def test_emnist_stored_orientation_is_the_transposed_view(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    upright = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    subset = engine.Subset(name="train", labels=np.array([1, 2, 3], np.int32), images=upright)
    classes = engine.get_format("emnist").spec.variant("digits").classes
    engine.save(engine.Dataset([subset], classes), "emnist", tmp_path, split="digits")
    stored = engine.load("emnist", tmp_path, orientation="stored")
    np.testing.assert_array_equal(stored["train"].images, upright.swapaxes(1, 2))
    np.testing.assert_array_equal(engine.load("emnist", tmp_path)["train"].images, upright)
    engine.save(stored, "emnist", beside(tmp_path, "again"), split="digits", orientation="stored")
    np.testing.assert_array_equal(
        engine.load("emnist", beside(tmp_path, "again"))["train"].images, upright
    )
    with pytest.raises(ValueError, match="orientation"):
        engine.load("emnist", tmp_path, orientation="sideways")
    with pytest.raises(TypeError, match="orientation"):
        engine.load("mnist", tmp_path, orientation="stored")


def test_npz_member_claiming_impossible_expansion_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(10, np.uint8))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("arr_0.npy", buffer.getvalue())
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (1 << 31).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(engine.FormatError, match=r"bomb\.npz.*more than deflate can expand"):
        read_npz_array(path, "arr_0")


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"(2, 3)", b"(2, 3 "), (b"'shape': (", b"'shape': (("), (b"{", b"[")],
)
def test_mangled_npy_header_dict_is_a_format_error(tmp_path: Path, old: bytes, new: bytes) -> None:
    """numpy tokenizes the header's dict literal: an unbalanced one is no bare TokenError."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 3), np.uint8))
    path = tmp_path / "mangled.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("arr_0.npy", buffer.getvalue().replace(old, new, 1))
    with pytest.raises(engine.FormatError) as caught:
        read_npz_array(path, "arr_0")
    assert caught.value.path == str(path)
