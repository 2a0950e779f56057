"""Regression tests for what the fault campaign of issue 19 found: each bad input is refused
with an EngineError naming the file (one line and exit 2 from the CLI), never a foreign exception,
a crash, a hang or unbounded memory."""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import engine
from engine import FormatError, SpecError, ValidationError
from tests.cli_helpers import ROOT, run_cli, run_main
from tests.conftest import make_dataset

SAMPLE = ROOT / "engine" / "samples" / "mnist"


def _run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter: a crash (SIGSEGV) or a hang fails the test, not the
    test runner."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- 1. nothing lost: the constructor keeps classes, every writer refuses labels outside them ------
WRITERS = [
    "mnist",
    "mnist_csv",
    "cifar",
    "imagenet",
    "imagenet_txt",
    "image_dir",
    "image_zip",
    "parquet",
    "webdataset",
]


def test_a_dataset_made_of_subsets_keeps_their_classes():
    source = make_dataset()
    built = engine.Dataset({"train": source["train"], "val": source["test"]})
    assert list(built.categories) == [str(d) for d in range(10)]
    assert set(built.subsets()) == {"train", "val"}


@pytest.mark.parametrize("fmt", WRITERS)
def test_every_writer_refuses_labels_outside_the_class_list(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    source = make_dataset()
    narrow = dataclasses.replace(source["train"], categories=("0", "1"))
    with pytest.raises(ValidationError, match="train:"):
        engine.save(engine.Dataset({"train": narrow}, categories=["0", "1"]), fmt, tmp_path / "o")
    raw = engine.Subset(
        name="train", labels=np.array([7, 2, 1], np.int32), images=np.zeros((3, 28, 28), np.uint8)
    )
    with pytest.raises(ValidationError, match="train:0"):
        engine.save(engine.Dataset({"train": raw}), fmt, tmp_path / "p")
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()


# -- 2. detection says which format the names point to and why its files failed ----------------
def test_info_on_a_corrupt_mnist_names_the_file_and_the_byte(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for file in SAMPLE.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    images = folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:-100]))
    code, _out, err = run_main("info", str(folder))
    assert code == 2
    assert "t10k-images-idx3-ubyte.gz: byte" in err and "mnist" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# -- 3. a broken user spec: a warning naming it, the other formats still work ---------------------
def test_a_broken_user_spec_warns_and_the_others_still_load(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "mybad.py").write_text("from specs.schema import DatasetSpec\nSPEC = DatasetSpec()\n")
    (specs / "exits.py").write_text("raise SystemExit(5)\n")
    env = {"MNIST_ENGINE_SPEC_PATH": str(specs)}
    code, out, err = run_cli("info", str(SAMPLE), env=env)
    assert code == 0, err
    assert "items:   700" in out
    assert err.count("mybad.py") == 1 and err.count("exits.py") == 1
    code, _out, err = run_cli("info", "-if", "mybad", str(SAMPLE), env=env)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mnist-engine: error:")
    assert "mybad.py" in err.strip().splitlines()[-1]


def test_a_spec_file_that_exits_is_a_spec_error(tmp_path):
    from engine.registry.spec_sources import load_spec_file

    (tmp_path / "exits.py").write_text("raise SystemExit(5)\n")
    with pytest.raises(SpecError, match=r"exits\.py"):
        load_spec_file(tmp_path / "exits.py")


# -- 4. a crafted CIFAR batch never reaches numpy with a dtype holding references -----------------
def _crafted_batch(dtype_code: bytes) -> bytes:
    """A protocol-2 batch whose data array declares `dtype_code` over raw bytes (the SIGSEGV
    the campaign found from one duplicated byte)."""
    data = pickle.dumps(
        {"data": np.arange(2, dtype=np.int64) + 0x4141414141, "labels": [0, 1]}, protocol=2
    )
    crafted = data.replace(b"X\x02\x00\x00\x00i8", b"X\x02\x00\x00\x00" + dtype_code)
    assert crafted != data
    return crafted


@pytest.mark.parametrize("dtype_code", [b"O8", b"V8", b"M8", b"U2"])
def test_a_crafted_batch_with_a_reference_dtype_is_refused_before_numpy(tmp_path, dtype_code):
    cifar = tmp_path / "cifar"
    engine.save(make_dataset(), "cifar", cifar)
    (cifar / "train").write_bytes(_crafted_batch(dtype_code))
    done = _run_python(
        f"""
        import engine
        try:
            engine.load("cifar", {str(cifar)!r})
        except engine.FormatError as error:
            print("refused:", error)
        """
    )
    assert done.returncode == 0, done.stderr  # -11 was the SIGSEGV
    assert "refused:" in done.stdout and "train" in done.stdout and "dtype" in done.stdout
    code, _out, err = run_cli("info", str(cifar))
    assert code == 2 and "Traceback" not in err and "train" in err


def test_a_structured_dtype_holding_objects_is_refused(tmp_path):
    from engine.io.safepickle import load_restricted

    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(np.zeros(2, dtype=[("a", "O"), ("b", "i4")]), protocol=2))
    with pytest.raises(FormatError, match="not plain numeric"):
        load_restricted(path)
    path.write_bytes(pickle.dumps(np.zeros(2, dtype=[("a", "u1")]), protocol=5))
    with pytest.raises(FormatError, match="not plain numeric"):
        load_restricted(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_numeric_pickles_still_load(tmp_path, protocol):
    from engine.io.safepickle import load_restricted

    values = {
        "data": np.arange(60, dtype=np.uint8).reshape(4, 15),
        "wide": np.arange(4, dtype=">u4"),
        "fortran": np.asfortranarray(np.ones((2, 3))),
        "scalar": np.float32(1.5),
        "labels": [0, 1, 2, 3],
    }
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(values, protocol=protocol))
    read = load_restricted(path)
    for key in ("data", "wide", "fortran"):
        assert np.array_equal(read[key], values[key])
        assert read[key].dtype.type == values[key].dtype.type  # numpy's own loads: same type
    assert read["scalar"] == values["scalar"] and read["labels"] == values["labels"]
