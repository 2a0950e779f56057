"""The `webdataset` format: tar shards round trip for every spec, the `webdataset` library reads
them, and reading refuses links, names outside the dataset, oversized and truncated members."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from training_data import assert_same, spec_formats, spec_options, spec_sample

import engine
import formats.webdataset as wd
from engine.model import Subset


@pytest.mark.parametrize("fmt", spec_formats(), ids=lambda f: f.name)
def test_every_spec_round_trips_through_shards(fmt, tmp_path: Path) -> None:
    spec = fmt.spec
    options = spec_options(spec)
    engine.save(spec_sample(spec), spec.name, tmp_path / "src", **options)
    original = engine.load(spec.name, tmp_path / "src", **options)
    engine.save(original, "webdataset", tmp_path / "wds", rows_per_shard=4)
    back = engine.load("webdataset", tmp_path / "wds")
    assert_same(back, original)
    engine.save(back, spec.name, tmp_path / "again", **options)
    assert_same(engine.load(spec.name, tmp_path / "again", **options), original)


def test_shard_names_and_members(tiny_dataset, tmp_path: Path) -> None:
    engine.save(tiny_dataset, "webdataset", tmp_path / "out", rows_per_shard=4)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tar")) == [
        "test-000000.tar",
        "test-000001.tar",
        "train-000000.tar",
        "train-000001.tar",
    ]
    with tarfile.open(tmp_path / "out" / "train-000000.tar") as tar:
        names = tar.getnames()
    assert names[:4] == ["0.png", "0.cls", "1.png", "1.cls"]
    assert engine.detect(tmp_path / "out") == ["webdataset"]


def test_the_webdataset_library_reads_our_shards(tiny_dataset, tmp_path: Path) -> None:
    webdataset = pytest.importorskip("webdataset")
    engine.save(tiny_dataset, "webdataset", tmp_path / "out", rows_per_shard=3)
    urls = [str(p) for p in sorted((tmp_path / "out").glob("train-*.tar"))]
    pipeline = webdataset.WebDataset(urls, shardshuffle=False).decode("pil").to_tuple("png", "cls")
    samples = list(pipeline)
    assert [label for _, label in samples] == tiny_dataset["train"].labels.tolist()
    pixels = np.stack([np.asarray(image.convert("L")) for image, _ in samples])
    np.testing.assert_array_equal(pixels, tiny_dataset["train"].images)


def test_ids_attributes_and_unlabeled_items_go_to_json(tmp_path: Path) -> None:
    subset = Subset(
        name="s",
        labels=np.array([1, -1, 0], dtype=np.int32),
        images=[np.full((4, 4), 9, np.uint8), None, np.zeros((2, 3), np.uint8)],
        ids=np.array(["dir/a.b", "c d", "e"], dtype=object),
        attributes={"writer": np.array([5, 6, 7])},
    )
    engine.save(engine.Dataset([subset], ["x", "y"]), "webdataset", tmp_path / "out")
    back = engine.load("webdataset", tmp_path / "out")
    assert back.categories == ("x", "y")
    part = back["s"]
    assert list(part.ids) == ["dir/a.b", "c d", "e"]
    assert part.labels.tolist() == [1, -1, 0]
    assert part.images[1] is None
    assert part.attributes["writer"].tolist() == [5, 6, 7]


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info in members:
            payload = data.get(info.name)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def _file(name: str, payload: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    return info, payload


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("symlink", "link"),
        ("hardlink", "link"),
        ("device", "special file"),
        ("dotdot", "'..'"),
        ("absolute", "absolute"),
    ],
)
def test_unsafe_members_are_refused(kind: str, reason: str, tmp_path: Path) -> None:
    info = tarfile.TarInfo("0.png")
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "1.png"
    elif kind == "device":
        info.type = tarfile.CHRTYPE
    elif kind == "dotdot":
        info, payload = _file("../0.cls", b"1")
    else:
        info, payload = _file("/abs/0.cls", b"1")
    data = {info.name: payload} if kind in ("dotdot", "absolute") else {}
    path = _tar(tmp_path / "x-000000.tar", [info], data)
    with pytest.raises(engine.FormatError, match=reason) as caught:
        engine.load("webdataset", path)
    assert caught.value.path == str(path)


def test_oversized_declared_member_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(wd, "MAX_MEMBER_BYTES", 10)
    info, payload = _file("0.cls", b"12345678901")
    path = _tar(tmp_path / "x-000000.tar", [info], {"0.cls": payload})
    with pytest.raises(engine.FormatError, match="declares 11 bytes"):
        engine.load("webdataset", path)


def test_truncated_or_garbage_tar_is_a_format_error(tiny_dataset, tmp_path: Path) -> None:
    engine.save(tiny_dataset, "webdataset", tmp_path / "out")
    shard = tmp_path / "out" / "train-000000.tar"
    data = shard.read_bytes()
    shard.write_bytes(data[: 512 * 3 + 100])
    with pytest.raises(engine.FormatError, match=r"train-000000\.tar"):
        engine.load("webdataset", tmp_path / "out")
    info, payload = _file("0.cls", b"seven")
    bad = _tar(tmp_path / "y-000000.tar", [info], {"0.cls": payload})
    with pytest.raises(engine.FormatError, match="not a class index"):
        engine.load("webdataset", bad)
