"""Per-chunk work on a Dask cluster (2 worker processes on 127.0.0.1) gives the same bytes and
figures as a local run; dask arrays read raw IDX files by offset; unseen paths are refused."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import engine  # noqa: E402
from engine.compute import executors  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from engine.model.filearray import file_origin  # noqa: E402
from tests.cli_helpers import run_main  # noqa: E402
from tests.conftest import make_dataset  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    try:
        with distributed.Client(cluster, set_as_default=False) as connected:
            yield connected
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def raw_mnist(tmp_path_factory):
    """An uncompressed mnist folder of 300 + 100 items (so its images are file-backed)."""
    folder = tmp_path_factory.mktemp("raw") / "mnist"
    engine.save(make_dataset((("train", 300), ("test", 100)), seed=3), "mnist", folder)
    for packed in folder.glob("*.gz"):
        subprocess.run(["gunzip", str(packed)], check=True)
    return folder


def _same_tree(left, right) -> None:
    names = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    for name in names:
        assert (left / name).read_bytes() == (right / name).read_bytes(), name


def test_save_on_dask_writes_the_same_bytes_as_locally(tmp_path, client, raw_mnist):
    dataset = engine.load("mnist", raw_mnist)
    assert file_origin(dataset["train"].images[5:9]) is not None  # chunks travel by offset
    engine.save(dataset, "imagenet", tmp_path / "local", resize="14x14", workers=2)
    engine.save(dataset, "imagenet", tmp_path / "dask", resize="14x14", executor=client)
    assert len(list((tmp_path / "dask").rglob("*.png"))) == 400
    _same_tree(tmp_path / "local", tmp_path / "dask")


def test_cli_convert_and_stats_with_scheduler_match_local(tmp_path, client, raw_mnist, monkeypatch):
    address = client.scheduler.address
    code, _, err = run_main(
        "convert", "-i", str(raw_mnist), "-f", "image_dir", "-o", str(tmp_path / "dask"),
        "--filter", '/item[annotation/label!="3"]', "--scheduler", address,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run_main(
        "convert", "-i", str(raw_mnist), "-f", "image_dir", "-o", str(tmp_path / "local"),
        "--filter", '/item[annotation/label!="3"]',
    )  # fmt: skip
    assert code == 0, err
    _same_tree(tmp_path / "local", tmp_path / "dask")
    code, local, _ = run_main("stats", str(raw_mnist), "--json")
    monkeypatch.setenv(executors.SCHEDULER_ENV, address)
    code, remote, err = run_main("stats", str(raw_mnist), "--json")
    assert code == 0, err
    assert json.loads(remote) == json.loads(local)


def test_load_of_image_files_on_dask_decodes_the_same_pixels(tmp_path, client):
    dataset = make_dataset((("train", 150),), seed=5)
    engine.save(dataset, "imagenet", tmp_path / "png")
    local = engine.load("imagenet", tmp_path / "png")
    remote = engine.load("imagenet", tmp_path / "png", executor=client, workers=2)
    assert list(local["default"].ids) == list(remote["default"].ids)
    assert np.array_equal(local["default"].images, remote["default"].images)


def test_to_dask_reads_chunks_by_offset_and_round_trips(tmp_path, client, raw_mnist):
    subset = engine.load("mnist", raw_mnist)["train"]
    columns = subset.to_dask(chunk_rows=150)
    assert columns.images.chunks[0] == (150, 150)
    assert len(pickle.dumps(dict(columns.images.dask))) < 10_000  # no pixels in the graph
    assert np.array_equal(client.compute(columns.images).result(), subset.images)
    assert np.array_equal(columns.labels.compute(), subset.labels)
    back = engine.subset_from_dask("train", columns.images[::2], columns.labels[::2])
    assert np.array_equal(back.images, subset.images[::2])
    plain = engine.Subset("train", subset.labels[::2], np.array(subset.images[::2]))
    original = engine.Dataset([plain], [str(i) for i in range(10)])
    engine.save(original, "mnist_csv", tmp_path / "numpy")
    engine.save(engine.Dataset([back], original.categories), "mnist_csv", tmp_path / "dask")
    _same_tree(tmp_path / "numpy", tmp_path / "dask")


class _ElsewhereClient:
    """A client whose workers mount the shared folder somewhere else (they cannot see paths)."""

    def __init__(self, real) -> None:
        self.real, self.scheduler = real, real.scheduler

    def nthreads(self):
        return self.real.nthreads()

    def run(self, function, wanted):
        moved = {"/elsewhere" + path: size for path, size in wanted.items()}
        return self.real.run(function, moved)


def test_a_worker_that_cannot_see_the_input_is_refused_naming_path_and_worker(
    tmp_path, client, raw_mnist
):
    executor = executors.DaskExecutor(_ElsewhereClient(client))
    with pytest.raises(EngineError, match=r"mnist.*Dask worker tcp://127\.0\.0\.1:\d+ cannot see"):
        engine.load("mnist", raw_mnist, executor=executor)
    dataset = engine.load("mnist", raw_mnist)
    with pytest.raises(EngineError, match="cannot see this path"):
        engine.save(dataset, "imagenet", tmp_path / "out", executor=executor)
    assert not (tmp_path / "out").exists()


def test_missing_dask_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(EngineError, match=r'pip install "mnist-engine\[dask\]"'):
        executors.DaskExecutor.connect("tcp://127.0.0.1:1")
