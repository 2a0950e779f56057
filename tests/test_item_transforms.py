"""Datumaro's project_labels, remove_items, remove_annotations and rename, in Python and on the
command line; Datumaro transform names not offered say what to use instead."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.model import NO_LABEL
from tests.cli_helpers import run_main


@pytest.fixture
def sample(tmp_path):
    source = tmp_path / "mnist"
    engine.save(engine.load("mnist", engine.sample_path()), "mnist", source)
    return source


def _labels(dataset: engine.Dataset) -> dict[tuple[str, str], int | None]:
    return {(item.subset, item.id): item.label for item in dataset}


def test_project_labels_orders_drops_and_adds_classes_by_name(sample):
    dataset = engine.load("mnist", sample)
    before = _labels(dataset)
    projected = dataset.clone().transform("project_labels", dst_labels=["3", "1", "new"])
    assert list(projected.categories) == ["3", "1", "new"]
    for key, label in _labels(projected).items():
        old = before[key]
        expected = {3: 0, 1: 1}.get(old) if old is not None else None
        assert label == expected, key
    with pytest.raises(ValueError, match="more than once"):
        dataset.clone().transform("project_labels", dst_labels=["1", "1"])


def test_remove_items_and_annotations_name_items_by_id_and_subset(sample):
    dataset = engine.load("mnist", sample)
    with pytest.warns(engine.OptionNotUsedWarning, match="no item 999:train"):
        removed = dataset.clone().transform(
            "remove_items", ids=[("0", "train"), ("5", "test"), ("999", "train")]
        )
    assert len(removed) == len(dataset) - 2
    assert removed.get("0", "train") is None and removed.get("5", "test") is None
    assert removed.get("1", "train").label == dataset.get("1", "train").label  # ids are kept
    cleared = dataset.clone().transform("remove_annotations", ids=[("0", "train")])
    assert cleared.get("0", "train").label is None and len(cleared) == len(dataset)
    assert cleared.get("1", "train").label == dataset.get("1", "train").label
    everything = dataset.clone().transform("remove_annotations")
    assert all(label is None for label in _labels(everything).values())
    assert (everything["train"].labels == NO_LABEL).all()
    with pytest.raises(ValueError, match="pairs"):
        dataset.clone().transform("remove_items", ids=["0:train"])


def test_rename_ids_with_a_delimited_expression_and_refuse_clashes(sample):
    dataset = engine.load("mnist", sample)
    renamed = dataset.clone().transform("rename", regex="|^(\\d+)$|digit_\\1|")
    assert [item.id for item in renamed["test"]][:2] == ["digit_0", "digit_1"]
    np.testing.assert_array_equal(renamed["test"].images, dataset["test"].images)
    with pytest.raises(ValueError, match="would all become 'x'"):
        dataset.clone().transform("rename", regex="#^.*$#x#")
    for bad in ("abc", "|a|", "|(|x|"):
        with pytest.raises(ValueError, match="rename"):
            dataset.clone().transform("rename", regex=bad)


def test_the_command_line_takes_datumaros_spellings(sample, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_main(
        "transform", "-t", "remove_items", "-i", sample, "-o", out, "--",
        "--id", "0:train", "--id", "1:train",
    )  # fmt: skip
    assert code == 0, err
    assert len(engine.load("mnist", out)["train"]) == 498
    code, _, err = run_main(
        "transform", "-t", "project_labels", "-i", sample, "-o", tmp_path / "p", "--",
        "-l", "7", "-l", "0",
    )  # fmt: skip
    assert code == 0, err
    assert list(engine.load("mnist", tmp_path / "p").categories) == ["7", "0"]
    code, _, err = run_main("transform", "-t", "rename", "-i", sample, "-o", tmp_path / "r",
                            "--", "-e", "|^|n|")  # fmt: skip
    assert code == 0, err
    code, _, err = run_main("transform", "-t", "remove_items", "-i", sample, "-o",
                            tmp_path / "x", "--", "--id", "17")  # fmt: skip
    assert code == 2 and "ID:SUBSET" in err and not (tmp_path / "x").exists()


@pytest.mark.parametrize(("name", "hint"), [("ndr", "remove_duplicates"), ("resize", "--resize")])
def test_datumaro_transforms_not_offered_say_what_to_use(sample, tmp_path, name, hint):
    with pytest.raises(engine.NotSupportedError, match=hint):
        engine.load("mnist", sample).transform(name)
    code, _, err = run_main("transform", "-t", name, "-i", sample, "-o", tmp_path / "o")
    assert code == 2 and hint in err and err.count("\n") == 1
