"""Helpers for fetch tests: fake published files made by our own writers, and specs whose
declared hashes are those of the fakes (the real hashes belong to the real files)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import engine
from engine import fetching
from engine.io import transfer
from specs.schema import DatasetSpec, KnownFile, Mirror

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def written_files(dataset: engine.Dataset, format_name: str, folder: Path, **options) -> dict:
    """name -> bytes of the data files our writer produces for `dataset` in `format_name` (not
    the class list it adds: publishers do not ship one)."""
    engine.save(dataset, format_name, folder, **options)
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in ("labels.txt", "dataset_meta.json")
    }


def known(name: str, data: bytes, *, content: bytes | None = None) -> KnownFile:
    """A published-file entry whose size and hashes are those of `data`."""
    return KnownFile(
        name=name,
        md5=hashlib.md5(data).hexdigest(),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_md5=hashlib.md5(content).hexdigest() if content is not None else None,
    )


def faked(
    spec: DatasetSpec,
    files: Mapping[str, bytes],
    *,
    mirrors: tuple[str, ...] | None = None,
    archives: Mapping[str, bytes] = {},
    **sources_update,
) -> DatasetSpec:
    """`spec` with the fakes' hashes in place of the published ones (and, when given, its own
    mirrors replaced by `mirrors`)."""
    assert spec.sources is not None
    update: dict = {"archives": tuple(known(n, d) for n, d in archives.items()), **sources_update}
    if mirrors is not None:
        update["mirrors"] = tuple(Mirror(url=m) for m in mirrors)
    return spec.model_copy(
        update={
            "known_files": tuple(known(n, d) for n, d in files.items()),
            "sources": spec.sources.model_copy(update=update),
        }
    )


def use_spec(monkeypatch, spec: DatasetSpec) -> None:
    """`engine.fetch(spec.name)` (and the CLI) use `spec` in place of the registered one."""
    original = fetching.spec_of
    monkeypatch.setattr(
        fetching, "spec_of", lambda name: spec if name == spec.name else original(name)
    )


def quick_and_offline(monkeypatch, tmp_path: Path) -> None:
    """No backoff waits, no proxy or user mirror from the environment, data under tmp_path."""
    monkeypatch.setattr(transfer, "BACKOFF", 0.0)
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.lower(), raising=False)
    monkeypatch.delenv("MNIST_ENGINE_MIRRORS", raising=False)
    monkeypatch.setenv("MNIST_ENGINE_DATA", str(tmp_path / "data-home"))
