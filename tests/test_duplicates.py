"""Duplicates and leakage: planted copies (identical, shifted by a pixel, noisy, relabelled across
subsets) are all found at the default threshold, distinct digits never pair, and the transform,
the command and hostile inputs behave."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image

import engine
from engine.compute.executors import InlineExecutor
from engine.model import NO_LABEL, Subset
from engine.ops import near_pairs
from engine.ops.duplicates import EXACT, NEAR, find_duplicates
from engine.ops.synthetic import synthesize_digits
from tests.cli_helpers import run_main

CLASSES = [str(d) for d in range(10)]
SHIFTS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """2,000 distinct synthetic digits (our own generator) and their labels."""
    return synthesize_digits(2000, seed=11)


def _dataset(**parts: tuple[np.ndarray, np.ndarray]) -> engine.Dataset:
    return engine.Dataset(
        {name: Subset(name, labels, images) for name, (images, labels) in parts.items()}, CLASSES
    )


def _shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    padded = np.pad(image, 1)
    return padded[1 - dy : 29 - dy, 1 - dx : 29 - dx]


def _planted(digits, count: int = 240):
    """train: 600 digits; test: planted copies of the first ``count`` train digits (exact, shifted
    by one pixel in 8 directions, gaussian noise of sigma 8, identical with another label) and
    100 distinct digits. Returns the dataset and {test row: (train row, kind, label differs)}."""
    images, labels = digits
    train_images, train_labels = images[:600], labels[:600]
    rng = np.random.default_rng(5)
    copies, copy_labels, truth = [], [], {}
    for row in range(count):
        image, label, plant = train_images[row], int(train_labels[row]), row % 4
        if plant == 0:
            copy, kind = image.copy(), EXACT
        elif plant == 1:
            copy, kind = _shift(image, *SHIFTS[row % 8]), NEAR
        elif plant == 2:
            noisy = image + rng.normal(0, 8, image.shape)
            copy, kind = np.clip(noisy, 0, 255).round().astype(np.uint8), NEAR
        else:
            copy, kind, label = image.copy(), EXACT, (label + 1) % 10
        truth[len(copies)] = (row, kind, plant == 3)
        copies.append(copy)
        copy_labels.append(label)
    test_images = np.concatenate([np.stack(copies), images[1000:1100]])
    test_labels = np.concatenate([np.array(copy_labels), labels[1000:1100]]).astype(np.int32)
    dataset = _dataset(train=(train_images, train_labels), test=(test_images, test_labels))
    return dataset, truth


def _found(report) -> dict[int, tuple[int, str, bool]]:
    return {
        p.row_b: (p.row_a, p.kind, p.label_disagrees)
        for p in report.pairs
        if (p.subset_a, p.subset_b) == ("train", "test")
    }


def test_planted_duplicates_are_all_found_and_nothing_else(digits):
    dataset, truth = _planted(digits)
    report = engine.find_duplicates(dataset)
    assert report.threshold == near_pairs.DEFAULT_THRESHOLD
    assert _found(report) == truth  # recall 1.0, the right kind and label disagreement
    assert len(report) == len(truth)  # precision 1.0: no other pair
    counts = report.counts()
    assert counts["train/test"] == {"exact": 120, "near": 120, "disagree": 60}
    assert counts["train"] == counts["test"] == {"exact": 0, "near": 0, "disagree": 0}
    assert len(report.leaked) == len(truth)
    assert all(p.label_a != p.label_b for p in report.label_disagreements)
    near = [p.distance for p in report.pairs if p.kind == NEAR]
    assert min(near) >= 0 and max(near) < report.threshold


def test_distinct_digits_make_no_pairs(digits):
    images, labels = digits
    dataset = _dataset(train=(images[:1500], labels[:1500]), test=(images[1500:], labels[1500:]))
    report = find_duplicates(dataset)
    assert len(report) == 0
    assert report.totals() == {"exact": 0, "near": 0, "leaked": 0, "disagree": 0}


def test_duplicates_within_a_subset_and_a_chosen_subset(digits):
    images, labels = digits
    train = np.concatenate([images[:50], images[:3], _shift(images[7], 0, 1)[None]])
    train_labels = np.concatenate([labels[:50], labels[:3], labels[7:8]])
    dataset = _dataset(train=(train, train_labels), test=(images[:2], labels[:2]))
    report = find_duplicates(dataset, subsets=["train"])
    assert report.subsets == ["train"]
    assert report.counts() == {"train": {"exact": 3, "near": 1, "disagree": 0}}
    pairs = {(p.row_a, p.row_b) for p in report.pairs}
    assert pairs == {(0, 50), (1, 51), (2, 52), (7, 53)}
    everywhere = find_duplicates(dataset).counts()
    assert everywhere["train/test"]["exact"] == 2
    with pytest.raises(ValueError, match="no subset 'val'"):
        find_duplicates(dataset, subsets=["val"])


def test_exact_only_and_threshold(digits):
    dataset, truth = _planted(digits, count=40)
    exact = find_duplicates(dataset, near=False)
    assert {p.kind for p in exact.pairs} == {EXACT}
    assert len(exact) == sum(kind == EXACT for _, kind, _ in truth.values())
    strict = find_duplicates(dataset, threshold=0.0)  # shifted copies align exactly: distance 0
    assert {p.row_b for p in strict.pairs if p.kind == NEAR} >= {
        row for row, (_, kind, _) in truth.items() if kind == NEAR and row % 4 == 1
    }
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            find_duplicates(dataset, threshold=bad)
    with pytest.warns(engine.OptionNotUsedWarning, match="threshold is not used"):
        find_duplicates(dataset, near=False, threshold=0.2)


def test_an_executor_gives_the_same_pairs_and_is_said_unused_without_near(digits, monkeypatch):
    monkeypatch.setattr(near_pairs, "BLOCK", 128)  # many block products, several windows
    dataset, _ = _planted(digits, count=40)
    here = find_duplicates(dataset)
    there = find_duplicates(dataset, executor=InlineExecutor())
    assert [p.to_dict() for p in here.pairs] == [p.to_dict() for p in there.pairs]
    with pytest.warns(engine.OptionNotUsedWarning, match="executor is not used"):
        find_duplicates(dataset, near=False, executor=InlineExecutor())


@pytest.mark.filterwarnings("ignore:Couldn't detect a suitable IP address:RuntimeWarning")
def test_a_dask_cluster_runs_the_block_products(digits, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(near_pairs, "BLOCK", 256)
    dataset, truth = _planted(digits, count=40)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        report = find_duplicates(dataset, executor=client)
    assert _found(report) == truth and len(report) == len(truth)


def test_hashed_buckets_beyond_the_all_pairs_limit_find_the_planted_pairs(digits, monkeypatch):
    monkeypatch.setattr(near_pairs, "ALL_PAIRS_LIMIT", 100)
    monkeypatch.setattr(near_pairs, "LSH_BUCKET", 64)
    monkeypatch.setattr(near_pairs, "LSH_GROUP", 40)  # buckets both grouped and on their own
    dataset, truth = _planted(digits)
    report = find_duplicates(dataset)
    assert report.method.startswith("LSH")
    assert _found(report) == truth
    assert len(report) == len(truth)


def test_lsh_plan_grows_slowly():
    bits, tables = near_pairs.lsh_plan(1_000_000)
    assert 2**bits * near_pairs.LSH_BUCKET >= 1_000_000
    agree = (1 - np.arccos(near_pairs.LSH_COSINE) / np.pi) ** bits
    assert 1 - (1 - agree) ** tables >= near_pairs.LSH_RECALL


# -- the transform -------------------------------------------------------------------------------


def test_remove_duplicates_keep_first_and_train(digits):
    images, labels = digits
    train = np.concatenate([images[:20], images[:2]])  # rows 20, 21 repeat rows 0, 1
    train_labels = np.concatenate([labels[:20], labels[:2]])
    test = np.concatenate([images[100:110], images[5:7], _shift(images[8], 1, 0)[None]])
    test_labels = np.concatenate([labels[100:110], labels[5:7], labels[8:9]])
    dataset = _dataset(test=(test, test_labels), train=(train, train_labels))

    first = dataset.clone().transform("remove_duplicates", keep="first")
    assert len(first["train"]) == 20 and len(first["test"]) == 10
    assert list(first.subsets()) == ["test", "train"]  # the dataset's order is kept
    assert list(first["test"].id_column()) == [str(i) for i in range(10)]  # ids kept

    train_kept = dataset.clone()
    assert train_kept.transform("remove_duplicates", keep="train") is train_kept  # in place
    assert len(train_kept["train"]) == 22  # duplicates within train stay
    assert len(train_kept["test"]) == 10  # the three leaked copies are gone

    exact_only = dataset.clone().transform("remove_duplicates", keep="train", near=False)
    assert len(exact_only["test"]) == 11  # the shifted copy is only a near-duplicate
    with pytest.raises(ValueError, match="keep must be"):
        dataset.clone().transform("remove_duplicates", keep="last")
    lone = _dataset(test=(test, test_labels))
    with pytest.raises(ValueError, match="needs a subset 'train'"):
        lone.transform("remove_duplicates", keep="train")


def test_remove_duplicates_from_the_command_line_and_in_a_project(digits, tmp_path):
    images, labels = digits
    dataset = _dataset(
        train=(images[:30], labels[:30]),
        test=(
            np.concatenate([images[30:40], images[:4]]),
            np.concatenate([labels[30:40], labels[:4]]),
        ),
    )
    source = tmp_path / "mnist"
    engine.save(dataset, "mnist", source)
    out = tmp_path / "clean"
    code, _, err = run_main(
        "transform", "-t", "remove_duplicates", "-i", source, "-o", out, "--", "--keep", "train"
    )
    assert code == 0, err
    clean = engine.load("mnist", out)
    assert len(clean["train"]) == 30 and len(clean["test"]) == 10

    code, _, err = run_main(
        "transform", "-t", "remove_duplicates", str(source), "--", "--keep", "x"
    )
    assert code == 2 and "invalid choice" in err
    code, _, err = run_main(
        "transform", "-t", "remove_duplicates", str(source), "--", "--no-near", "--threshold", ".2"
    )
    assert code == 2 and "--threshold cannot go with --no-near" in err

    project = tmp_path / "project"
    assert run_main("create", "-o", project)[0] == 0
    assert run_main("import", "-p", project, "-f", "mnist", source)[0] == 0
    code, _, err = run_main(
        "transform", "-t", "remove_duplicates", "-p", project, "--", "--keep", "train"
    )
    assert code == 0, err
    assert "remove_duplicates" in (project / "project.toml").read_text()
    assert len(engine.Project.open(project).dataset()["test"]) == 10


# -- the command ---------------------------------------------------------------------------------


def test_dedup_command_json_text_and_sheet(digits, tmp_path):
    dataset, truth = _planted(digits, count=24)
    source = tmp_path / "planted"
    engine.save(dataset, "mnist", source)
    code, text, err = run_main("dedup", f"{source}:mnist", "--json")
    assert code == 0, err
    found = json.loads(text)
    assert found["format"] == "mnist" and found["threshold"] == near_pairs.DEFAULT_THRESHOLD
    assert found["totals"] == {"exact": 12, "near": 12, "leaked": 24, "disagree": 6}
    assert found["counts"]["train/test"] == {"exact": 12, "near": 12, "disagree": 6}
    assert len(found["pairs"]) == 24
    assert {pair["b"]["id"] for pair in found["pairs"]} == {str(row) for row in truth}

    sheet = tmp_path / "pairs.png"
    code, text, err = run_main("dedup", str(source), "--sheet", str(sheet))
    assert code == 0, err
    assert "labels disagree (a label error or an ambiguous digit):" in text
    assert "train/test" in text and f"wrote {sheet}" in text
    with Image.open(sheet) as picture:
        assert picture.format == "PNG" and picture.width > 200 and picture.height > 100
    assert not list(tmp_path.glob(".pairs.png.*"))  # no temporary file left

    assert run_main("dedup", str(source), "--sheet", str(sheet))[0] == 2  # exists
    assert run_main("dedup", str(source), "--sheet", str(sheet), "--overwrite")[0] == 0
    code, _, err = run_main("dedup", str(source), "--sheet", str(source / "x.png"))
    assert code == 2 and "inside the input" in err
    code, _, err = run_main("dedup", str(source), "--threshold", "2")
    assert code == 2 and "between 0 and 1" in err
    code, _, err = run_main("dedup", str(source), "--sheet", str(tmp_path / "x.jpg"))
    assert code == 2 and "PNG" in err
    code, text, _ = run_main("dedup", str(source), "--no-near")
    assert code == 0 and "identical images only" in text


# -- hostile inputs ------------------------------------------------------------------------------


def test_empty_and_single_item_datasets():
    empty = engine.Dataset({"train": Subset("train", np.zeros(0, np.int32))}, CLASSES)
    assert len(find_duplicates(empty)) == 0
    assert len(find_duplicates(engine.Dataset([], CLASSES))) == 0
    one = _dataset(train=(np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.int32)))
    report = find_duplicates(one)
    assert len(report) == 0 and report.counts() == {"train": {"exact": 0, "near": 0, "disagree": 0}}


def test_all_identical_items_make_one_group_not_n_squared_pairs():
    images = np.full((3000, 28, 28), 200, dtype=np.uint8)
    labels = np.arange(3000, dtype=np.int32) % 10
    report = find_duplicates(_dataset(train=(images, labels)))
    assert len(report) == 2999  # each item paired with the first, never all pairs
    assert {p.row_a for p in report.pairs} == {0}
    assert report.totals()["disagree"] == sum(labels[1:] != labels[0])
    blank = find_duplicates(_dataset(train=(np.zeros((5, 28, 28), np.uint8), labels[:5])))
    assert blank.totals()["exact"] == 4


def test_other_sizes_colour_float_and_missing_images(digits):
    images, labels = digits
    big = np.stack([np.asarray(Image.fromarray(i).resize((32, 32))) for i in images[:30]])
    bigger = np.concatenate([big, big[:2]])
    report = find_duplicates(_dataset(train=(bigger, np.zeros(32, np.int32))))
    assert {(p.row_a, p.row_b, p.kind) for p in report.pairs} == {(0, 30, EXACT), (1, 31, EXACT)}

    rgb = np.repeat(images[:20, :, :, None], 3, axis=3)
    rgb_copy = rgb.copy()
    rgb_copy[3] = np.clip(rgb[3].astype(int) + 5, 0, 255)  # a slightly brighter copy
    dataset = _dataset(train=(rgb, labels[:20]), test=(rgb_copy[2:4], labels[2:4]))
    kinds = {(p.row_a, p.row_b): p.kind for p in find_duplicates(dataset).pairs}
    assert kinds == {(2, 0): EXACT, (3, 1): NEAR}

    floats = images[:10].astype(np.float32) / 255
    report = find_duplicates(_dataset(train=(np.concatenate([floats, floats[:1]]), labels[:11])))
    assert [(p.row_a, p.row_b) for p in report.pairs] == [(0, 10)]

    mixed: list[np.ndarray | None] = [images[0], None, images[0], images[1][:20, :20], None]
    subset = Subset("train", np.array([1, NO_LABEL, 1, 2, 3], np.int32), mixed)
    report = find_duplicates(engine.Dataset({"train": subset}, CLASSES))
    assert report.with_images == 3 and report.items == 5
    assert [(p.row_a, p.row_b, p.label_b) for p in report.pairs] == [(0, 2, 1)]
    labels_only = engine.Dataset({"train": Subset("train", np.zeros(4, np.int32))}, CLASSES)
    assert len(find_duplicates(labels_only)) == 0

    odd = [np.zeros((2, 28, 28, 1), np.uint8), np.ones((2, 28, 28, 1), np.uint8)]
    strange = engine.Dataset({"train": Subset("train", np.zeros(2, np.int32), odd)}, CLASSES)
    with pytest.raises(
        ValueError, match=r"item '0': an image of shape .2, 28, 28, 1. .* no picture"
    ):
        find_duplicates(strange)


def test_pairs_serialise_and_the_public_names_exist(digits):
    dataset, _ = _planted(digits, count=8)
    report = engine.find_duplicates(dataset)
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["totals"]["leaked"] == 8 and len(as_json["pairs"]) == 8
    assert isinstance(report.pairs[0], engine.DuplicatePair)
    assert isinstance(report, engine.DuplicateReport)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert report.to_dict(limit=2)["pairs"] == as_json["pairs"][:2]
