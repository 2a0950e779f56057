"""The Datumaro verbs and habits on the command line: transform, merge, compare/diff, the dinfo
and detect-format aliases, --version, --json, validate -t, did-you-mean, help texts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run_main

import engine
from engine.cli.commands import COMMANDS
from engine.model import Subset
from engine.ops.transform_options import _BUILDERS
from engine.ops.transforms import TRANSFORMS


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """An MNIST folder with 60 train and 20 test items, labels 0..9 evenly."""
    rng = np.random.default_rng(5)
    parts = [
        Subset(
            name,
            np.arange(count, dtype=np.int32) % 10,
            rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
        )
        for name, count in (("train", 60), ("test", 20))
    ]
    path = tmp_path_factory.mktemp("verbs") / "digits"
    engine.save(engine.Dataset(parts, [str(d) for d in range(10)]), "mnist", path)
    return path


def test_version_and_aliases(digits):
    code, out, _ = run_main("--version")
    assert code == 0 and out.strip() == f"mnist-engine {engine.__version__}"
    assert run_main("dinfo", digits)[1] == run_main("info", digits)[1]
    assert run_main("detect-format", digits)[1] == run_main("detect", digits)[1]
    code, out, _ = run_main("info", digits, "--json")
    report = json.loads(out)
    assert report["subsets"]["train"]["class_counts"]["3"] == 6
    assert report["subsets"]["test"]["unlabeled"] == 0
    assert json.loads(run_main("detect", digits, "--json")[1])[0]["format"] == "mnist"
    code, out, _ = run_main("verify", digits, "--json")
    assert code == 1 and json.loads(out)["ok"] is False  # our own files differ from MNIST's


def test_every_transform_has_command_line_options():
    assert set(_BUILDERS) == set(TRANSFORMS)


def test_transform_random_split_and_its_help(digits, tmp_path):
    code, out, err = run_main(
        "transform",
        "-t",
        "random_split",
        "-i",
        digits,
        "-o",
        tmp_path / "split",
        "--",
        "--subset",
        "train:.75",
        "--subset",
        "val:.25",
        "--seed",
        "3",
    )
    assert code == 0, err
    split = engine.load("mnist", tmp_path / "split")
    assert {n: len(s) for n, s in split.subsets().items()} == {"train": 60, "val": 20}
    assert np.bincount(split["val"].labels).tolist() == [2] * 10  # stratified: 8 of each class
    code, out, _ = run_main("transform", "-t", "random_split", "--", "-h")
    assert code == 0 and "--subset NAME:RATIO" in out and "--seed" in out
    code, _, err = run_main("transform", "-t", "random_spilt", "-i", digits, "-o", tmp_path / "x")
    assert code == 2 and "did you mean 'random_split'?" in err
    code, _, err = run_main(
        "transform",
        "-t",
        "random_split",
        "-i",
        digits,
        "-o",
        tmp_path / "y",
        "--",
        "-s",
        "train:.5",
        "-s",
        "val:.2",
    )
    assert code == 2 and "sum to 0.7" in err and not (tmp_path / "y").exists()
    code, _, err = run_main(
        "transform", "-t", "reindex", "-i", digits, "-o", tmp_path / "z", "--", "-s", "x"
    )
    assert code == 2 and "invalid int value" in err


def test_transform_remap_map_and_reindex(digits, tmp_path):
    code, _, err = run_main(
        "transform",
        "-t",
        "remap_labels",
        "-i",
        digits,
        "-o",
        tmp_path / "r",
        "--",
        "-l",
        "1:7",
        "-l",
        "2:",
        "--default",
        "keep",
    )
    assert code == 0, err
    remapped = engine.load("mnist", tmp_path / "r")
    assert remapped.categories == ("0", "7", "3", "4", "5", "6", "8", "9")
    assert int(np.count_nonzero(remapped["train"].labels == 1)) == 12
    assert int(np.count_nonzero(remapped["train"].labels == -1)) == 6
    run_main(
        "transform", "-t", "map_subsets", "-i", digits, "-o", tmp_path / "m", "--", "-s", "test:val"
    )
    assert list(engine.load("mnist", tmp_path / "m").subsets()) == ["train", "val"]
    run_main(
        "transform",
        "-t",
        "reindex",
        "-i",
        digits,
        "-o",
        tmp_path / "n",
        "-f",
        "mnist_csv",
        "--",
        "--start",
        "5",
    )
    reindexed = engine.load("mnist_csv", tmp_path / "n")
    assert reindexed["train"][0].id == "5" and reindexed["test"][0].id == "65"


def test_transform_recorded_in_a_project(digits, tmp_path):
    project = tmp_path / "proj"
    assert run_main("create", "-o", project)[0] == 0
    assert run_main("import", "-p", project, "-f", "mnist", digits)[0] == 0
    code, out, err = run_main(
        "transform", "-t", "map_subsets", "-p", project, "--", "-s", "test:val"
    )
    assert code == 0 and "recorded" in out, err
    code, _, err = run_main("transform", "-t", "remap_labels", "-p", project, "--", "-l", "zz:a")
    assert code == 0  # options are checked now; class names when the project is exported
    code, _, err = run_main("export", "-p", project, "-f", "mnist", "-o", tmp_path / "out")
    assert code == 2 and "no class 'zz'" in err
    text = (project / "project.toml").read_text()
    (project / "project.toml").write_text(text.replace('"zz:a"', '"3:three"'))
    assert run_main("export", "-p", project, "-f", "mnist", "-o", tmp_path / "out")[0] == 0
    exported = engine.load("mnist", tmp_path / "out")
    assert list(exported.subsets()) == ["train", "val"] and "three" in exported.categories


def test_merge_renumbers_clashes_or_refuses(digits, tmp_path):
    engine.save(engine.load("mnist", digits), "mnist_csv", tmp_path / "csv")
    code, _, err = run_main("merge", digits, f"{tmp_path / 'csv'}:mnist_csv", "-o", tmp_path / "m")
    assert code == 0, err
    assert "60 items of source" in err and "renumbered 0->60" in err
    merged = engine.load("mnist", tmp_path / "m")
    assert {n: len(s) for n, s in merged.subsets().items()} == {"train": 120, "test": 40}
    code, _, err = run_main("merge", digits, digits, "-o", tmp_path / "n", "--no-renumber")
    assert code == 2 and "ids an earlier source holds" in err and not (tmp_path / "n").exists()
    code, _, err = run_main("merge", digits, "-o", tmp_path / "k")
    assert code == 2 and "two or more" in err


def test_compare_and_diff(digits, tmp_path):
    code, out, _ = run_main("compare", digits, digits)
    assert code == 0 and "equal" in out.splitlines()[-1]
    dataset = engine.load("mnist", digits)
    train = dataset["train"]
    images, labels = train.images.copy(), train.labels.copy()
    images[4, 0, 0] ^= 1
    labels[7] = 9 if labels[7] != 9 else 0
    changed = engine.Dataset([Subset("train", labels[:-1], images[:-1])], dataset.categories)
    engine.save(changed, "mnist", tmp_path / "changed")
    code, out, _ = run_main("diff", digits, tmp_path / "changed")
    assert code == 1 and "the datasets differ" in out
    assert "train/4: 1 pixel values" in out and "train/7:" in out and "test/0" in out
    code, out, _ = run_main("compare", digits, tmp_path / "changed", "--json")
    report = json.loads(out)
    assert code == 1 and report["equal"] is False
    assert len(report["only_in_a"]) == 21 and report["only_in_b"] == []
    assert [d["id"] for d in report["image_differences"]] == ["4"]


def test_validate_task_flag_and_target_formats(digits):
    code, out, _ = run_main("validate", digits, "-t", "classification", "--json")
    report = json.loads(out)
    assert code == 0 and report["valid"] and report["task"] == "classification"
    code, out, _ = run_main("validate", digits, "-t", "imagenet", "--as", "mnist_csv")
    assert code == 0 and "valid mnist" in out  # a format after -t: our former flag, still taken
    code, _, err = run_main("validate", digits, "-t", "detection")
    assert code == 2 and "not a task type" in err


def test_misspelled_format_and_help_texts(digits, tmp_path):
    code, _, err = run_main("convert", "-i", digits, "-f", "imagnet", "-o", tmp_path / "x")
    assert code == 2 and "did you mean 'imagenet'?" in err
    code, out, _ = run_main("convert", "--help")
    assert code == 0 and all(name in out for name in engine.formats())
    code, out, _ = run_main(
        "convert", "-i", digits, "-f", "mnist", "-o", tmp_path / "x", "--", "-h"
    )
    assert code == 0 and "--compression" in out and not (tmp_path / "x").exists()
    names = {c.NAME for c in COMMANDS}
    assert {"transform", "merge", "compare"} <= names


def test_transform_in_a_project_folder_needs_no_flag(digits, tmp_path):
    project = tmp_path / "here"
    run_main("create", "-o", project)
    run_main("import", "-p", project, "-f", "mnist", digits)
    code, out, _ = run_main("transform", "-t", "reindex", "--", "-s", "100", cwd=project)
    assert code == 0 and "recorded" in out
    run_main("export", "-f", "mnist_csv", "-o", tmp_path / "out", cwd=project)
    assert engine.load("mnist_csv", tmp_path / "out")["train"][0].id == "100"


def test_merge_policies_exact_and_intersect(digits, tmp_path):
    code, _, err = run_main("merge", digits, digits, "-o", tmp_path / "e", "-m", "exact")
    assert code == 2 and not (tmp_path / "e").exists(), err
    code, _, err = run_main(
        "merge", digits, digits, "-o", tmp_path / "i", "--merge-policy", "intersect"
    )
    assert code == 0, err
    assert engine.compare(engine.load("mnist", tmp_path / "i"), engine.load("mnist", digits)).equal


def test_verify_takes_path_colon_format(digits, tmp_path):
    plain = run_main("verify", digits, "--json")
    named = run_main("verify", f"{digits}:MNIST", "--json")
    assert (
        named[0] == plain[0] and named[1] == run_main("verify", digits, "-f", "mnist", "--json")[1]
    )
    code, _, err = run_main("verify", f"{digits}:mnist", "-f", "mnist_csv")
    assert code == 2 and "names format mnist" in err
