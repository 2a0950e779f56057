"""One rule for every verb and `engine.save`: an output equal to an input is an in-place edit,
allowed only when asked for (`--overwrite` / `overwrite=True`) and done by the atomic swap; an
output inside an input, or an input inside an output, is always refused. Each case the issue
found is here."""

from __future__ import annotations

import pytest
from cli_helpers import run_main
from conftest import make_dataset

import engine


def _mnist(path, counts=(("train", 7), ("test", 5)), seed=0):
    engine.save(make_dataset(counts, seed=seed), "mnist", path)
    return path


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_transform_onto_its_input_is_in_place_only_with_overwrite(tmp_path):
    x = _mnist(tmp_path / "x")
    (x / "notes.md").write_text("mine")
    before = _snapshot(x)
    args = ("transform", "-t", "remap_labels", "-i", x, "-o", x)
    code, _, err = run_main(*args, "--", "-l", "3:three", "--default", "delete")
    assert code == 2 and "is the input" in err and "--overwrite" in err
    assert _snapshot(x) == before
    code, _, err = run_main(*args, "--overwrite", "--", "-l", "3:three", "--default", "delete")
    assert code == 0, err
    assert engine.load("mnist", x).categories == ("three",)  # asked for: edited in place
    assert (x / "notes.md").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # swapped, nothing left beside


def test_merge_into_one_of_its_inputs(tmp_path):
    x = _mnist(tmp_path / "x", seed=1)
    y = _mnist(tmp_path / "y", (("val", 4),), seed=2)
    before = _snapshot(y)
    code, _, err = run_main("merge", x, y, "-o", y)
    assert code == 2 and "is the input" in err
    assert _snapshot(y) == before
    code, _, err = run_main("merge", x, y, "-o", y / "merged", "--overwrite")
    assert code == 2 and "lies inside the input" in err
    code, _, err = run_main("merge", x, y, "-o", y, "--overwrite")
    assert code == 0, err
    assert len(engine.load("mnist", y)) == 16 and len(engine.load("mnist", x)) == 12


def test_merge_then_save_over_an_input_in_python(tmp_path):
    x = _mnist(tmp_path / "x", seed=1)
    y = _mnist(tmp_path / "y", (("val", 4),), seed=2)
    merged = engine.merge(engine.load("mnist", x), engine.load("mnist", y))
    with pytest.raises(engine.OutputExistsError, match="is the input"):
        engine.save(merged, "mnist", y)
    engine.save(merged, "mnist", y, overwrite=True)
    assert len(engine.load("mnist", y)) == 16


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_an_output_inside_an_imagenet_input_is_refused(tmp_path, overwrite):
    inet = tmp_path / "inet"
    engine.save(make_dataset((("default", 6),)), "imagenet", inet)
    before = _snapshot(inet)
    code, _, err = run_main(
        "convert", "-i", inet, "-f", "imagenet", "-o", inet / "extra", *overwrite
    )
    assert code == 2 and "lies inside the input" in err
    assert _snapshot(inet) == before
    assert len(engine.load("imagenet", inet)) == 6  # still loads


def test_an_output_holding_an_input_is_refused_even_with_overwrite(tmp_path):
    inner = _mnist(tmp_path / "out" / "in")
    before = _snapshot(tmp_path / "out")
    code, _, err = run_main(
        "convert", "-i", inner, "-f", "mnist_csv", "-o", tmp_path / "out", "--overwrite"
    )
    assert code == 2 and "holds the input" in err
    assert _snapshot(tmp_path / "out") == before


def test_convert_onto_its_input(tmp_path):
    x = _mnist(tmp_path / "x")
    before = _snapshot(x)
    code, _, err = run_main("convert", "-i", x, "-f", "mnist", "-o", x)
    assert code == 2 and "is the input" in err and _snapshot(x) == before
    code, _, err = run_main("convert", "-i", f"{x}:mnist", "-f", "mnist", "-o", x, "--overwrite")
    assert code == 0, err
    assert len(engine.load("mnist", x)) == 12


