"""Round trips mnist -> each image format -> mnist, and what each format keeps (README, Formats)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine
from engine import Dataset
from engine.model import NO_LABEL, DatasetItem, Label, Subset
from tests.conftest import make_dataset

IMAGE_FORMATS = ["imagenet", "imagenet_txt", "cifar", "image_dir", "image_zip"]


def _items(dataset: Dataset) -> dict[tuple[str, str], tuple[int, np.ndarray]]:
    return {
        (item.subset, item.id): (
            int(item.label if item.label is not None else NO_LABEL),
            item.image,
        )
        for item in dataset
    }


def _via(tmp_path, fmt, dataset, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        engine.save(dataset, fmt, tmp_path / fmt, **options)
    middle = engine.load(fmt, tmp_path / fmt)
    engine.save(middle, "mnist", tmp_path / "back")
    return middle, engine.load("mnist", tmp_path / "back")


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_every_format_is_registered_and_detected(tmp_path, fmt):
    assert fmt in engine.formats()
    # image_dir with one folder per subset looks exactly like imagenet's class folders, so that
    # case is detected as imagenet (the README says so); a flat image_dir is image_dir.
    dataset = make_dataset((("default", 4),)) if fmt == "image_dir" else make_dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        engine.save(dataset, fmt, tmp_path / "out")
    assert engine.detect(tmp_path / "out")[0] == fmt


@pytest.mark.parametrize("fmt", ["imagenet_txt", "cifar"])
def test_exact_round_trip_keeps_ids_labels_pixels_and_order(tmp_path, fmt):
    original = make_dataset()
    middle, back = _via(tmp_path, fmt, original)
    for loaded in (middle, back):
        assert loaded.categories == original.categories
        for name, subset in original.subsets().items():
            got = loaded[name]
            assert list(got.id_column()) == list(subset.id_column())
            np.testing.assert_array_equal(got.labels, subset.labels)
            np.testing.assert_array_equal(got.images, subset.images)


def test_imagenet_ids_are_class_colon_id_as_datumaro_1x(tmp_path):
    original = make_dataset()
    middle, back = _via(tmp_path, "imagenet", original, workers=2)
    assert set(middle.subsets()) == {"train", "test"}
    for loaded in (middle, back):
        for name, subset in original.subsets().items():
            got = {item.id: item for item in loaded[name]}
            assert len(got) == len(subset)
            for item in subset:
                twin = got[f"{item.label}:{item.id}"]
                assert twin.label == item.label
                np.testing.assert_array_equal(twin.image, item.image)
    # a second pass keeps the ids: the class part of `class:id` is the folder, not nested again
    engine.save(middle, "imagenet", tmp_path / "again")
    again = engine.load("imagenet", tmp_path / "again")
    assert sorted(again["test"].id_column()) == sorted(middle["test"].id_column())
    assert sorted(p.name for p in (tmp_path / "again" / "test" / "3").iterdir()) == sorted(
        f"{i.split(':', 1)[1]}.png" for i in middle["test"].id_column() if i.startswith("3:")
    )


def test_imagenet_reads_both_id_spellings_and_relabels_by_folder(tmp_path):
    """`class/id` (older spelling) and `class:id` (Datumaro 1.x) are written to the same file;
    a `class:id` item given another label goes to that label's folder; other ':' become '_'."""
    image = np.zeros((2, 2), np.uint8)
    items = [
        engine.DatasetItem(id="a/1", image=image, annotations=[engine.Label(0)]),
        engine.DatasetItem(id="a:2", image=image + 1, annotations=[engine.Label(0)]),
        engine.DatasetItem(id="a:3", image=image + 2, annotations=[engine.Label(1)]),
        engine.DatasetItem(id="12:30", image=image + 3, annotations=[engine.Label(1)]),
        engine.DatasetItem(id="no_label:4", image=image + 4),
    ]
    engine.save(
        engine.Dataset.from_iterable(items, categories=["a", "b"]), "imagenet", tmp_path / "o"
    )
    files = sorted(str(p.relative_to(tmp_path / "o")) for p in (tmp_path / "o").rglob("*.png"))
    assert files == ["a/1.png", "a/2.png", "b/12_30.png", "b/3.png", "no_label/4.png"]
    back = {item.id: item.label for item in engine.load("imagenet", tmp_path / "o")}
    assert back == {"a:1": 0, "a:2": 0, "b:3": 1, "b:12_30": 1, "no_label:4": None}


@pytest.mark.parametrize("fmt", ["image_dir", "image_zip"])
def test_unlabeled_formats_keep_pixels_and_prefix_ids_with_the_subset(tmp_path, fmt):
    original = make_dataset()
    with pytest.warns(UserWarning, match="labels of 12 items are not written"):
        engine.save(original, fmt, tmp_path / fmt)
    _, back = _via(tmp_path / "second", fmt, engine.load(fmt, tmp_path / fmt))
    for loaded in (engine.load(fmt, tmp_path / fmt), back):
        items = _items(loaded)
        assert len(items) == 12
        for name, subset in original.subsets().items():
            for item in subset:
                label, image = items[("default", f"{name}/{item.id}")]
                assert label == NO_LABEL
                np.testing.assert_array_equal(image, item.image)


