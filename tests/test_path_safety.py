"""Item ids and archive members that would escape the output folder are refused, naming them."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import engine
from engine import Dataset
from engine.io.paths import unsafe_reason
from engine.model import DatasetItem, Label

UNSAFE_IDS = ["../escape", "a/../../escape", "/etc/escape", "C:escape", "c:/escape", "a\\..\\b"]
WRITING_FORMATS = ["imagenet", "imagenet_txt", "image_dir", "image_zip"]


@pytest.mark.parametrize("bad_id", UNSAFE_IDS)
def test_unsafe_reason_names_the_problem(bad_id):
    assert unsafe_reason(bad_id) is not None
    assert unsafe_reason("digits/3/17") is None


@pytest.mark.parametrize("fmt", WRITING_FORMATS)
@pytest.mark.parametrize("bad_id", ["../escape", "/tmp/escape", "D:/escape"])
def test_unsafe_id_is_refused_naming_it_and_nothing_is_written(tmp_path, fmt, bad_id):
    out = tmp_path / "deep" / "out"
    items = [
        DatasetItem("fine", image=np.zeros((4, 4), np.uint8), annotations=[Label(0)]),
        DatasetItem(bad_id, image=np.ones((4, 4), np.uint8), annotations=[Label(0)]),
    ]
    dataset = Dataset.from_iterable(items, categories=["a"])
    with pytest.raises(engine.ValidationError) as caught:
        engine.save(dataset, fmt, out)
    assert bad_id.replace("\\", "/") in caught.value.item_ids
    assert repr(bad_id) in str(caught.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.rglob("*escape*")] == []


def test_unsafe_subset_name_is_refused(tmp_path):
    item = DatasetItem("x", subset="../up", image=np.zeros((2, 2), np.uint8))
    other = DatasetItem("y", subset="train", image=np.zeros((2, 2), np.uint8))
    with pytest.raises(engine.ValidationError, match="subset names") as caught:
        engine.save(Dataset.from_iterable([item, other]), "image_dir", tmp_path / "o")
    assert caught.value.item_ids == ["../up"]


def test_class_name_that_is_a_path_stays_inside_with_imagenet(tmp_path):
    """A class name like a path gets a safe folder inside the output; the name reads back."""
    item = DatasetItem("x", image=np.zeros((2, 2), np.uint8), annotations=[Label(0)])
    engine.save(Dataset.from_iterable([item], categories=["../x"]), "imagenet", tmp_path / "o")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["_.._x", "dataset_meta.json"]
    loaded = engine.load("imagenet", tmp_path / "o")
    assert loaded.categories == ("../x",) and [i.label for i in loaded] == [0]


def test_zip_with_escaping_member_is_a_format_error(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("../../evil.png", b"not read")
    with pytest.raises(engine.FormatError, match=r"\.\./\.\./evil\.png"):
        engine.load("image_zip", archive)


def test_imagenet_txt_list_naming_a_file_outside_images_is_a_format_error(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "train.txt").write_text("ok.png 0\n../../secret.png 0\n")
    (tmp_path / "synsets.txt").write_text("a\n")
    with pytest.raises(engine.FormatError) as caught:
        engine.load("imagenet_txt", tmp_path)
    assert caught.value.line == 2 and "secret" in str(caught.value)


@pytest.mark.parametrize("format_name", ["mnist", "mnist_csv", "cifar"])
def test_subset_name_like_a_path_is_refused_by_every_writer(tmp_path, format_name):
    """A subset name becomes part of a file name: `../x` must not write beside the output."""
    item = DatasetItem(
        "0", subset="../x", image=np.zeros((28, 28), np.uint8), annotations=[Label(0)]
    )
    dataset = Dataset.from_iterable([item], categories=[str(d) for d in range(10)])
    with pytest.raises(engine.ValidationError, match="subset names") as caught:
        engine.save(dataset, format_name, tmp_path / "out" / "o")
    assert caught.value.item_ids == ["../x"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
