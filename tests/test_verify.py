"""engine.verify: identical / same content but recompressed / differs / unverifiable / unknown,
against published checksums declared by a spec (here a test spec over synthetic files)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from spec_data import sandbox_registry, synthetic_dataset

import engine
from engine.io import checksums
from engine.registry import get_format
from specs.schema import KnownFile

__all__ = ["sandbox_registry"]

NAME = "train-labels-idx1-ubyte.gz"


@pytest.fixture
def published(tmp_path: Path, sandbox_registry) -> Path:
    """A folder of synthetic files, registered as the published files of `probe_a` / `probe_b`."""
    folder = tmp_path / "published"
    mnist = get_format("mnist").spec
    engine.save(synthetic_dataset(mnist), "mnist", folder)
    data = (folder / NAME).read_bytes()
    content = gzip.decompress(data)
    with_content = KnownFile(
        name=NAME,
        md5=hashlib.md5(data).hexdigest(),
        content_md5=hashlib.md5(content).hexdigest(),
    )
    images = folder / "train-images-idx3-ubyte.gz"
    without_content = KnownFile(name=images.name, md5=hashlib.md5(images.read_bytes()).hexdigest())
    engine.register_spec(
        mnist.model_copy(update={"name": "probe_a", "known_files": (with_content,)})
    )
    engine.register_spec(
        mnist.model_copy(update={"name": "probe_b", "known_files": (without_content,)})
    )
    return folder


def status_of(path: Path, **options) -> engine.FileCheck:
    [check] = engine.verify(path, **options)
    return check


def test_identical_file(published: Path) -> None:
    check = status_of(published / NAME, format="probe_a")
    assert (check.status, check.formats, check.published) == ("identical", ("probe_a",), NAME)


def test_recompressed_file_has_the_same_content(published: Path, tmp_path: Path) -> None:
    content = gzip.decompress((published / NAME).read_bytes())
    other = tmp_path / "mirror" / NAME
    other.parent.mkdir()
    other.write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
    check = status_of(other, format="probe_a")
    assert (check.status, check.detail) == ("same_content", "recompressed")
    plain = tmp_path / "mirror" / NAME.removesuffix(".gz")
    plain.write_bytes(content)
    check = status_of(plain, format="probe_a")
    assert (check.status, check.detail) == ("same_content", "stored uncompressed")


def test_changed_content_differs(published: Path, tmp_path: Path) -> None:
    content = bytearray(gzip.decompress((published / NAME).read_bytes()))
    content[-1] ^= 1
    changed = tmp_path / NAME
    changed.write_bytes(gzip.compress(bytes(content)))
    assert status_of(changed, format="probe_a").status == "differs"


def test_without_a_content_md5_a_recompressed_file_is_unverifiable(
    published: Path, tmp_path: Path
) -> None:
    images = published / "train-images-idx3-ubyte.gz"
    copy = tmp_path / images.name
    copy.write_bytes(gzip.compress(gzip.decompress(images.read_bytes()), compresslevel=9))
    assert status_of(images, format="probe_b").status == "identical"
    assert status_of(copy, format="probe_b").status == "unverifiable"


def test_an_unverifiable_verdict_names_the_datasets_whose_content_it_fails(
    published: Path, tmp_path: Path
) -> None:
    """Several datasets publish files under one name: the file is refuted by the one that gives
    a content hash and only unprovable against the others, and the detail says which is which."""
    images = published / "train-images-idx3-ubyte.gz"
    content = gzip.decompress(images.read_bytes())
    engine.register_spec(
        get_format("probe_b").spec.model_copy(
            update={
                "name": "probe_c",
                "known_files": (
                    KnownFile(
                        name=images.name,
                        md5="0" * 32,
                        content_md5=hashlib.md5(content + b"x").hexdigest(),
                    ),
                ),
            }
        )
    )
    copy = tmp_path / images.name
    copy.write_bytes(gzip.compress(content, compresslevel=9))
    check = status_of(copy)
    assert check.status == "unverifiable" and {"probe_b", "probe_c"} <= set(check.formats)
    assert "content differs from the published probe_c file" in check.detail
    assert "probe_b" in check.detail.split("byte-identical", 1)[1]


def test_folder_reports_every_file_and_unknown_ones(published: Path) -> None:
    checks = {c.path.name: c for c in engine.verify(published)}
    assert checks[NAME].status == "identical" and "probe_a" in checks[NAME].formats
    assert checks["labels.txt"].status == "unknown"
    assert checks["train-images-idx3-ubyte.gz"].status == "identical"


def test_a_truncated_compressed_file_is_a_format_error(published: Path, tmp_path: Path) -> None:
    broken = tmp_path / NAME
    broken.write_bytes((published / NAME).read_bytes()[:-9])
    with pytest.raises(engine.FormatError, match="truncated"):
        engine.verify(broken, format="probe_a")


def test_content_md5_streams_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checksums, "CHUNK", 7)
    payload = bytes(range(256)) * 5
    (tmp_path / "x.gz").write_bytes(gzip.compress(payload))
    assert checksums.content_md5(tmp_path / "x.gz") == hashlib.md5(payload).hexdigest()
    assert (
        checksums.file_md5(tmp_path / "x.gz")
        == hashlib.md5((tmp_path / "x.gz").read_bytes()).hexdigest()
    )


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        engine.verify(tmp_path / "nope")