def test_single_subset_image_dir_uses_bare_ids_in_natural_order(tmp_path):
    original = make_dataset((("default", 12),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        engine.save(original, "image_dir", tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir())[:3] == ["0.png", "1.png", "10.png"]
    loaded = engine.load("image_dir", tmp_path / "d")
    assert list(loaded["default"].id_column()) == [str(i) for i in range(12)]


def test_rgb_and_ragged_images_and_multi_labels_survive_imagenet_txt(tmp_path):
    rng = np.random.default_rng(1)
    items = [
        DatasetItem(
            "a b",
            image=rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
            annotations=[Label(0), Label(2)],
        ),
        DatasetItem("dir/c", image=rng.integers(0, 256, (9, 4), dtype=np.uint8)),
        DatasetItem("no image", annotations=[Label(1)]),
    ]
    original = Dataset.from_iterable(items, categories=["x", "y", "z"])
    engine.save(original, "imagenet_txt", tmp_path / "t")
    loaded = engine.load("imagenet_txt", tmp_path / "t")["default"]
    assert list(loaded.id_column()) == ["a b", "dir/c", "no image"]
    assert (
        loaded.labels_at(0) == (0, 2) and loaded.labels_at(1) == () and loaded.labels_at(2) == (1,)
    )
    np.testing.assert_array_equal(loaded.images[0], items[0].image)
    np.testing.assert_array_equal(loaded.images[1], items[1].image)
    assert loaded.images[2] is None


def test_cifar_stores_grey_as_three_equal_channels_datumaro_can_read(tmp_path):
    import pickle

    original = make_dataset((("test", 3),))
    engine.save(original, "cifar", tmp_path / "c")
    with open(tmp_path / "c" / "test", "rb") as file:
        batch = pickle.load(file)
    assert batch["data"].shape == (3, 3 * 28 * 28)
    assert batch["image_sizes"] == [(28, 28)] * 3 and batch["image_channels"] == [1, 1, 1]
    chw = batch["data"][1].reshape(3, 28, 28)
    for channel in chw:
        np.testing.assert_array_equal(channel, original["test"].images[1])
    assert batch["filenames"][0] == "0.png"


def test_cifar_reads_datumaro_style_object_rows_and_unlabeled_items(tmp_path):
    import pickle

    rng = np.random.default_rng(2)
    rgb = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    data = np.empty(2, dtype=object)
    data[:] = [image.transpose(2, 0, 1).reshape(-1) for image in rgb]
    (tmp_path / "c").mkdir()
    with open(tmp_path / "c" / "batches.meta", "wb") as file:
        pickle.dump({"label_names": ["cat", "dog"]}, file)
    with open(tmp_path / "c" / "data_batch_1", "wb") as file:
        pickle.dump({"filenames": ["x.jpg", "y.jpg"], "labels": [1, None], "data": data}, file)
    loaded = engine.load(None, tmp_path / "c")
    subset = loaded["data_batch_1"]
    assert loaded.categories == ("cat", "dog")
    assert list(subset.id_column()) == ["x", "y"] and list(subset.labels) == [1, NO_LABEL]
    np.testing.assert_array_equal(subset.images, np.stack(rgb))


def test_unknown_save_option_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"unknown option.*colour"):
        engine.save(make_dataset(), "cifar", tmp_path / "c", colour=True)
    assert not (tmp_path / "c").exists()


def test_jpeg_cannot_hold_two_channel_images_and_nothing_is_written(tmp_path):
    subset = Subset("default", np.zeros(2, np.int32), np.zeros((2, 4, 4, 2), np.uint8))
    with pytest.raises(engine.ValidationError, match="2-channel") as caught:
        engine.save(Dataset([subset], ["a"]), "imagenet", tmp_path / "o", image_ext="jpg")
    assert caught.value.item_ids == ["0", "1"]
    assert not (tmp_path / "o").exists()


def test_image_zip_options_name_and_compression(tmp_path):
    original = make_dataset((("default", 3),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        engine.save(
            original, "image_zip", tmp_path / "z", name="digits.zip", compression="deflated"
        )
    import zipfile

    with zipfile.ZipFile(tmp_path / "z" / "digits.zip") as archive:
        assert archive.namelist() == ["0.png", "1.png", "2.png"]
        assert archive.getinfo("0.png").compress_type == zipfile.ZIP_DEFLATED
    loaded = engine.load("image_zip", tmp_path / "z" / "digits.zip")
    np.testing.assert_array_equal(loaded["default"].images, original["default"].images)
