"""The command line driven as a subprocess: outputs, files written and exit codes."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import ROOT, run_cli, run_main
from PIL import Image

import engine
from engine.cli.sample import synthetic_dataset


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A small synthetic MNIST folder (train 30, test 20) and the dataset it holds."""
    path = tmp_path_factory.mktemp("data") / "digits"
    dataset = synthetic_dataset(train=30, test=20)
    engine.save(dataset, "mnist", path)
    return path, dataset


def test_help_on_every_command_has_an_example():
    from engine.cli.commands import COMMANDS

    for command in COMMANDS:
        code, out, _ = run_main(command.NAME, "--help")
        assert code == 0
        assert "example: mnist-engine " + command.NAME in out


def test_convert_with_a_filter_keeps_one_class(digits, tmp_path):
    path, dataset = digits
    code, out, err = run_cli(
        "convert",
        "-if",
        "mnist",
        "-i",
        path,
        "-f",
        "mnist",
        "-o",
        tmp_path / "out",
        "--filter",
        '/item[annotation/label="3"]',
        "--",
        "--save-dataset-meta",
    )
    assert code == 0, err
    result = engine.load("mnist", tmp_path / "out")
    threes = {name: int((s.labels == 3).sum()) for name, s in dataset.subsets().items()}
    assert {name: len(s) for name, s in result.subsets().items()} == threes
    assert (tmp_path / "out" / "dataset_meta.json").is_file()
    assert "converted" in out and str(sum(threes.values())) in out


def test_convert_names_the_output_and_detects_the_format(digits, tmp_path):
    path, dataset = digits
    for expected in ("digits-mnist", "digits-mnist.1", "digits-mnist.2"):
        code, _, err = run_main("convert", "-i", path, "-f", "mnist", cwd=tmp_path)
        assert code == 0, err
        assert (tmp_path / expected).is_dir()
    assert len(engine.load("mnist", tmp_path / "digits-mnist.2")) == len(dataset)


def test_annotation_mode_with_i_plus_a(digits, tmp_path):
    path, _ = digits
    code, _, err = run_main(
        "convert",
        "-i",
        path,
        "-f",
        "mnist",
        "-o",
        tmp_path / "out",
        "-e",
        "/item/annotation[label_id < 2]",
        "--filter-mode",
        "i+a",
    )
    assert code == 0, err
    labels = np.concatenate(
        [s.labels for s in engine.load("mnist", tmp_path / "out").subsets().values()]
    )
    assert len(labels) and set(labels.tolist()) <= {0, 1}


