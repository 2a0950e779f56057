"""Bridges to training: numpy arrays, a torchvision-shaped torch Dataset that DataLoader workers
can share, and Hugging Face DatasetDicts both ways."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import engine


def test_arrays_asarray_and_classes(tiny_dataset) -> None:
    subset = tiny_dataset["train"]
    images, labels = subset.arrays()
    assert images is subset.images
    assert labels.dtype == np.int32
    assert subset.arrays(int64_labels=True)[1].dtype == np.int64
    assert np.shares_memory(np.asarray(subset), subset.images)
    assert np.asarray(subset, dtype=np.float32).dtype == np.float32
    assert tiny_dataset.classes == tiny_dataset.categories
    assert subset.classes == list(tiny_dataset.categories)
    ragged = engine.Subset(name="r", labels=np.zeros(2, np.int32), images=[np.zeros((2, 2)), None])
    with pytest.raises(ValueError, match="no single image array"):
        ragged.arrays()


@pytest.fixture
def mapped(tiny_dataset, tmp_path: Path):
    """The tiny dataset saved as plain IDX files and loaded back (memory-mapped)."""
    engine.save(tiny_dataset, "mnist", tmp_path / "idx", compression="")
    return engine.load("mnist", tmp_path / "idx")


def test_to_torch_is_shaped_like_torchvision_mnist(mapped) -> None:
    torch = pytest.importorskip("torch")
    data = mapped["train"].to_torch()
    assert len(data) == len(mapped["train"])
    image, label = data[0]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (1, 28, 28)
    assert label == int(mapped["train"].labels[0])
    assert data.classes == list(mapped.categories)
    assert data.targets.dtype == torch.int64
    assert tuple(data.data.shape) == (7, 28, 28)
    seen = mapped["train"].to_torch(transform=lambda im: im, target_transform=lambda t: t + 100)
    picture, target = seen[1]
    assert picture.mode == "L" and np.array_equal(np.asarray(picture), mapped["train"].images[1])
    assert target == int(mapped["train"].labels[1]) + 100


def test_pickling_maps_the_file_again_instead_of_copying(mapped) -> None:
    pytest.importorskip("torch")
    data = mapped["train"].to_torch()
    blob = pickle.dumps(data)
    assert len(blob) < 2000  # 7 images of 784 bytes would not fit
    again = pickle.loads(blob)
    for index in range(len(data)):
        assert np.array_equal(again[index][0].numpy(), data[index][0].numpy())
    emnist_like = engine.Subset(
        name="t", labels=np.zeros(7, np.int32), images=mapped["train"].images.swapaxes(1, 2)
    )
    turned = pickle.loads(pickle.dumps(emnist_like.to_torch()))
    assert np.array_equal(turned[3][0].numpy()[0], mapped["train"].images[3].T)


def test_dataloader_with_two_workers_matches_a_tensor_dataset(mapped) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    images, labels = mapped["train"].arrays(int64_labels=True)
    reference = TensorDataset(
        torch.from_numpy(np.array(images)).unsqueeze(1), torch.from_numpy(labels)
    )
    ours = DataLoader(mapped["train"].to_torch(), batch_size=3, num_workers=2)
    theirs = DataLoader(reference, batch_size=3)
    pairs = list(zip(ours, theirs, strict=True))
    assert len(pairs) == 3
    for (x, y), (x_ref, y_ref) in pairs:
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref) and y.dtype == torch.int64


def test_missing_torch_names_the_extra(tiny_dataset, monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "engine.interop.torch_dataset", raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"mnist-engine\[torch\]"):
        tiny_dataset["train"].to_torch()


def test_to_hf_gives_image_and_classlabel_features(hf_datasets, tiny_dataset) -> None:
    hub = tiny_dataset.to_hf()
    assert list(hub) == ["train", "test"]
    features = hub["train"].features
    assert isinstance(features["image"], hf_datasets.Image)
    assert features["label"].names == list(tiny_dataset.categories)
    np.testing.assert_array_equal(
        np.asarray(hub["train"][2]["image"]), tiny_dataset["train"].images[2]
    )
    arrays = tiny_dataset.to_hf(images="array")
    assert isinstance(arrays["test"].features["image"], hf_datasets.Array2D)
    np.testing.assert_array_equal(
        np.asarray(arrays["test"].with_format("numpy")["image"]), tiny_dataset["test"].images
    )
    for kind in (hub, arrays):
        back = engine.from_hf(kind)
        assert back.categories == tiny_dataset.categories
        for name in ("train", "test"):
            np.testing.assert_array_equal(back[name].images, tiny_dataset[name].images)
            np.testing.assert_array_equal(back[name].labels, tiny_dataset[name].labels)


def test_from_hf_takes_other_column_names_ids_and_attributes(hf_datasets) -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (4, 8, 8), dtype=np.uint8)
    features = hf_datasets.Features(
        {
            "img": hf_datasets.Image(),
            "fine_label": hf_datasets.ClassLabel(names=["a", "b", "c"]),
            "id": hf_datasets.Value("string"),
            "score": hf_datasets.Value("float32"),
        }
    )
    part = hf_datasets.Dataset.from_dict(
        {
            "img": list(images),
            "fine_label": [2, 0, 1, 2],
            "id": list("wxyz"),
            "score": [1, 2, 3, 4],
        },
        features=features,
    )
    back = engine.from_hf(hf_datasets.DatasetDict({"val": part.select([3, 1])}))
    assert back.categories == ("a", "b", "c")
    assert list(back["val"].ids) == ["z", "x"]
    assert back["val"].labels.tolist() == [2, 0]
    assert back["val"].attributes["score"].tolist() == [4.0, 2.0]
    np.testing.assert_array_equal(back["val"].images, images[[3, 1]])
