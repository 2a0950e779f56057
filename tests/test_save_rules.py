"""Saving never loses data: refusals name the items, writes are atomic, output is not clobbered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
import engine.codecs.idx.codec
from engine import OutputExistsError, ValidationError
from engine.model import NO_LABEL
from tests.conftest import make_dataset

ROOT = Path(__file__).resolve().parent.parent


def items_dataset(*items):
    return engine.Dataset.from_iterable(items, categories=[str(d) for d in range(10)])


def test_seed_example_one_runs_with_engine_as_dm(tmp_path, monkeypatch):
    """The seed's Example 1, verbatim but for the import line."""
    monkeypatch.chdir(tmp_path)
    import engine as dm

    dataset = dm.Dataset.from_iterable(
        [
            dm.DatasetItem(id=0, image=np.ones((28, 28)), annotations=[dm.Label(2)]),
            dm.DatasetItem(id=1, image=np.ones((28, 28)), annotations=[dm.Label(7)]),
        ],
        categories=[str(label) for label in range(10)],
    )
    dataset.export("./dataset", format="mnist")
    loaded = dm.Dataset.import_from("./dataset", "mnist")
    assert [(item.id, item.label) for item in loaded] == [("0", 2), ("1", 7)]
    assert all(item.image.dtype == np.uint8 and (item.image == 1).all() for item in loaded)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((32, 32), np.uint8), r"images (are|of shape) 32x32"),
        (np.zeros((28, 28, 3), np.uint8), r"images (are|of shape) 28x28x3"),
        (np.full((28, 28), 0.5), "pixel values that are not whole numbers in 0..255"),
        (np.full((28, 28), 256.0), "pixel values that are not whole numbers in 0..255"),
    ],
)
def test_images_the_format_cannot_hold_are_refused(tmp_path, image, message):
    dataset = items_dataset(
        engine.DatasetItem(id="ok", image=np.zeros((28, 28), np.uint8)),
        engine.DatasetItem(id="bad", image=image),
    )
    with pytest.raises(ValidationError, match=message) as caught:
        engine.save(dataset, "mnist", tmp_path / "out")
    assert "bad" in caught.value.item_ids
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind


def test_mixed_shapes_name_only_the_wrong_items(tmp_path):
    dataset = items_dataset(
        engine.DatasetItem(id="ok", image=np.zeros((28, 28), np.uint8)),
        engine.DatasetItem(id="big", image=np.zeros((30, 28), np.uint8)),
    )
    with pytest.raises(ValidationError, match="30x28") as caught:
        engine.save(dataset, "mnist", tmp_path / "out")
    assert caught.value.item_ids == ["big"]


@pytest.mark.parametrize("name", engine.formats())
def test_every_format_refuses_labels_outside_the_classes(tmp_path, name):
    spec = getattr(engine.get_format(name), "spec", None)
    options = {spec.variant_option: spec.variants[0].name} if spec and spec.variants else {}
    dataset = items_dataset(
        engine.DatasetItem(
            id="ok", image=np.zeros((28, 28), np.uint8), annotations=[engine.Label(3)]
        ),
        engine.DatasetItem(
            id="bad", image=np.zeros((28, 28), np.uint8), annotations=[engine.Label(11)]
        ),
    )
    with pytest.raises(ValidationError, match="outside the 10 classes") as caught:
        engine.save(dataset, name, tmp_path / "out", **options)
    assert caught.value.item_ids == ["default:bad"]
    assert not (tmp_path / "out").exists()


def test_several_labels_are_refused(tmp_path):
    dataset = items_dataset(
        engine.DatasetItem(
            id="two", image=np.zeros((28, 28)), annotations=[engine.Label(1), engine.Label(2)]
        )
    )
    with pytest.raises(ValidationError, match="more than one label") as caught:
        engine.save(dataset, "mnist", tmp_path / "out")
    assert caught.value.item_ids == ["two"]


