"""The write path loses nothing: overwrite keeps what is not the format's, inputs are never written
over, a killed save is recovered by the next run, concurrent saves do not clobber, OS failures are
EngineErrors naming the output folder, and pool workers die with their parent.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import OutputError, OutputExistsError
from engine.io.output import MARKER, atomic_output_dir, recover
from engine.project import Project
from tests.cli_helpers import run_cli
from tests.conftest import make_dataset

ROOT = Path(__file__).resolve().parent.parent
FORMATS = engine.formats()


def save_options(name: str) -> dict:
    spec = getattr(engine.get_format(name), "spec", None)
    return {spec.variant_option: spec.variants[0].name} if spec and spec.variants else {}


def save(dataset, name: str, out: Path, **kwargs) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return engine.save(dataset, name, out, **save_options(name), **kwargs)


def item_count(name: str, out: Path) -> int:
    fmt = engine.get_format(name)
    lenient = {"skip_broken": True} if "skip_broken" in fmt.load_options.model_fields else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return len(engine.load(name, out, **save_options(name), **lenient))


def hidden_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_says_which_files_are_its_own(name):
    assert callable(getattr(engine.get_format(name), "owns", None))


@pytest.mark.parametrize("name", FORMATS)
def test_overwrite_keeps_foreign_files_and_drops_stale_dataset_files(tmp_path, name):
    out = tmp_path / "out"
    save(make_dataset((("train", 7), ("test", 5))), name, out)
    (out / "notes.md").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "data.bin").write_bytes(b"\x00\x01")
    kept = save(make_dataset((("test", 4),), seed=3), name, out, overwrite=True)
    assert kept == ["mine", "notes.md"]
    assert (out / "notes.md").read_text() == "mine"
    assert (out / "mine" / "data.bin").read_bytes() == b"\x00\x01"
    assert item_count(name, out) == 4  # the train files of the first save are gone
    assert hidden_beside(out) == []


def test_output_that_contains_the_input_is_refused_by_the_cli(tmp_path):
    engine.save(make_dataset(), "mnist", tmp_path / "in")
    (tmp_path / "notes.txt").write_text("keep me")
    before = sorted(p.name for p in (tmp_path / "in").iterdir())
    code, _, err = run_cli(
        "convert", "-i", "in", "-f", "mnist_csv", "-o", ".", "--overwrite", cwd=tmp_path
    )
    assert code == 2 and "holds the input" in err and "Traceback" not in err
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == before


def test_output_that_is_the_input_needs_overwrite_and_one_holding_it_is_refused(tmp_path):
    out = tmp_path / "data"
    engine.save(make_dataset(), "mnist", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(OutputExistsError, match="is the input"):
        engine.save(engine.load("mnist", out), "mnist", out)
    with pytest.raises(OutputExistsError, match="holds the input"):
        engine.save(make_dataset(), "mnist", tmp_path, overwrite=True, inputs=[out])
    with pytest.raises(OutputExistsError, match="lies inside the input"):
        engine.save(engine.load("mnist", out), "mnist", out / "sub", overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_project_export_never_writes_over_a_source(tmp_path):
    source = tmp_path / "project" / "digits"
    project = Project.create(tmp_path / "project")
    engine.save(make_dataset(), "mnist", source)
    project.add_source(source, "mnist")
    code, _, err = run_cli(
        "export",
        "-p",
        tmp_path / "project",
        "-f",
        "mnist",
        "-o",
        tmp_path / "project",
        "--overwrite",
    )
    assert code == 2 and "holds the input" in err
    assert item_count("mnist", source) == 12


def test_two_saves_into_one_new_folder_one_wins_the_other_is_refused(tmp_path):
    out = tmp_path / "out"
    first_run, second_run = atomic_output_dir(out), atomic_output_dir(out)
    (first_run.__enter__() / "a.txt").write_text("first")
    (second_run.__enter__() / "b.txt").write_text("second")
    first_run.__exit__(None, None, None)  # the first finishes while the second is writing
    with pytest.raises(OutputExistsError, match="another save"):
        second_run.__exit__(None, None, None)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert hidden_beside(out) == []


def test_concurrent_processes_saving_one_new_folder(tmp_path):
    script = (
        "import sys, engine\n"
        "from tests.conftest import make_dataset\n"
        "try:\n"
        "    engine.save(make_dataset(seed=int(sys.argv[2])), 'mnist', sys.argv[1])\n"
        "    print('won')\n"
        "except engine.OutputExistsError:\n"
        "    print('refused')\n"
    )
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(out), str(seed)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(2)
    ]
    results = sorted(run.communicate(timeout=120)[0].strip() for run in runs)
    assert results.count("won") >= 1 and set(results) <= {"won", "refused"}
    assert item_count("mnist", out) == 12
    assert hidden_beside(out) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_disk_full_or_read_only_is_an_output_error_naming_the_folder(tmp_path, monkeypatch, code):
    out = tmp_path / "out"
    engine.save(make_dataset(seed=1), "mnist", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    import engine.io.categories as categories

    def failing(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / ".out.abc.tmp" / "labels.txt"))

    monkeypatch.setattr(categories.Path, "write_text", failing)
    with pytest.raises(OutputError) as caught:
        engine.save(make_dataset(seed=2), "mnist", out, overwrite=True)
    assert isinstance(caught.value, engine.EngineError)
    assert str(out) in str(caught.value) and os.strerror(code) in str(caught.value)
    assert ".tmp" not in str(caught.value)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert hidden_beside(out) == []


def test_leftover_staging_folder_is_removed_by_the_next_save(tmp_path):
    out = tmp_path / "out"
    stale = tmp_path / ".out.0123456789ab.tmp"
    stale.mkdir()
    (stale / "half-written").write_bytes(b"x" * 100)
    engine.save(make_dataset(), "mnist", out)
    assert hidden_beside(out) == []


def test_kill_between_the_two_renames_is_recovered_by_the_next_load(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out)
    os.rename(out, tmp_path / ".out.00000000cafe.old")  # first rename done, then killed
    (tmp_path / ".out.00000000cafe.tmp").mkdir()
    assert item_count("mnist", out) == 12
    assert hidden_beside(out) == []


def test_kill_after_the_exchange_carries_foreign_files_over(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset((("test", 5),)), "mnist", out)
    retired = tmp_path / ".out.00000000beef.tmp"  # the exchange put the old folder here
    engine.save(make_dataset(), "mnist", retired)
    (retired / "notes.txt").write_text("mine")
    (out / MARKER.format(token="00000000beef")).write_text(json.dumps({"foreign": ["notes.txt"]}))
    done = recover(out)
    assert done == ["removed .out.00000000beef.tmp"]
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / MARKER.format(token="00000000beef")).exists()
    assert item_count("mnist", out) == 5


def test_a_users_hidden_folder_that_looks_alike_is_left_alone(tmp_path):
    (tmp_path / ".out.backup.tmp").mkdir()
    (tmp_path / ".out.0123456789ab.tmp").write_text("a file, not a staging folder")
    engine.save(make_dataset(), "mnist", tmp_path / "out")
    assert hidden_beside(tmp_path / "out") == [".out.0123456789ab.tmp", ".out.backup.tmp"]


def test_a_live_runs_staging_folder_is_left_alone(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as staging:
        (staging / "labels.txt").write_text("0\n")
        assert recover(out) == []
        assert staging.is_dir()
    assert (out / "labels.txt").is_file()


WORKER_SCRIPT = """
import os, sys, time
from engine.compute.pool import run_chunks

