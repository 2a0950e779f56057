"""Telling family members apart: names and headers first, then checksums and labels.txt decide
between formats sharing MNIST's layout (which otherwise detect as `mnist`)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from spec_data import sandbox_registry, synthetic_dataset

import engine
from engine.registry import get_format
from specs.schema import KnownFile

__all__ = ["sandbox_registry"]

MNIST = get_format("mnist").spec
FASHION = get_format("fashion_mnist").spec


def mnist_layout_folder(tmp_path: Path, classes_file: bool) -> Path:
    folder = tmp_path / "data"
    engine.save(synthetic_dataset(MNIST), "mnist", folder)
    if not classes_file:
        (folder / "labels.txt").unlink()
    return folder


def test_shared_layout_without_other_clues_is_mnist(tmp_path: Path) -> None:
    folder = mnist_layout_folder(tmp_path, classes_file=False)
    found = engine.detect(folder, evidence=True)
    assert [d.format for d in found[:3]] == ["mnist", "fashion_mnist", "kmnist"]
    assert found[0].score > found[1].score
    assert any("same layout as mnist" in text for text in found[1].evidence)
    assert engine.api.detect_one(folder) == "mnist"


@pytest.mark.parametrize("name", ["fashion_mnist", "kmnist"])
def test_labels_txt_names_the_family_member(name: str, tmp_path: Path) -> None:
    folder = mnist_layout_folder(tmp_path, classes_file=False)
    (folder / "labels.txt").write_text("\n".join(get_format(name).spec.classes) + "\n")
    assert engine.api.detect_one(folder) == name
    assert engine.load(None, folder).categories == get_format(name).spec.classes


def test_dataset_meta_json_counts_like_labels_txt(tmp_path: Path) -> None:
    source = mnist_layout_folder(tmp_path, classes_file=False)
    folder = tmp_path / "with-meta"
    engine.save(engine.load("mnist", source), "mnist", folder, save_dataset_meta=True)
    (folder / "labels.txt").write_text("\n".join(FASHION.classes))
    assert engine.api.detect_one(folder) == "mnist"  # dataset_meta.json wins over labels.txt


def test_published_checksum_names_the_family_member(tmp_path: Path, sandbox_registry) -> None:
    folder = mnist_layout_folder(tmp_path, classes_file=False)
    labels = folder / "train-labels-idx1-ubyte.gz"
    published = FASHION.model_copy(
        update={
            "name": "fashion_probe",
            "known_files": (
                KnownFile(name=labels.name, md5=hashlib.md5(labels.read_bytes()).hexdigest()),
            ),
        }
    )
    engine.register_spec(published)
    found = engine.detect(folder, evidence=True)
    assert found[0].format == "fashion_probe"
    assert any("is the published file" in text for text in found[0].evidence)


def test_qmnist_folder_is_qmnist(tmp_path: Path) -> None:
    qmnist = get_format("qmnist").spec
    engine.save(synthetic_dataset(qmnist), "qmnist", tmp_path / "q")
    (tmp_path / "q" / "labels.txt").unlink()
    found = engine.detect(tmp_path / "q", evidence=True)
    assert found[0].format == "qmnist" and found[0].score > found[1].score
    assert "emnist" not in [d.format for d in found]


def test_tie_is_refused(tmp_path: Path, sandbox_registry) -> None:
    folder = mnist_layout_folder(tmp_path, classes_file=False)
    engine.register_spec(MNIST.model_copy(update={"name": "mnist_twin"}))
    with pytest.raises(engine.UnknownFormatError, match="ambiguous"):
        engine.api.detect_one(folder)


def test_a_folder_nothing_recognises_names_what_is_never_read(tmp_path):
    os.mkfifo(tmp_path / "default.zip")  # the image_zip name, but a FIFO: never opened
    (tmp_path / "notes.md").write_text("mine")
    with pytest.raises(engine.UnknownFormatError) as caught:
        engine.load(None, tmp_path)
    assert "default.zip is a FIFO (named pipe), never read as data" in str(caught.value)


@pytest.mark.parametrize("content", [b"PK\x03\x04damaged", os.urandom(3000), b""])
def test_a_damaged_zip_is_named_as_image_zip_with_the_cause(tmp_path: Path, content) -> None:
    """A regular .zip no format recognises: detection names image_zip and why the file fails."""
    (tmp_path / "default.zip").write_bytes(content)
    with pytest.raises(engine.FormatError) as caught:
        engine.load(None, tmp_path)
    message = str(caught.value)
    assert "default.zip" in message and "not a readable zip archive" in message
    assert "its file names are image_zip's" in message
    assert (tmp_path / "default.zip").read_bytes() == content  # never touched
