"""The decompression cache: built once, memory-mapped, rebuilt when stale, never half-written."""

from __future__ import annotations

import gzip
import mmap
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.cli.main import main
from engine.codecs.idx.container import idx_header_bytes
from engine.io.cache import default_cache_dir
from tests.conftest import make_dataset


def on_disk(array: np.ndarray) -> bool:
    """True when the array's memory is a mapping of a file."""
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    engine.save(make_dataset((("train", 30), ("test", 20))), "mnist", folder)
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.bin"))


def test_cache_true_maps_decompressed_files(saved, tmp_path):
    cache = tmp_path / "cache"
    plain = engine.load("mnist", saved)
    cached = engine.load("mnist", saved, cache=True, cache_dir=cache)
    assert len(entries(cache)) == 4  # images and labels of two subsets
    assert on_disk(cached["train"].images) and not on_disk(plain["train"].images)
    np.testing.assert_array_equal(cached["train"].images, plain["train"].images)
    np.testing.assert_array_equal(cached["test"].labels, plain["test"].labels)
    assert not list(cache.glob("*.part"))


def test_a_fresh_entry_is_reused_and_a_stale_one_rebuilt(saved, tmp_path):
    cache = tmp_path / "cache"
    engine.load("mnist", saved, cache=True, cache_dir=cache)
    built = {p: p.stat().st_mtime_ns for p in entries(cache)}
    engine.load("mnist", saved, cache=True, cache_dir=cache)
    assert {p: p.stat().st_mtime_ns for p in entries(cache)} == built

    other = make_dataset((("train", 30), ("test", 20)), seed=9)
    engine.save(other, "mnist", saved, overwrite=True)
    reloaded = engine.load("mnist", saved, cache=True, cache_dir=cache)
    np.testing.assert_array_equal(reloaded["train"].images, other["train"].images)
    assert len(entries(cache)) == 4


def test_a_bomb_leaves_no_cache_entry(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_header_bytes("uint8", (1,)) + bytes(1 << 22)))
    cache = tmp_path / "cache"
    with pytest.raises(engine.FormatError, match="unexpected bytes after the 9 bytes"):
        engine.load("mnist", folder, cache=True, cache_dir=cache)
    assert not list(cache.glob("*.bin")) and not list(cache.glob("*.part"))


def test_cache_false_and_small_inputs_stay_in_memory(saved, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MNIST_ENGINE_CACHE_DIR", str(cache))
    engine.load("mnist", saved, cache=False)
    assert main(["info", str(saved)]) == 0  # the CLI caches only from 256 MiB
    assert not cache.exists()


def test_the_cli_caches_inputs_over_its_threshold(saved, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MNIST_ENGINE_CACHE_DIR", str(cache))
    monkeypatch.setattr(sys.modules["engine.io.cache"], "AUTO_THRESHOLD", 1)
    assert main(["info", str(saved)]) == 0
    assert len(entries(cache)) == 4
    monkeypatch.setenv("MNIST_ENGINE_CACHE", "0")  # the switch that turns it off
    for entry in entries(cache):
        entry.unlink()
    assert main(["info", str(saved)]) == 0
    assert entries(cache) == []


def test_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_ENGINE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "mnist-engine"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "mnist-engine"


def test_an_unwritable_cache_falls_back_to_memory_with_a_warning(saved, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.warns(UserWarning, match="cannot cache"):
        data = engine.load("mnist", saved, cache=True, cache_dir=blocked / "cache")
    assert len(data["train"]) == 30 and not os.path.isdir(blocked)
