"""Corrupt, non-image and malicious inputs: FormatError naming the file; skip_broken counts."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
from PIL import Image

import engine
from tests.conftest import make_dataset


def _folder_with_broken_files(root):
    root.mkdir()
    for index in range(3):
        Image.fromarray(np.full((4, 4), index * 40, np.uint8)).save(root / f"{index}.png")
    (root / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n but then garbage")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("workers", [1, 2])
def test_folder_with_corrupt_image_is_a_format_error_naming_it(tmp_path, workers):
    root = _folder_with_broken_files(tmp_path / "d")
    (root / "notes.txt").unlink()
    with pytest.raises(engine.FormatError, match=r"3\.png") as caught:
        engine.load("image_dir", root, workers=workers)
    assert caught.value.path.endswith("3.png") and "skip_broken" in str(caught.value)


def test_non_image_file_is_left_out_with_a_warning_naming_it(tmp_path):
    root = _folder_with_broken_files(tmp_path / "d")
    (root / "3.png").unlink()
    with pytest.warns(
        engine.FormatWarning, match=r"left out 1 files that are not images: notes\.txt"
    ):
        loaded = engine.load("image_dir", root)
    assert list(loaded["default"].id_column()) == ["0", "1", "2"]


@pytest.mark.filterwarnings("ignore::formats._common.LabelsNotStoredWarning")
def test_files_an_overwrite_kept_do_not_stop_image_folders_loading(tmp_path):
    for name in ("image_dir", "imagenet"):
        out = tmp_path / name
        engine.save(make_dataset((("train", 3), ("test", 2))), name, out)
        (out / "notes.txt").write_text("mine")
        kept = engine.save(make_dataset((("test", 4),), seed=3), name, out, overwrite=True)
        assert kept == ["notes.txt"]
        with pytest.warns(engine.FormatWarning, match="notes.txt"):
            loaded = engine.load(name, out)
        assert len(loaded) == 4 and (out / "notes.txt").read_text() == "mine"
    assert engine.detect(tmp_path / "imagenet")[0] == "imagenet"  # a kept file is no obstacle


def test_skip_broken_keeps_the_good_images_and_counts_the_rest(tmp_path):
    root = _folder_with_broken_files(tmp_path / "d")
    with pytest.warns(engine.FormatWarning, match=r"skipped 2 of 5 files.*3\.png.*notes\.txt"):
        loaded = engine.load("image_dir", root, skip_broken=True, workers=2)
    subset = loaded["default"]
    assert list(subset.id_column()) == ["0", "1", "2"]
    assert [int(image[0, 0]) for image in subset.images] == [0, 40, 80]


def test_truncated_png_inside_imagenet_names_the_nested_file(tmp_path):
    engine.save(make_dataset((("default", 4),)), "imagenet", tmp_path / "n")
    victim = next((tmp_path / "n").rglob("*.png"))
    victim.write_bytes(victim.read_bytes()[:30])
    relative = victim.relative_to(tmp_path / "n").as_posix()
    with pytest.raises(engine.FormatError, match=relative):
        engine.load("imagenet", tmp_path / "n")
    with pytest.warns(engine.FormatWarning, match="skipped 1 "):
        assert len(engine.load("imagenet", tmp_path / "n", skip_broken=True)) == 3


def test_broken_zip_and_broken_member(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(engine.FormatError, match="not a readable zip"):
        engine.load("image_zip", tmp_path / "bad.zip")
    with zipfile.ZipFile(tmp_path / "member.zip", "w") as archive:
        archive.writestr("a.png", b"garbage")
    with pytest.raises(engine.FormatError, match=r"a\.png"):
        engine.load("image_zip", tmp_path / "member.zip")


def test_imagenet_txt_bad_label_names_line_and_column(tmp_path):
    (tmp_path / "train.txt").write_text("a.png 0\nb.png x1\n")
    with pytest.raises(engine.FormatError) as caught:
        engine.load("imagenet_txt", tmp_path)
    assert (caught.value.line, caught.value.column) == (2, 2)


# -- cifar: the restricted unpickler ---------------------------------------------------------------
class _RunsCode:
    """Pickles to a call of os.system that would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


class _Evaluates:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("payload", [_RunsCode, _Evaluates])
def test_malicious_cifar_batch_runs_nothing(tmp_path, payload):
    marker = tmp_path / "pwned"
    root = tmp_path / "c"
    engine.save(make_dataset((("test", 2),)), "cifar", root)
    batch = {"filenames": ["a.png"], "labels": [0], "data": payload(marker)}
    (root / "test").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(engine.FormatError, match="not admitted") as caught:
        engine.load("cifar", root)
    assert not marker.exists()
    assert caught.value.actual.rsplit(".", 1)[1] in ("system", "eval")


def test_malicious_cifar_meta_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    root = tmp_path / "c"
    engine.save(make_dataset((("test", 2),)), "cifar", root)
    (root / "batches.meta").write_bytes(pickle.dumps({"label_names": _RunsCode(marker)}))
    with pytest.raises(engine.FormatError, match="not admitted"):
        engine.load("cifar", root)
    assert not marker.exists()


def test_cifar_python2_style_pickle_with_numpy_is_admitted(tmp_path):
    root = tmp_path / "c"
    engine.save(make_dataset((("test", 2),)), "cifar", root)
    batch = pickle.loads((root / "test").read_bytes())
    (root / "test").write_bytes(pickle.dumps(batch, protocol=2))
    loaded = engine.load("cifar", root)
    np.testing.assert_array_equal(
        loaded["test"].images, make_dataset((("test", 2),))["test"].images
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda b: b.update(data=b["data"][:, :-1]), "values"),
        (lambda b: b.update(labels=[0]), "entries"),
        (lambda b: b.update(labels=[0, 99]), "outside the 10 classes"),
        (lambda b: b.update(image_sizes=[(28, 28), "big"]), "image_sizes"),
    ],
)
def test_cifar_batch_with_inconsistent_fields_is_a_format_error(tmp_path, change, message):
    root = tmp_path / "c"
    engine.save(make_dataset((("test", 2),)), "cifar", root)
    batch = pickle.loads((root / "test").read_bytes())
    change(batch)
    (root / "test").write_bytes(pickle.dumps(batch))
    with pytest.raises(engine.FormatError, match=message):
        engine.load("cifar", root)


def test_truncated_cifar_batch_is_a_format_error(tmp_path):
    root = tmp_path / "c"
    engine.save(make_dataset((("test", 2),)), "cifar", root)
    (root / "test").write_bytes((root / "test").read_bytes()[:100])
    with pytest.raises(engine.FormatError, match="not a readable pickle"):
        engine.load("cifar", root)