def test_one_file_of_a_subset_as_input_makes_its_folder_the_input(tmp_path):
    x = _mnist(tmp_path / "x")
    one = x / "t10k-images-idx3-ubyte.gz"
    code, _, err = run_main("convert", "-i", one, "-f", "mnist_csv", "-o", x / "csv")
    assert code == 2 and "lies inside the folder" in err and "of the input file" in err
    dataset = engine.load("mnist", one)
    for overwrite in (False, True):  # the test subset alone would replace train as well
        with pytest.raises(engine.OutputExistsError, match="part of this folder"):
            engine.save(dataset, "mnist", x, overwrite=overwrite)
    code, _, err = run_main("transform", "-t", "reindex", "--overwrite", one)
    assert code == 2 and "holds the input file" in err
    assert list(engine.load("mnist", x).subsets()) == ["train", "test"]


def test_filter_into_a_folder_inside_its_input_is_refused(tmp_path):
    x = _mnist(tmp_path / "x")
    code, _, err = run_main(
        "filter", x, "-e", '/item[subset="test"]', "-o", x / "test-only", "--overwrite"
    )
    assert code == 2 and "lies inside the input" in err
    assert len(engine.load("mnist", x)) == 12


def test_preview_never_writes_its_sheet_into_the_dataset(tmp_path):
    inet = tmp_path / "inet"
    engine.save(make_dataset((("default", 6),)), "imagenet", inet)
    code, _, err = run_main("preview", inet, "-o", inet / "sheet.png")
    assert code == 2 and "lies inside the input" in err
    assert not (inet / "sheet.png").exists() and len(engine.load("imagenet", inet)) == 6
    code, _, err = run_main("preview", inet, "-o", tmp_path / "sheet.png")
    assert code == 0, err


def test_a_dataset_built_from_loaded_subsets_remembers_their_folder(tmp_path):
    x = _mnist(tmp_path / "x")
    loaded = engine.load(None, x)
    assert loaded.format == "mnist"  # detected, and remembered as Datumaro does
    rebuilt = engine.Dataset({"train": loaded["train"], "val": loaded["test"]})
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        engine.save(rebuilt, "mnist", x / "split", overwrite=True)
    for overwrite in (False, True):  # built from parts: never written over the whole folder
        with pytest.raises(engine.OutputExistsError, match="part of this folder"):
            engine.save(rebuilt, "mnist", x, overwrite=overwrite)


def test_a_dataset_read_with_subset_is_never_written_over_its_folder(tmp_path):
    x = _mnist(tmp_path / "x")
    test_only = engine.load("mnist", x, subset="test")
    test_only.transform("reindex", start=100)
    with pytest.raises(engine.OutputExistsError, match="part of this folder"):
        test_only.export(str(x), "mnist")
    assert list(engine.load("mnist", x).subsets()) == ["train", "test"]
    whole = engine.load("mnist", x).transform("reindex", start=100)
    whole.export(str(x), "mnist")  # the whole folder: an in-place edit
    assert engine.load("mnist", x)["test"][0].id == "107"


def test_a_dataset_rebuilt_from_every_subset_of_a_folder_is_the_whole_folder(tmp_path):
    x = _mnist(tmp_path / "x")
    loaded = engine.load("mnist", x)
    rebuilt = engine.Dataset(list(loaded.subsets().values()), loaded.categories)
    engine.save(rebuilt, "mnist", x, overwrite=True)  # every subset, same names: in place
    assert list(engine.load("mnist", x).subsets()) == ["train", "test"]
    code, _, err = run_main("transform", "-t", "remove_duplicates", "--overwrite", x)
    assert code == 0, err
    train_only = engine.Dataset([engine.load("mnist", x)["train"]])
    with pytest.raises(engine.OutputExistsError, match="part of this folder"):
        engine.save(train_only, "mnist", x, overwrite=True)
