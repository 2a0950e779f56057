"""The inputs rule under other spellings of the same folder (trailing slash, `./X`, `X/../X`,
symlinks, one file of the dataset, `PATH:FORMAT`, the current directory, a relative load followed
by a change of directory, a folder renamed between load and save), the in-place edit killed at
random moments, and no false refusals (siblings with a common prefix, another letter case)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from cli_helpers import ROOT, run_main
from conftest import make_dataset

import engine


def _mnist(path, counts=(("train", 7), ("test", 5)), seed=0):
    engine.save(make_dataset(counts, seed=seed), "mnist", path)
    return path


def _snapshot(folder):
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("spelling", ["x", "x/", "./x", "x/../x", "x/.", "{abs}", "x:mnist"])
def test_every_spelling_of_the_input_as_output_is_an_in_place_edit(tmp_path, spelling):
    x = _mnist(tmp_path / "x")
    (x / "notes.txt").write_text("mine")
    before = _snapshot(x)
    output = spelling.format(abs=x).replace(":mnist", "")
    code, _, err = run_main(
        "convert", "-i", spelling.format(abs=x), "-f", "mnist", "-o", output, cwd=tmp_path
    )
    assert code == 2 and "is the input" in err and _snapshot(x) == before
    code, _, err = run_main(
        "transform", "-t", "reindex", "--overwrite", spelling.format(abs=x), cwd=tmp_path
    )
    assert code == 0, err
    assert (x / "notes.txt").read_text() == "mine" and len(engine.load("mnist", x)) == 12


@pytest.mark.parametrize("output", ["x/sub", "link/sub", "inner", "x/../x/sub", ".", ".."])
def test_outputs_inside_or_holding_the_input_are_refused_however_spelled(tmp_path, output):
    x = _mnist(tmp_path / "w" / "x")
    (tmp_path / "w" / "link").symlink_to("x")
    (tmp_path / "w" / "inner").symlink_to("x/deeper")  # a dangling link into the input
    before = _snapshot(x)
    code, _, err = run_main(
        "convert",
        "-i",
        "link:mnist",
        "-f",
        "mnist",
        "-o",
        output,
        "--overwrite",
        cwd=tmp_path / "w",
    )
    assert code == 2 and ("inside the input" in err or "holds the input" in err), err
    assert _snapshot(x) == before and not (x / "deeper").exists()


def test_a_symlink_to_the_input_is_never_the_output(tmp_path):
    _mnist(tmp_path / "x")
    (tmp_path / "link").symlink_to("x")
    for extra in ([], ["--overwrite"]):
        code, _, err = run_main(
            "convert", "-i", "x", "-f", "mnist", "-o", "link/", *extra, cwd=tmp_path
        )
        assert code == 2 and err.count("\n") == 1
    assert (tmp_path / "link").is_symlink()


def test_one_file_of_the_dataset_never_replaces_its_folder(tmp_path):
    x = _mnist(tmp_path / "x")
    before = _snapshot(x)
    for given in ["x/train-images-idx3-ubyte.gz", "./x/train-images-idx3-ubyte.gz:mnist"]:
        code, _, err = run_main("filter", "-e", "/item", "--overwrite", given, cwd=tmp_path)
        assert code == 2 and "holds the input file" in err
        code, _, err = run_main(
            "convert", "-i", given, "-f", "mnist", "-o", "x", "--overwrite", cwd=tmp_path
        )
        assert code == 2 and "part of this folder" in err
    assert _snapshot(x) == before


def test_siblings_with_a_common_prefix_or_another_case_are_not_refused(tmp_path):
    data = _mnist(tmp_path / "data")
    for name in ["data2", "data.new", "Data", "DATA"]:
        engine.save(engine.load("mnist", data), "mnist", tmp_path / name)
    data2 = tmp_path / "data2"
    engine.save(engine.load("mnist", data2), "mnist", tmp_path / "dat")
    code, _, err = run_main("merge", "data", "data2", "-o", "data-merged", cwd=tmp_path)
    assert code == 0, err
    code, _, err = run_main("convert", "-i", "data", "-f", "mnist", "-o", "~", cwd=tmp_path)
    assert code == 0, err  # `~` is a folder name here, not expanded
    assert (tmp_path / "~").is_dir() and len(engine.load("mnist", tmp_path / "~")) == 12


def test_a_relative_load_then_a_change_of_directory_still_knows_its_input(tmp_path, monkeypatch):
    x = _mnist(tmp_path / "x")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    loaded = engine.load("mnist", "x")
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        engine.save(loaded, "mnist", "../x/sub", overwrite=True)
    monkeypatch.chdir(x)
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        engine.save(loaded, "mnist", "sub", overwrite=True)
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        loaded.export("sub", "mnist")
    assert not (x / "sub").exists()


def test_a_folder_renamed_after_the_load_is_still_the_input(tmp_path):
    x = _mnist(tmp_path / "x")
    (x / "notes.txt").write_text("mine")
    loaded = engine.load("mnist", x)
    part = engine.load("mnist", x / "train-images-idx3-ubyte.gz")
    test_only = engine.load("mnist", x, subset="test")
    moved = tmp_path / "moved"
    os.rename(x, moved)
    before = _snapshot(moved)
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        engine.save(loaded, "mnist", moved / "sub", overwrite=True)
    with pytest.raises(engine.OutputExistsError, match="is the input"):
        engine.save(loaded, "mnist", moved)
    for partial in (part, test_only):  # either would drop the other subset
        with pytest.raises(engine.OutputExistsError, match="part of this folder"):
            engine.save(partial, "mnist", moved, overwrite=True)
    assert _snapshot(moved) == before
    assert engine.save(loaded, "mnist", moved, overwrite=True) == ["notes.txt"]  # asked for
    assert len(engine.load("mnist", moved)) == 12


_EDIT = """
import sys, engine
ds = engine.load("mnist", sys.argv[1])
ds.transform("reindex", start=int(sys.argv[2]))
print("ready", flush=True)
engine.save(ds, "mnist", sys.argv[1], overwrite=True)
"""


def test_an_in_place_edit_killed_at_any_moment_leaves_old_or_new(tmp_path):
    x = _mnist(tmp_path / "x", counts=(("train", 300), ("test", 100)))
    (x / "notes.txt").write_text("mine")
    (x / "mine").mkdir()
    (x / "mine" / "f").write_text("kept")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(19)
    for run in range(4):
        old = {item.id for item in engine.load("mnist", x)["train"]}
        start = 1000 * (run + 1)
        child = subprocess.Popen(
            [sys.executable, "-c", _EDIT, str(x), str(start)],
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        again = engine.load(None, x)  # recovers what the killed run left beside x
        ids = {item.id for item in again["train"]}
        assert ids == old or ids == {str(start + i) for i in range(300)} or len(ids) == 300
        assert len(again) == 400
        assert (x / "notes.txt").read_text() == "mine" and (x / "mine" / "f").read_text() == "kept"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