def report(index):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: two workers' lines never mix
    time.sleep(120)

run_chunks(report, [(0,), (1,)], workers=2, sizes=[1, 1])
"""


def test_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "pool_parent.py"
    script.write_text(WORKER_SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    text, workers = "", []
    while len(workers) < 2:  # whatever the lines look like (two pids once shared a line)
        line = parent.stdout.readline()
        if not line:
            parent.kill()
            raise AssertionError(f"pool parent printed {text!r}; stderr: {parent.stderr.read()}")
        text += line
        workers = [int(pid) for pid in re.findall(r"\d+", text)][:2]
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_hints_speak_the_callers_language(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out)
    with pytest.raises(OutputExistsError) as caught:
        engine.save(make_dataset(), "mnist", out)
    assert "overwrite=True" in str(caught.value) and "--overwrite" not in str(caught.value)
    code, _, err = run_cli("convert", "-i", out, "-f", "mnist", "-o", tmp_path / "other")
    assert code == 0
    code, _, err = run_cli("convert", "-i", out, "-f", "mnist", "-o", tmp_path / "other")
    assert code == 2 and "--overwrite" in err and "overwrite=True" not in err


def test_warnings_point_at_the_callers_line(tmp_path):
    out = tmp_path / "data"
    with pytest.warns(UserWarning) as caught:
        engine.save(make_dataset(), "image_dir", out)  # labels not stored
    assert caught[0].filename == __file__
    (out / "train" / "bad.png").write_bytes(b"not an image")
    with pytest.warns(engine.FormatWarning, match="skipped 1") as caught:
        engine.load("image_dir", out, skip_broken=True)
    assert caught[0].filename == __file__


def test_kill_of_a_real_overwrite_leaves_the_old_or_new_dataset_and_the_users_file(tmp_path):
    from tools.kill_test import convert, leftovers, make_source

    sources = [tmp_path / "a", tmp_path / "b"]
    expected = [make_source(path, 1000, seed) for seed, path in enumerate(sources)]
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert convert(sources[0], out).wait() == 0
    for delay in (None, 0.05):  # when the staging folder appears; soon after
        run = convert(sources[1], out)
        deadline = time.monotonic() + 60
        while run.poll() is None and not leftovers(out) and time.monotonic() < deadline:
            time.sleep(0.005)
        if delay:
            time.sleep(delay)
        run.kill()
        run.wait()
        labels = engine.load("mnist_csv", out)["train"].labels
        assert any(np.array_equal(labels, e) for e in expected)
        assert (out / "notes.txt").read_text() == "mine"
        assert leftovers(out) == []


def test_a_users_folder_named_like_an_old_versions_leftover_is_never_deleted(tmp_path):
    """Earlier versions named leftovers with 8 characters, as a user may name a backup
    (".out.backup01.tmp"): a load or save beside it must leave it and its files alone."""
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out)
    for name in (".out.backup01.tmp", ".out.copy_old.old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keep.txt").write_text("mine")
    assert len(engine.load(None, out)) == 12
    engine.save(make_dataset(), "mnist", out, overwrite=True)
    for name in (".out.backup01.tmp", ".out.copy_old.old"):
        assert (tmp_path / name / "keep.txt").read_text() == "mine"


def test_an_old_versions_retired_folder_is_still_restored_when_the_output_is_missing(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out)
    os.rename(out, tmp_path / ".out.abcd1234.old")  # an earlier version, killed mid-swap
    assert item_count("mnist", out) == 12
