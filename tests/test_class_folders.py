"""Class names that cannot be folder names get safe stand-in folders (exact names kept in
dataset_meta.json); a dataset remembers the variant its files named (EMNIST's split)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from spec_data import synthetic_dataset

import engine
from engine.io.paths import folder_names, unsafe_reason
from engine.model import Subset
from engine.registry import get_format

FASHION = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def test_folder_names_are_safe_distinct_and_stable():
    names = [
        "T-shirt/top",
        "T-shirt_top",
        "a\\b",
        "..",
        "",
        "no_label",
        "C:x",
        "tab\there",
        ".h",
        "ok",
    ]
    folders = folder_names(names, reserved=("no_label",))
    assert folders[:3] == ["T-shirt_top_2", "T-shirt_top", "a_b"]  # a plain name keeps its own
    assert len(set(folders)) == len(folders)
    assert all("/" not in f and unsafe_reason(f) is None for f in folders)
    assert folders[5] == "no_label_2" and folders[-1] == "ok"
    assert folders[3] == "_.." and folders[4] == "_" and folders[-2] == "_.h"
    assert not any(f.startswith(".") for f in folders)  # readers skip hidden folders
    assert folder_names(names, reserved=("no_label",)) == folders
    assert folder_names(["0", "1"]) == ["0", "1"]


def test_fashion_mnist_to_imagenet_and_back_keeps_class_names(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(20, dtype=np.int32) % 10
    dataset = engine.Dataset(
        [Subset("train", labels, rng.integers(0, 256, (20, 28, 28), dtype=np.uint8))], FASHION
    )
    engine.save(dataset, "fashion_mnist", tmp_path / "fm")
    loaded = engine.load("fashion_mnist", tmp_path / "fm")
    engine.save(loaded, "imagenet", tmp_path / "inet")
    assert (tmp_path / "inet" / "T-shirt_top").is_dir()
    meta = json.loads((tmp_path / "inet" / "dataset_meta.json").read_text())
    assert meta["labels"][0] == "T-shirt/top"
    back = engine.load("imagenet", tmp_path / "inet")
    assert back.categories == FASHION
    assert sorted(back["default"].labels.tolist()) == sorted(labels.tolist())
    first = next(item for item in back if item.label == 0)
    assert first.id.startswith("T-shirt_top:")
    # and on to Fashion-MNIST again, through the CLI as well
    engine.save(back, "fashion_mnist", tmp_path / "fm2")
    assert engine.load("fashion_mnist", tmp_path / "fm2").categories == FASHION


def test_plain_class_names_write_no_meta_file(tmp_path):
    dataset = engine.Dataset(
        [Subset("train", np.array([0, 1], np.int32), np.zeros((2, 4, 4), np.uint8))], ["a", "b"]
    )
    engine.save(dataset, "imagenet", tmp_path / "out")
    assert not (tmp_path / "out" / "dataset_meta.json").exists()


def test_emnist_remembers_its_split(tmp_path):
    spec = get_format("emnist").spec
    original = synthetic_dataset(spec)
    engine.save(original, "emnist", tmp_path / "a", split="balanced")
    loaded = engine.load("emnist", tmp_path / "a")
    assert loaded.info == {"split": "balanced"}
    engine.save(loaded.filter('/item[subset="train"]'), "emnist", tmp_path / "b")  # no split=
    assert sorted(p.name for p in (tmp_path / "b").glob("emnist-*"))[0].startswith(
        "emnist-balanced-train"
    )
    engine.save(loaded, "emnist", tmp_path / "c", split="bymerge")  # an explicit split wins
    assert any((tmp_path / "c").glob("emnist-bymerge-*"))
    with pytest.raises(ValueError, match="pass split="):
        engine.save(original, "emnist", tmp_path / "d")  # nothing to remember
