"""Quality findings: engine.validate (class balance, unlabeled, blank/faint/inverted images,
values out of range, repeated ids, duplicates and leakage) and `validate --fail-on` rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.errors import UsageError
from engine.model import NO_LABEL, Subset
from engine.ops.quality import Rule, parse_rules
from engine.ops.synthetic import synthesize_digits
from tests.cli_helpers import run_main

CLASSES = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def flawed() -> engine.Dataset:
    """train: 60 digits, class 0 four times as common as class 9 ... plus a blank, a near-blank,
    a faint, an inverted image and two unlabeled items; test: 20 digits, 3 copied from train
    (one with another label), ids with a repeat."""
    images, labels = synthesize_digits(100, seed=3)
    labels = np.asarray(labels, dtype=np.int32)
    train_labels = labels[:60].copy()
    train_labels[:8] = 0  # class 0 grows
    train_labels[8:10] = NO_LABEL
    train_images = images[:60].copy()
    train_images[10] = 0  # blank
    train_images[11] = 0
    train_images[11, 14, 14] = 255  # near-blank: one pixel of ink
    train_images[12] = images[12] // 4  # faint: brightest pixel 63
    train_images[13] = 255 - images[13]  # inverted
    test_images = np.concatenate([images[60:77], images[20:23]])
    test_labels = np.concatenate([labels[60:77], labels[20:23]]).astype(np.int32)
    test_labels[-1] = (test_labels[-1] + 1) % 10
    test_ids = np.array([f"t{i}" for i in range(19)] + ["t0"], dtype=object)
    return engine.Dataset(
        {
            "train": Subset("train", train_labels, train_images),
            "test": Subset("test", test_labels, test_images, ids=test_ids),
        },
        CLASSES,
    )


def test_validate_measures_every_finding(flawed):
    report = engine.validate(flawed)
    assert isinstance(report, engine.QualityReport)
    train, test = report.subsets["train"], report.subsets["test"]
    counts = np.bincount(flawed["train"].labels[flawed["train"].labels >= 0], minlength=10)
    assert train.classes == {str(c): int(n) for c, n in enumerate(counts)}
    assert train.imbalance == pytest.approx(counts.max() / counts.min())
    assert train.unlabeled == 2 and test.unlabeled == 0
    assert (train.blank, train.near_blank, train.faint, train.inverted) == (1, 1, 1, 1)
    assert (test.blank, test.near_blank, test.faint, test.inverted) == (0, 0, 0, 0)
    assert train.out_of_range == 0
    assert test.repeated_ids == 1 and train.repeated_ids == 0
    assert any("ids occur more than once" in p for p in report.problems)
    assert report.duplicates is not None
    totals = report.duplicates.totals()
    assert totals["leaked"] == 3 and totals["disagree"] == 1
    figures = report.metrics()
    assert figures["leakage"] == 3 and figures["unlabeled"] == 2 and figures["blank"] == 2
    assert figures["imbalance"] == pytest.approx(max(train.imbalance, test.imbalance))
    json.dumps(report.to_dict())  # plain data


def test_validate_with_a_format_and_without_duplicates(flawed):
    report = engine.validate(flawed, "mnist", duplicates=False)
    assert report.duplicates is None and report.metrics()["leakage"] == 0
    colour = engine.Dataset(
        {
            "train": Subset(
                "train", np.arange(3, dtype=np.int32), np.zeros((3, 30, 31, 3), np.uint8)
            )
        },
        ["a", "b", "c"],
    )
    report = engine.validate(colour, "mnist", targets=["mnist_csv"], duplicates=False)
    assert not report.valid and report.metrics()["problems"] == 2
    assert report.problems[0].startswith("subset 'train': images are 30x31x3")
    assert report.problems[1].startswith("as mnist_csv: subset 'train'")


def test_values_out_of_range_and_an_empty_class():
    floats = np.full((3, 28, 28), 0.5, dtype=np.float32)
    floats[0, 3, 3] = 1.7
    floats[1, 0, 0] = np.nan
    wide = np.zeros((2, 28, 28), dtype=np.int16)
    wide[0, 5, 5] = 300
    wide[1, 10:20, 10:20] = 200
    dataset = engine.Dataset(
        {
            "train": Subset("train", np.array([0, 0, 1], np.int32), floats),
            "test": Subset("test", np.array([0, 1], np.int32), wide),
        },
        ["a", "b", "c"],
    )
    report = engine.validate(dataset, duplicates=False)
    assert report.subsets["train"].out_of_range == 2
    assert report.subsets["test"].out_of_range == 1
    assert report.subsets["train"].imbalance is None  # class c has no item
    assert report.metrics()["imbalance"] == float("inf")
    assert report.to_dict()["subsets"]["train"]["imbalance"] is None
    rules = parse_rules("imbalance>3")
    assert report.failed(rules) == ["imbalance>3 (found no items in a class)"]


def test_images_of_several_shapes_and_none():
    images = [np.zeros((28, 28), np.uint8), None, np.full((32, 32, 3), 90, np.uint8)]
    dataset = engine.Dataset({"train": Subset("train", np.array([0, 1, 1], np.int32), images)})
    quality = engine.validate(dataset).subsets["train"]
    assert quality.no_image == 1 and quality.blank == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("leakage", [Rule("leakage", 0)]),
        ("leakage, imbalance>3", [Rule("leakage", 0), Rule("imbalance", 3)]),
        ("unlabeled>100,blank>.5,", [Rule("unlabeled", 100), Rule("blank", 0.5)]),
    ],
)
def test_rules_parse(text, expected):
    assert parse_rules(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("leak", "'leak' is not a rule"),
        ("imbalance", "imbalance needs a limit.*quote the rules"),
        ("imbalance>x", "is not a rule"),
        ("imbalance<3", "is not a rule"),
        ("leakage>-1", "is not a rule"),
        (",", "name at least one rule"),
    ],
)
def test_bad_rules_are_usage_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_rules(text)


def test_validate_command_rules_and_exit_codes(tmp_path):
    images, labels = synthesize_digits(60, seed=9)
    labels = np.asarray(labels, dtype=np.int32)
    labels[:6] = 0
    test_images = np.concatenate([images[40:], images[:2]])
    test_labels = np.concatenate([labels[40:], labels[:2]])
    dataset = engine.Dataset(
        {
            "train": Subset("train", labels[:40], images[:40]),
            "test": Subset("test", test_labels, test_images),
        },
        CLASSES,
    )
    path = tmp_path / "leaky"
    engine.save(dataset, "mnist", path)

    code, out, err = run_main("validate", path)
    assert code == 0, err
    assert "quality" in out and "duplicates: 2 exact" in out and "2 across subsets" in out
    assert "valid mnist" in out

    code, out, _ = run_main("validate", path, "--fail-on", "leakage")
    assert code == 1 and "failed: leakage (found 2)" in out and "1 rule failed" in out
    code, out, _ = run_main("validate", path, "--fail-on", "imbalance>100,unlabeled")
    assert code == 0
    code, out, _ = run_main("validate", path, "--fail-on", "leakage>2")
    assert code == 0

    code, out, _ = run_main("validate", path, "--fail-on", "leakage,imbalance>1", "--json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is True
    assert report["rules"] == ["leakage", "imbalance>1"]
    assert report["failed_rules"][0] == "leakage (found 2)"
    assert report["failed_rules"][1].startswith("imbalance>1 (found ")
    assert report["quality"]["duplicates"]["totals"]["leaked"] == 2
    assert report["quality"]["subsets"]["train"]["items"] == 40

    for bad in ("leak", "imbalance", "imbalance>>3", "x" * 100_000):
        code, _, err = run_main("validate", path, "--fail-on", bad)
        assert code == 2 and err.count("\n") == 1 and "--fail-on" in err and len(err) < 300
    code, _, err = run_main("validate", path, "--fail-on", "leakage", "--no-duplicates")
    assert code == 2 and "needs the duplicate search" in err
    code, _, err = run_main("validate", path, "--no-near", "--threshold", "0.2")
    assert code == 2 and "--threshold cannot go with --no-near" in err
    code, _, err = run_main("validate", path, "--no-duplicates", "--threshold", "0.2")
    assert code == 2 and "--threshold cannot go with --no-duplicates" in err
    code, _, err = run_main("report", path, "-o", str(tmp_path / "r.html"), "--threshold", "-1")
    assert code == 2 and "between 0 and 1" in err and not (tmp_path / "r.html").exists()
    code, out, _ = run_main("validate", path, "--no-duplicates")
    assert code == 0 and "duplicates:" not in out
