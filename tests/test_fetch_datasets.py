"""`mnist-engine download get` for every declared dataset, served from a loopback mirror with
files our own writers made (the declared hashes are replaced by those of the fakes), and
`download describe`."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import engine
from engine.cli.main import main
from engine.registry import get_format
from tests.fetch_helpers import faked, quick_and_offline, use_spec, written_files
from tests.fetch_server import serving
from tests.spec_data import options_for, synthetic_dataset

DECLARED = ("mnist", "fashion_mnist", "kmnist", "k49", "emnist", "qmnist", "mnist_csv")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    quick_and_offline(monkeypatch, tmp_path)


@pytest.fixture
def server():
    with serving() as running:
        yield running


def _same(loaded: engine.Dataset, expected: engine.Dataset, subsets) -> None:
    for name in subsets:
        got, want = loaded.subsets()[name], expected.subsets()[name]
        np.testing.assert_array_equal(got.images, want.images)
        np.testing.assert_array_equal(got.labels, want.labels)


def _get(*words: str) -> None:
    assert main(["download", "get", *words]) == 0


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "kmnist"])
def test_download_get_idx_datasets(name, server, tmp_path, monkeypatch):
    spec = get_format(name).spec
    dataset = synthetic_dataset(spec)
    fakes = written_files(dataset, name, tmp_path / "fakes")
    for file, data in fakes.items():
        server.add(file, data)
    use_spec(monkeypatch, faked(spec, fakes, converted=()))
    out = tmp_path / "out"
    _get("-i", name, "-o", str(out), "--mirror", server.url)
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(fakes)
    _same(engine.load(name, out), dataset, ("train", "test"))


def test_download_get_kmnist_npz_layout(server, tmp_path, capsys):
    spec = get_format("kmnist").spec
    dataset = synthetic_dataset(spec)
    fakes = written_files(dataset, "kmnist", tmp_path / "fakes", layout="npz")
    assert sorted(fakes) == sorted(
        f"kmnist-{s}-{k}.npz" for s in ("train", "test") for k in ("imgs", "labels")
    )
    for file, data in fakes.items():
        server.add(file, data)
    out = tmp_path / "out"
    _get("-i", "kmnist", "--layout", "npz", "-o", str(out), "--mirror", server.url)
    assert "no primary source publishes a hash of this file" in capsys.readouterr().err
    _same(engine.load("kmnist", out, layout="npz"), dataset, ("train", "test"))


def test_download_get_k49(server, tmp_path, capsys):
    spec = get_format("k49").spec
    dataset = synthetic_dataset(spec)
    fakes = written_files(dataset, "k49", tmp_path / "fakes")
    for file, data in fakes.items():
        server.add(file, data)
    out = tmp_path / "out"
    _get("-i", "k49", "-o", str(out), "--mirror", server.url, "-s", "test")
    assert "only its type was checked" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "k49-test-imgs.npz",
        "k49-test-labels.npz",
    ]
    _same(engine.load("k49", out), dataset, ("test",))


def test_download_get_emnist_takes_one_split_out_of_the_archive(server, tmp_path, monkeypatch):
    spec = get_format("emnist").spec
    options = options_for(spec)
    dataset = synthetic_dataset(spec)
    fakes = written_files(dataset, "emnist", tmp_path / "fakes", **options)
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        for file, data in fakes.items():
            archive.writestr(f"gzip/{file}", data)
        archive.writestr("gzip/emnist-letters-test-labels-idx1-ubyte.gz", b"\x1f\x8b other")
    server.add("gzip.zip", bundle.getvalue())
    use_spec(monkeypatch, faked(spec, {}, archives={"gzip.zip": bundle.getvalue()}))
    out = tmp_path / "out"
    split = options[spec.variant_option]
    _get("-i", "emnist", "--split", split, "-o", str(out), "--mirror", server.url)
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted([*fakes, "gzip.zip"])
    _same(engine.load("emnist", out, **options), dataset, ("train", "test"))
    served = server.served["gzip.zip"]
    _get("-i", "emnist", "--split", split, "-o", str(out), "--mirror", server.url)
    assert server.served["gzip.zip"] == served  # members and archive verify: nothing fetched


def test_download_get_qmnist_with_the_nist_files(server, tmp_path, monkeypatch):
    spec = get_format("qmnist").spec
    dataset = synthetic_dataset(spec, counts=(("train", 5), ("test", 4), ("nist", 3)))
    fakes = written_files(dataset, "qmnist", tmp_path / "fakes")
    assert "xnist-images-idx3-ubyte.xz" in fakes
    for file, data in fakes.items():
        server.add(file, data)
    use_spec(monkeypatch, faked(spec, fakes))
    out = tmp_path / "out"
    _get("-i", "qmnist", "-o", str(out), "--mirror", server.url)
    _same(engine.load("qmnist", out), dataset, ("train", "test", "nist"))


def test_download_get_mnist_csv_is_written_from_the_mnist_files(server, tmp_path, monkeypatch):
    spec = get_format("mnist").spec
    dataset = synthetic_dataset(spec)
    fakes = written_files(dataset, "mnist", tmp_path / "fakes")
    for file, data in fakes.items():
        server.add(file, data)
    use_spec(monkeypatch, faked(spec, fakes, mirrors=(server.url,), converted=()))
    out = tmp_path / "out"
    _get("-i", "mnist_csv", "-o", str(out))
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "labels.txt",
        "mnist_test.csv",
        "mnist_train.csv",
    ]
    _same(engine.load("mnist_csv", out), dataset, ("train", "test"))


def test_download_get_kaggle_needs_a_login(tmp_path, capsys):
    assert main(["download", "get", "-i", "kaggle_digits", "-o", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    assert "kaggle competitions download -c digit-recognizer" in err
    assert f"put them in {tmp_path / 'k'}" in err


def test_download_get_converts_with_f(server, tmp_path, monkeypatch):
    spec = get_format("mnist").spec
    dataset = synthetic_dataset(spec)
    fakes = written_files(dataset, "mnist", tmp_path / "fakes")
    for file, data in fakes.items():
        server.add(file, data)
    use_spec(monkeypatch, faked(spec, fakes, mirrors=(server.url,), converted=()))
    out = tmp_path / "csv"
    _get("-i", "mnist", "-o", str(out), "-f", "mnist_csv")
    _same(engine.load("mnist_csv", out), dataset, ("train", "test"))


def test_download_describe_lists_every_declared_dataset(capsys):
    assert main(["download", "describe", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert set(DECLARED) | {"kaggle_digits"} <= set(entries)
    mnist = entries["mnist"]
    assert mnist["mirrors"][0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    images = next(f for f in mnist["files"] if f["name"] == "train-images-idx3-ubyte.gz")
    assert images["size"] == 9912422 and images["md5"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert entries["emnist"]["archives"][0]["name"] == "gzip.zip"
    assert entries["mnist_csv"]["derived_from"] == "mnist"
    assert entries["kaggle_digits"]["login_required"]
    assert main(["download", "describe", "-i", "qmnist"]) == 0
    text = capsys.readouterr().out
    assert (
        "file:     xnist-images-idx3-ubyte.xz, md5 7f124b3b8ab81486c9d8c2749c17f834 [nist]" in text
    )
