"""Item ids and archive members that would escape the output folder are refused, naming them."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import Dataset
from engine.io.paths import unsafe_reason
from engine.model import DatasetItem, Label, Subset

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


# -- every registered format, through the one check every writer runs --------------------------

UNSAFE_SUBSETS = ["../escaped", "/abs-escaped", "a/b", "C:escaped", "a\\b", "x\x00y", "n" * 256]
CONTROL_NAMES = ["a\nb", "x\x00y", "cr\rhere"]


def dataset_named(subset: str = "train", ids=None, classes=None) -> Dataset:
    rng = np.random.default_rng(0)
    part = Subset(
        name=subset,
        labels=np.array([0, 1], np.int32),
        images=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        ids=None if ids is None else np.array(ids, dtype=object),
    )
    return Dataset([part], classes or [str(d) for d in range(10)])


def save_quietly(dataset, name, out):
    spec = getattr(engine.get_format(name), "spec", None)
    options = {spec.variant_option: spec.variants[0].name} if spec and spec.variants else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine.save(dataset, name, out, **options)


def written_anywhere(tmp_path: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("name", engine.formats())
@pytest.mark.parametrize("subset", UNSAFE_SUBSETS)
def test_unsafe_subset_names_are_refused_by_every_format(tmp_path, name, subset):
    with pytest.raises(engine.ValidationError, match="subset names") as caught:
        save_quietly(dataset_named(subset=subset), name, tmp_path / "out")
    assert caught.value.item_ids == [subset]
    assert written_anywhere(tmp_path) == []
    assert not Path("/abs-escaped").exists()


@pytest.mark.parametrize("name", engine.formats())
@pytest.mark.parametrize("bad", CONTROL_NAMES)
def test_ids_and_class_names_with_control_characters_are_refused(tmp_path, name, bad):
    with pytest.raises(engine.ValidationError, match="item ids") as caught:
        save_quietly(dataset_named(ids=["fine", bad]), name, tmp_path / "out")
    assert caught.value.item_ids == [bad]
    classes = ["zero", bad, *map(str, range(2, 10))]
    with pytest.raises(engine.ValidationError, match="class names"):
        save_quietly(dataset_named(classes=classes), name, tmp_path / "out")
    assert written_anywhere(tmp_path) == []


@pytest.mark.parametrize("name", engine.formats())
@pytest.mark.parametrize("bad_id", ["../escaped", "/abs-escaped", "a/../../escaped"])
def test_no_format_writes_outside_the_output_folder(tmp_path, name, bad_id):
    out = tmp_path / "deep" / "out"
    try:
        save_quietly(dataset_named(ids=["fine", bad_id]), name, out)
    except engine.ValidationError as error:
        assert bad_id in error.item_ids
    outside = [p for p in written_anywhere(tmp_path) if not p.startswith("deep/out")]
    assert outside in ([], ["deep"])
    assert not Path("/abs-escaped").exists() and not (tmp_path / "escaped").exists()


@pytest.mark.parametrize(
    ("name", "folder"), [("imagenet", "train/3"), ("image_dir", "train"), ("imagenet_txt", "")]
)
def test_symlinks_leading_outside_the_dataset_are_refused_unless_followed(tmp_path, name, folder):
    out = tmp_path / "data"
    save_quietly(make_dataset_for_links(), name, out)
    secret = tmp_path / "secret.png"
    save_quietly(make_dataset_for_links(), "image_dir", tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "train" / "0.png").rename(secret)
    if name == "imagenet_txt":
        link = out / "images" / "train" / "secretlink.png"
        with open(out / "train.txt", "a") as listing:
            listing.write("train/secretlink.png 3\n")
    else:
        link = out / folder / "secretlink.png"
    link.symlink_to(secret)
    with pytest.warns(engine.FormatWarning, match="secretlink") as caught:
        loaded = engine.load(name, out)
    assert "follow_symlinks=True" in str(caught[0].message)
    assert not any(item.id.endswith("secretlink") and item.image is not None for item in loaded)
    followed = engine.load(name, out, follow_symlinks=True)
    assert any(item.id.endswith("secretlink") and item.image is not None for item in followed)


def make_dataset_for_links() -> Dataset:
    rng = np.random.default_rng(1)
    parts = [
        Subset(
            name=subset,
            labels=np.array([3, 4], np.int32),
            images=rng.integers(0, 256, (2, 8, 8), dtype=np.uint8),
        )
        for subset in ("train", "test")
    ]
    return Dataset(parts, [str(d) for d in range(10)])


def test_cli_follow_symlinks_flag(tmp_path):
    from tests.cli_helpers import run_cli

    out = tmp_path / "data"
    save_quietly(make_dataset_for_links(), "imagenet", out)
    (out / "train" / "3" / "link.png").symlink_to(out.parent / "missing-outside.png")
    save_quietly(make_dataset_for_links(), "image_dir", tmp_path / "x")
    (tmp_path / "x" / "train" / "0.png").rename(out.parent / "missing-outside.png")
    code, _, err = run_cli("info", "-if", "imagenet", str(out))
    assert code == 0 and "link.png" in err and "--follow-symlinks" in err
    code, _, err = run_cli("info", "-if", "imagenet", str(out), "--follow-symlinks")
    assert code == 0 and "link.png" not in err
