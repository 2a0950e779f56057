"""The command line as a Datumaro user types it: PATH:FORMAT in every verb that reads a dataset,
in-place filter and transform on a dataset folder, format names in any case, and the small
promises (compare --json --limit, whole help sentences, empty filters, exact-merge counts,
detection that says why, broken user specs, the shipped sample)."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest
from cli_helpers import run_cli, run_main
from conftest import make_dataset

import engine
from engine.ops.transforms import TRANSFORMS


def _mnist(path, counts=(("train", 7), ("test", 5)), seed=0):
    engine.save(make_dataset(counts, seed=seed), "mnist", path)
    return path


def _entries(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "verb", [["info"], ["dinfo"], ["stats"], ["validate"], ["detect"], ["info", "--json"]]
)
def test_path_colon_format_is_read_by_every_reading_verb(tmp_path, verb):
    data = _mnist(tmp_path / "data")
    code, out, err = run_main(*verb, f"{data}:mnist")
    assert code == 0, err
    assert "12" in out or verb == ["detect"]
    code, _, err = run_main(*verb, f"{data}:MNIST")  # any letter case
    assert code == 0, err


def test_filter_and_convert_read_path_colon_format(tmp_path):
    data = _mnist(tmp_path / "data")
    code, _, err = run_main(
        "filter", f"{data}:mnist", "-e", '/item[subset="test"]', "-o", tmp_path / "t"
    )
    assert code == 0, err and len(engine.load("mnist", tmp_path / "t")) == 5
    code, _, err = run_main(
        "convert", "-i", f"{data}:Mnist", "-f", "MNIST_CSV", "-o", tmp_path / "c"
    )
    assert code == 0, err
    assert len(engine.load("mnist_csv", tmp_path / "c")) == 12


def test_filter_in_place_on_a_dataset_folder_needs_overwrite(tmp_path):
    data = _mnist(tmp_path / "data")
    (data / "notes.md").write_text("mine")
    code, _, err = run_main("filter", "-e", '/item[subset="test"]', data)
    assert code == 2 and "--overwrite" in err
    assert len(engine.load("mnist", data)) == 12
    code, out, err = run_main(
        "filter", "-e", '/item[subset="test"]', "--overwrite", f"{data}:mnist"
    )
    assert code == 0, err and "in place" in out
    assert list(engine.load("mnist", data).subsets()) == ["test"]
    assert (data / "notes.md").read_text() == "mine"
    assert _entries(tmp_path) == ["data"]  # no copy beside it, no leftovers


def test_transform_in_place_on_a_dataset_folder(tmp_path):
    data = _mnist(tmp_path / "data")
    code, _, err = run_main("transform", "-t", "reindex", f"{data}:mnist", cwd=tmp_path)
    assert code == 2 and "--overwrite" in err
    code, _, err = run_main(
        "transform",
        "-t",
        "reindex",
        "--overwrite",
        f"{data}:mnist",
        "--",
        "--start",
        "100",
        cwd=tmp_path,
    )
    assert code == 0, err
    assert _entries(tmp_path) == ["data"]  # not data-reindex
    assert [item.id for item in engine.load("mnist", data)][:2] == ["100", "101"]


def test_compare_json_honours_the_limit(tmp_path):
    a = _mnist(tmp_path / "a", seed=1)
    b = _mnist(tmp_path / "b", seed=2)
    code, out, _ = run_main("compare", a, b, "--json", "--limit", "2")
    report = json.loads(out)
    assert code == 1 and len(report["image_differences"]) == 2
    assert report["counts"]["image_differences"] == 12
    code, out, _ = run_main("compare", a, b, "--json")
    assert len(json.loads(out)["image_differences"]) == 12  # all by default in JSON
    code, out, _ = run_main("compare", a, b, "--limit", "3")
    assert "... and 9 more" in out


def test_transform_help_lists_whole_sentences():
    _, out, _ = run_main("transform", "--help")
    listing = out.split("transforms:", 1)[1]
    for name in TRANSFORMS:
        entry = re.search(rf"^  {name} +(.*?)(?=^  \S|\Z)", listing, re.M | re.S)
        assert entry, name
        text = " ".join(entry.group(1).split())
        assert text.endswith("."), (name, text)
        assert text.count("(") == text.count(")") and text.count("`") % 2 == 0, (name, text)
        assert "``" not in text, (name, text)  # RST literals are for the docs site, not a terminal


def test_a_filter_keeping_no_item_warns(tmp_path):
    data = _mnist(tmp_path / "data")
    code, _, err = run_main(
        "convert", "-i", data, "-f", "mnist", "-o", tmp_path / "o", "-e", '/item[subset="x"]'
    )
    assert code == 0 and "keeps none of the 12 items" in err


def test_exact_merge_counts_every_shared_id(tmp_path):
    a = _mnist(tmp_path / "a", (("train", 30),))
    b = _mnist(tmp_path / "b", (("train", 25),), seed=1)
    code, _, err = run_main("merge", a, b, "-m", "exact", "-o", tmp_path / "o")
    assert code == 2 and "and 15 more" in err  # 25 shared ids, 10 shown


def test_detection_names_the_format_the_names_point_to_and_the_broken_file(tmp_path):
    data = _mnist(tmp_path / "data")
    path = data / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[2] = 0x0A
    path.write_bytes(gzip.compress(bytes(raw)))
    for verb in ("info", "detect"):
        code, _, err = run_main(verb, data)
        assert code == 2 and "t10k-images-idx3-ubyte.gz: byte 2" in err, err
        assert "file names are mnist's" in err
    with pytest.raises(engine.FormatError) as caught:
        engine.load(None, data)
    assert caught.value.offset == 2 and caught.value.path.endswith("t10k-images-idx3-ubyte.gz")


def test_a_broken_user_spec_warns_once_and_the_rest_works(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "broken.py").write_text("raise RuntimeError('half written')\n")
    data = _mnist(tmp_path / "data")
    env = {"MNIST_ENGINE_SPEC_PATH": str(specs)}
    code, out, err = run_cli("info", data, env=env)
    assert code == 0 and "items:   12" in out
    assert err.count("broken.py") == 1 and "warning" in err and "Traceback" not in err
    code, _, err = run_cli("info", data, "-if", "broken", env=env)
    assert code == 2 and "broken.py: failed to import: RuntimeError: half written" in err
    assert "Traceback" not in err


def test_the_sample_of_the_help_examples_works_outside_the_checkout(tmp_path):
    code, out, err = run_cli("info", "samples/mnist", cwd=tmp_path)
    assert code == 0 and "items:   700" in out
    assert "sample shipped with mnist-engine" in err
    shipped = engine.sample_path("mnist")
    assert shipped.parent.parent.name == "engine"  # inside the package, shipped as its data
    assert {p.name for p in shipped.iterdir()} >= {"train-images-idx3-ubyte.gz", "labels.txt"}
    with pytest.raises(engine.EngineError, match="no sample"):
        engine.sample_path("../specs")
    code, _, err = run_cli("info", "samples/nope", cwd=tmp_path)
    assert code == 2 and "no such file or directory" in err


def test_the_package_data_ships_the_sample():
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parent.parent
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "samples/mnist/*" in data["package-data"]["engine"]
    assert np.array_equal(
        engine.load("mnist", root / "samples" / "mnist")["test"].labels,
        engine.load("mnist", engine.sample_path())["test"].labels,
    )