def test_overwrite_replaces_the_dataset_and_keeps_the_users_files(digits, tmp_path):
    path, _ = digits
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    (out / "t10k-images-idx3-ubyte.xz").write_bytes(b"stale dataset file")
    code, _, err = run_cli("convert", "-i", path, "-f", "mnist", "-o", out)
    assert code == 2
    assert "not empty" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    code, printed, err = run_cli("convert", "-i", path, "-f", "mnist", "-o", out, "--overwrite")
    assert code == 0, err
    assert (out / "stale.txt").read_text() == "old"
    assert "kept 1 entries" in printed and "stale.txt" in printed
    assert (out / "train-images-idx3-ubyte.gz").is_file()
    assert not (out / "t10k-images-idx3-ubyte.xz").exists()  # stale file of the format: gone
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-f", "mnist", "--", "--bogus"], "unknown exporter option '--bogus'"),
        (["-f", "mnist", "--", "--compresslevel", "x"], "is not a int"),
        (["-f", "mnist", "--", "--image-ext"], "needs a value"),
        (["-f", "no_such_format"], "unknown format 'no_such_format'"),
        (["-f", "mnist", "-e", "/item[id <"], "bad filter expression, column"),
        (["-f", "mnist", "-if", "nope"], "unknown format 'nope'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(digits, tmp_path, args, words):
    path, _ = digits
    code, _, err = run_main("convert", "-i", path, "-o", tmp_path / "o", *args)
    assert code == 2
    assert words in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_debug_shows_the_traceback(tmp_path):
    code, _, err = run_cli("--debug", "info", tmp_path / "missing")
    assert code != 0 and "Traceback" in err
    code, _, err = run_cli("info", tmp_path / "missing")
    assert (
        code == 2
        and err.strip() == f"mnist-engine: error: {tmp_path / 'missing'}: no such file or directory"
    )


def test_exporter_options_reach_the_writer(digits, tmp_path):
    path, _ = digits
    code, _, err = run_main(
        "convert",
        "-i",
        path,
        "-f",
        "mnist",
        "-o",
        tmp_path / "plain",
        "--",
        "--compression=",
        "--no-save-media",
    )
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert names == ["labels.txt", "t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"]


def test_corrupt_input_is_one_line_naming_the_file(digits, tmp_path):
    path, _ = digits
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (broken / name).write_bytes((path / name).read_bytes())
    (broken / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x1e" + bytes(3))
    (broken / "train-labels-idx1-ubyte.gz").unlink()
    code, _, err = run_main("info", broken, "-if", "mnist")
    assert code == 2
    assert err.count("\n") == 1 and "train-labels-idx1-ubyte" in err


def test_detect_lists_the_evidence(digits):
    path, _ = digits
    code, out, _ = run_main("detect", path)
    assert code == 0
    assert out.splitlines()[0].startswith("mnist")
    assert "t10k-images-idx3-ubyte.gz" in out
    code, _, err = run_main("detect", ROOT / "tests")
    assert code == 2 and "no known format" in err


def test_info_prints_per_class_counts(digits):
    path, dataset = digits
    code, out, _ = run_main("info", path)
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("3 "))
    assert row.split()[2:] == [str(int((s.labels == 3).sum())) for s in dataset.subsets().values()]


def test_stats_match_numpy(digits):
    path, dataset = digits
    code, out, err = run_main("stats", path, "--json")
    assert code == 0, err
    figures = json.loads(out)["subsets"]
    everything = []
    for name, subset in dataset.subsets().items():
        pixels = subset.images.astype(np.float64) / 255
        everything.append(pixels.ravel())
        assert figures[name]["mean"][0] == pytest.approx(pixels.mean(), abs=1e-12)
        assert figures[name]["std"][0] == pytest.approx(pixels.std(), abs=1e-12)
        assert figures[name]["sizes"] == {"28x28": len(subset)}
    merged = np.concatenate(everything)
    assert figures["all"]["mean"][0] == pytest.approx(merged.mean(), abs=1e-12)
    assert figures["all"]["std"][0] == pytest.approx(merged.std(), abs=1e-12)
    code, out, _ = run_main("stats", path)
    assert f"{pixels.mean():.4f}" in out and "28x28" in out and "total" in out


def test_validate_passes_a_good_dataset_and_fails_a_bad_one(digits, tmp_path):
    path, _ = digits
    code, out, _ = run_cli("validate", path)
    assert code == 0 and "valid mnist" in out
    bad = tmp_path / "bad"
    bad.mkdir()
    for file in path.iterdir():
        (bad / file.name).write_bytes(file.read_bytes())
    (bad / "labels.txt").write_text("only\ntwo\n")
    code, out, _ = run_cli("validate", bad)
    assert code == 1
    assert "problem: subset 'train'" in out and "there are 2 classes" in out


def test_validate_official_compares_checksums(digits):
    path, _ = digits
    code, out, _ = run_main("validate", path, "--official")
    assert code == 1
    assert "differs from the published" in out


def test_validate_reports_a_truncated_file_as_a_problem(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x1e" + bytes(3))
    code, out, _ = run_main("validate", bad, "-if", "mnist")
    assert code == 1 and "problem: train-labels-idx1-ubyte" in out


def test_preview_draws_one_row_per_class(digits, tmp_path):
    path, _ = digits
    sheet = tmp_path / "sheet.png"
    code, _, err = run_main("preview", path, "-o", sheet, "-n", "5", "--scale", "2")
    assert code == 0, err
    with Image.open(sheet) as picture:
        width, height = picture.size
        pixels = np.asarray(picture.convert("L"))
    assert width >= 150 + 5 * 56 and height >= 10 * 56
    assert (pixels > 200).mean() > 0.2 and (pixels < 30).mean() > 0.2
    code, _, err = run_main("preview", path, "-o", sheet)
    assert code == 2 and "--overwrite" in err


def test_formats_lists_the_registry():
    code, out, _ = run_main("formats", "--options")
    assert code == 0
    for name in engine.formats():
        assert any(line.startswith(name + " ") for line in out.splitlines())
    assert "--save-media" in out


def test_extra_words_refused_by_commands_without_exporter_options(digits):
    path, _ = digits
    code, _, err = run_main("info", path, "--", "--save-media")
    assert code == 2 and "takes no exporter options" in err


def test_progress_only_on_a_terminal_and_not_when_quiet(digits, tmp_path):
    path, _ = digits
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MNIST_ENGINE_PROGRESS_DELAY": "0"}
    args = [sys.executable, "-m", "engine", "stats", str(path)]

    def on_terminal(extra):
        leader, follower = pty.openpty()
        done = subprocess.run(
            args + extra, env=env, stderr=follower, stdout=subprocess.DEVNULL, timeout=60
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        return done.returncode, b"".join(chunks).decode()

    code, shown = on_terminal([])
    assert code == 0 and "reading mnist" in shown
    code, shown = on_terminal(["--quiet"])
    assert code == 0 and shown == ""
    code, _, err = run_cli("stats", path, env={"MNIST_ENGINE_PROGRESS_DELAY": "0"})
    assert code == 0 and err == ""


def test_verify_reports_each_file_and_fails_on_a_changed_one(tmp_path):
    """A spec registered for the test publishes the MD5 of a file we make; it is then altered."""
    from engine.cli.sample import write_synthetic_dataset

    data = tmp_path / "data"
    write_synthetic_dataset(data, train=10, test=10)
    labels = data / "t10k-labels-idx1-ubyte.gz"
    md5 = hashlib.md5(labels.read_bytes()).hexdigest()
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (spec_dir / "toy_digits.py").write_text(
        "from specs.mnist import like_mnist\n"
        "SPEC = like_mnist('toy_digits', 'toy', tuple('0123456789'), "
        f"{{'t10k-labels-idx1-ubyte.gz': {md5!r}}})\n"
    )
    env = {**os.environ, "MNIST_ENGINE_SPEC_PATH": str(spec_dir)}
    command = [sys.executable, "-m", "engine", "verify", str(data), "-f", "toy_digits"]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "t10k-labels-idx1-ubyte.gz: identical (toy_digits: t10k-labels-idx1-ubyte.gz)" in (
        done.stdout
    )
    assert "train-images-idx3-ubyte.gz: unknown" in done.stdout
    labels.write_bytes(gzip.compress(gzip.decompress(labels.read_bytes()), 9))
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "t10k-labels-idx1-ubyte.gz: unverifiable" in done.stdout


def test_output_cut_short_by_the_reader_is_not_an_error():
    """`mnist-engine info ... | head -1` must not print a broken-pipe error."""
    root = Path(__file__).resolve().parent.parent
    command = f"{sys.executable} -m engine info samples/mnist | head -1"
    done = subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True)
    assert done.stdout == "format:  mnist\n"
    assert done.stderr == ""
