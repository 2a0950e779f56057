"""Shared fixtures: small datasets made by our own code (no network, no ../shared)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Dataset
from engine.model import Subset


def make_dataset(counts=(("train", 7), ("test", 5)), *, seed: int = 0) -> Dataset:
    """A tiny random MNIST-shaped dataset: uint8 28x28 images, labels 0..9."""
    rng = np.random.default_rng(seed)
    subsets = [
        Subset(
            name=name,
            labels=rng.integers(0, 10, count).astype(np.int32),
            images=rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
        )
        for name, count in counts
    ]
    return Dataset(subsets, [str(d) for d in range(10)])


@pytest.fixture
def tiny_dataset() -> Dataset:
    return make_dataset()


@pytest.fixture
def hf_datasets(tmp_path, monkeypatch):
    """The `datasets` module, offline, with its home and caches under tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    return datasets


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory):
    """The decompression cache never touches the user's home folder during tests."""
    import os

    folder = tmp_path_factory.mktemp("engine-cache")
    previous = os.environ.get("MNIST_ENGINE_CACHE_DIR")
    os.environ["MNIST_ENGINE_CACHE_DIR"] = str(folder)
    yield
    if previous is None:
        os.environ.pop("MNIST_ENGINE_CACHE_DIR", None)
    else:
        os.environ["MNIST_ENGINE_CACHE_DIR"] = previous


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    import ipaddress

    if not isinstance(host, str):
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Tests never reach beyond this machine: a connection (or name lookup) to anything but a
    loopback address fails the test instead of downloading."""
    import socket

    connect, connect_ex, getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def refuse(address: object) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise ConnectionRefusedError(f"tests may not connect to {address!r} (loopback only)")

    def guarded_connect(self, address):
        refuse(address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        refuse(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(name) and name != socket.gethostname():
            raise socket.gaierror(f"tests may not look up {name!r} (loopback only)")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        socket.getaddrinfo = getaddrinfo