def test_label_above_254_is_refused(tmp_path):
    dataset = engine.Dataset.from_iterable(
        [engine.DatasetItem(id="x", image=np.zeros((28, 28)), annotations=[engine.Label(255)])],
        categories=[str(c) for c in range(256)],
    )
    with pytest.raises(ValidationError, match=r"label indices \[255\] are above 254"):
        engine.save(dataset, "mnist", tmp_path / "out")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0.5, 1, 2], "whole class indices, found 0.5 at 0"),
        ([float("nan"), 1, 2], "found nan at 0"),
        (["a", "b", "c"], "class indices (integers)"),
        ([[0, 1], [1, 2], [2, 3]], "shape (3, 2)"),
        (np.array(["x", 1, 2], dtype=object), "class indices (integers)"),
    ],
)
def test_labels_that_are_no_class_indices_are_refused_before_any_write(tmp_path, labels, message):
    """A label 0.5 is not written as 0, text not compared as numbers, a table not written into
    a one-column file: the subset refuses them when it is made, naming the subset."""
    images = np.zeros((3, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="subset 'train'") as caught:
        engine.Subset("train", labels, images)
    assert message in str(caught.value)


def test_whole_float_bool_and_none_labels_are_class_indices(tmp_path):
    images = np.zeros((4, 28, 28), np.uint8)
    floats = engine.Subset("train", np.array([0.0, 1.0, 2.0, 9.0]), images)
    flags = engine.Subset("flags", np.array([True, False, True, False]), images)
    missing = engine.Subset("test", np.array([None, 3, 4, None], dtype=object), images)
    assert floats.labels.tolist() == [0, 1, 2, 9] and floats.labels.dtype.kind == "i"
    assert flags.labels.tolist() == [1, 0, 1, 0]
    dataset = engine.Dataset([floats, missing], categories=[str(d) for d in range(10)])
    engine.save(dataset, "mnist", tmp_path / "out")
    back = engine.load("mnist", tmp_path / "out")
    assert back["train"].labels.tolist() == [0, 1, 2, 9]
    assert back["test"].labels.tolist() == [NO_LABEL, 3, 4, NO_LABEL]


def test_ids_too_long_for_the_side_file_are_refused(tmp_path):
    long_id = "x" * 33
    dataset = items_dataset(engine.DatasetItem(id=long_id, image=np.zeros((28, 28))))
    with pytest.raises(ValidationError, match="longer than 32 characters") as caught:
        engine.save(dataset, "mnist", tmp_path / "out")
    assert caught.value.item_ids == [long_id]


def test_class_names_with_line_breaks_are_refused(tmp_path):
    dataset = make_dataset()
    dataset.categories = ("a\nb",)
    with pytest.raises(ValidationError, match=r"class names .*line break") as caught:
        engine.save(dataset, "mnist", tmp_path / "out")
    assert caught.value.item_ids == ["a\nb"]


def test_non_empty_output_is_refused_then_replaced_with_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    dataset = make_dataset()
    with pytest.raises(OutputExistsError, match="not empty"):
        engine.save(dataset, "mnist", out)
    assert (out / "stale.txt").read_text() == "old"
    assert engine.save(dataset, "mnist", out, overwrite=True) == ["stale.txt"]
    assert (out / "stale.txt").read_text() == "old"  # not a file of the format: kept
    assert (out / "train-images-idx3-ubyte.gz").is_file()


def test_empty_existing_folder_is_fine(tmp_path):
    (tmp_path / "out").mkdir()
    engine.save(make_dataset(), "mnist", tmp_path / "out")
    assert (tmp_path / "out" / "labels.txt").is_file()


def test_failed_save_leaves_old_output_and_no_half_files(tmp_path, monkeypatch):
    out = tmp_path / "out"
    engine.save(make_dataset(seed=1), "mnist", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def failing_write(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(path, *args, **kwargs)

    original = engine.codecs.idx.codec.write_idx
    monkeypatch.setattr(engine.codecs.idx.codec, "write_idx", failing_write)
    with pytest.raises(OSError, match="disk full"):
        engine.save(make_dataset(seed=2), "mnist", out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unlabeled_items_from_iterable(tmp_path):
    dataset = items_dataset(engine.DatasetItem(id=0, image=np.zeros((28, 28), np.uint8)))
    assert dataset["default"].labels.tolist() == [NO_LABEL]
    engine.save(dataset, "mnist", tmp_path / "out")
    assert engine.load("mnist", tmp_path / "out")["default"][0].label is None


def test_unknown_format_and_missing_path():
    with pytest.raises(engine.UnknownFormatError, match="unknown format 'nope'"):
        engine.load("nope", ".")
    with pytest.raises(FileNotFoundError):
        engine.load("mnist", "/no/such/folder")


def test_detect_and_formats(tmp_path):
    engine.save(make_dataset(), "mnist", tmp_path / "out")
    assert "mnist" in engine.formats()
    assert engine.detect(tmp_path / "out")[0] == "mnist"
    assert engine.detect(tmp_path) == []
    assert engine.load(None, tmp_path / "out")["train"].images.shape == (7, 28, 28)


def test_cli_info_on_the_bundled_sample():
    done = subprocess.run(
        [sys.executable, "-m", "engine", "info", "samples/mnist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "format:  mnist" in done.stdout
    assert "subsets: train (500), test (200)" in done.stdout
    assert "total    500   200" in done.stdout


def test_cli_reports_a_broken_file_in_one_line(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 0]))
    done = subprocess.run(
        [sys.executable, "-m", "engine", "info", str(tmp_path), "-f", "mnist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "mnist-engine: error: t10k-labels-idx1-ubyte: byte 2: "
        "IDX type code 0x0a is not one of 0x08 0x09 0x0b 0x0c 0x0d 0x0e"
    )


@pytest.mark.parametrize("parts", [{"train": (np.zeros((2, 28, 28)), [1, 2])}, [None]])
def test_a_dataset_of_something_else_than_subsets_says_how_to_make_one(parts):
    with pytest.raises(TypeError, match=r"expected an engine.Subset, found (tuple|NoneType)"):
        engine.Dataset(parts)


@pytest.mark.parametrize("path", [None, b"mnist", 5])
def test_load_of_something_that_is_no_path_says_what_a_path_is(path):
    with pytest.raises(TypeError, match=r"path is a dataset folder.*found (NoneType|bytes|int)"):
        engine.load("mnist", path)


def test_a_misspelled_load_keyword_lists_the_keywords_every_load_takes(tmp_path):
    with pytest.raises(engine.OptionError, match=r"unknown option 'subst'.*cache_dir.*subset"):
        engine.load("mnist", engine.sample_path(), subst="test")
