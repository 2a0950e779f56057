"""The `parquet` format: Hugging Face Hub layout, round trips over the registry, interop with
`datasets` both ways, raw pixels, shards, and broken files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from training_data import assert_same, spec_formats, spec_options, spec_sample

import engine
from engine.model import Subset

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.mark.parametrize("fmt", spec_formats(), ids=lambda f: f.name)
@pytest.mark.parametrize("encoding", ["png", "raw"])
def test_every_spec_round_trips_through_parquet(fmt, encoding, tmp_path: Path) -> None:
    spec = fmt.spec
    options = spec_options(spec)
    engine.save(spec_sample(spec), spec.name, tmp_path / "src", **options)
    original = engine.load(spec.name, tmp_path / "src", **options)
    engine.save(original, "parquet", tmp_path / "pq", image_encoding=encoding)
    back = engine.load("parquet", tmp_path / "pq")
    assert_same(back, original)
    engine.save(back, spec.name, tmp_path / "again", **options)
    assert_same(engine.load(spec.name, tmp_path / "again", **options), original)


def test_hub_layout_schema_and_metadata(tiny_dataset, tmp_path: Path) -> None:
    engine.save(tiny_dataset, "parquet", tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
    schema = pq.read_schema(tmp_path / "out" / names[1])
    assert schema.field("image").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    assert schema.field("label").type == pa.int64()
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    assert features["image"] == {"_type": "Image"}
    assert features["label"] == {"_type": "ClassLabel", "names": list(tiny_dataset.categories)}
    assert engine.detect(tmp_path / "out") == ["parquet"]


def test_shards_row_groups_and_data_folder(tiny_dataset, tmp_path: Path) -> None:
    engine.save(tiny_dataset, "parquet", tmp_path / "out", rows_per_shard=3, row_group_size=2)
    train = sorted((tmp_path / "out").glob("train-*.parquet"))
    assert [p.name for p in train] == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert pq.ParquetFile(train[0]).metadata.num_row_groups == 2
    hub = tmp_path / "hub"
    (hub / "data").mkdir(parents=True)
    for file in (tmp_path / "out").iterdir():
        file.rename(hub / "data" / file.name)
    assert_same(engine.load("parquet", hub), tiny_dataset)
    (hub / "data" / "train-00001-of-00003.parquet").unlink()
    with pytest.raises(engine.FormatError, match="shards"):
        engine.load("parquet", hub)


def test_ids_attributes_unlabeled_and_missing_images_survive(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = [
        rng.integers(0, 256, (5, 7), dtype=np.uint8),
        None,
        rng.integers(0, 256, (3, 3, 3), dtype=np.uint8),
    ]
    subset = Subset(
        name="val",
        labels=np.array([2, -1, 0], dtype=np.int32),
        images=images,
        ids=np.array(["a/1", "b 2", "c.3"], dtype=object),
        attributes={"writer": np.array([7, 8, 9]), "score": np.array([0.5, 1.5, 2.5])},
    )
    dataset = engine.Dataset([subset], ["x", "y", "z"])
    engine.save(dataset, "parquet", tmp_path / "out")
    back = engine.load("parquet", tmp_path / "out")["val"]
    assert list(back.ids) == ["a/1", "b 2", "c.3"]
    assert back.labels.tolist() == [2, -1, 0]
    assert back.images[1] is None
    np.testing.assert_array_equal(back.images[2], images[2])
    assert back.attributes["writer"].tolist() == [7, 8, 9]
    assert back.attributes["score"].tolist() == [0.5, 1.5, 2.5]


def test_raw_needs_one_shape_and_other_data_is_refused(tmp_path: Path) -> None:
    subset = Subset(
        name="s", labels=np.zeros(2, np.int32), images=[np.zeros((2, 2), np.uint8), None]
    )
    with pytest.raises(engine.ValidationError, match="raw"):
        engine.save(
            engine.Dataset([subset], ["a"]), "parquet", tmp_path / "a", image_encoding="raw"
        )
    multi = engine.Dataset.from_iterable(
        [
            engine.DatasetItem(
                id=1, image=np.zeros((2, 2)), annotations=[engine.Label(0), engine.Label(1)]
            )
        ],
        categories=["a", "b"],
    )
    with pytest.raises(engine.ValidationError, match="more than one label"):
        engine.save(multi, "parquet", tmp_path / "b")
    unsafe = engine.Dataset([Subset(name="../up", labels=np.zeros(1, np.int32))], ["a"])
    with pytest.raises(engine.ValidationError):
        engine.save(unsafe, "parquet", tmp_path / "c")
    assert not (tmp_path / "up").exists()


def test_datasets_reads_ours_with_features_and_equal_pixels(
    hf_datasets, tiny_dataset, tmp_path
) -> None:
    engine.save(tiny_dataset, "parquet", tmp_path / "out", rows_per_shard=4)
    loaded = hf_datasets.load_dataset(
        "parquet",
        data_files={"train": str(tmp_path / "out" / "train-*.parquet")},
        cache_dir=str(tmp_path / "cache"),
    )["train"]
    assert isinstance(loaded.features["image"], hf_datasets.Image)
    assert loaded.features["label"].names == list(tiny_dataset.categories)
    pixels = np.stack([np.asarray(row["image"]) for row in loaded])
    np.testing.assert_array_equal(pixels, tiny_dataset["train"].images)
    assert loaded["label"] == tiny_dataset["train"].labels.tolist()
    single = hf_datasets.Dataset.from_parquet(
        str(tmp_path / "out" / "test-00000-of-00002.parquet"), cache_dir=str(tmp_path / "c2")
    )
    assert isinstance(single.features["label"], hf_datasets.ClassLabel)


def test_we_read_what_datasets_writes(hf_datasets, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    features = hf_datasets.Features(
        {"image": hf_datasets.Image(), "label": hf_datasets.ClassLabel(names=["no", "yes"])}
    )
    written = hf_datasets.Dataset.from_dict(
        {"image": list(images), "label": [0, 1, 1, 0, 1, 0]}, features=features
    )
    written.to_parquet(str(tmp_path / "train.parquet"))
    back = engine.load("parquet", tmp_path / "train.parquet")
    assert back.categories == ("no", "yes")
    np.testing.assert_array_equal(back["train"].images, images)
    assert back["train"].labels.tolist() == [0, 1, 1, 0, 1, 0]


def test_broken_files_are_format_errors_naming_the_file(tiny_dataset, tmp_path: Path) -> None:
    engine.save(tiny_dataset, "parquet", tmp_path / "out")
    file = tmp_path / "out" / "train-00000-of-00001.parquet"
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    with pytest.raises(engine.FormatError, match=r"train-00000-of-00001\.parquet"):
        engine.load("parquet", tmp_path / "out")
    file.write_bytes(b"PAR1" + b"\0" * 100)
    with pytest.raises(engine.FormatError, match=r"train-00000-of-00001\.parquet"):
        engine.load("parquet", tmp_path / "out")
    pq.write_table(pa.table({"image": [1, 2], "label": [0, 1]}), file)
    with pytest.raises(engine.FormatError, match="column 'image'"):
        engine.load("parquet", tmp_path / "out")


def test_missing_pyarrow_names_the_extra(tiny_dataset, tmp_path: Path, monkeypatch) -> None:
    for name in [m for m in sys.modules if m.startswith(("pyarrow", "engine.interop.arrow"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"mnist-engine\[parquet\]"):
        engine.save(tiny_dataset, "parquet", tmp_path / "out")


def test_pool_encoding_writes_the_same_shards(tmp_path: Path) -> None:
    from conftest import make_dataset

    dataset = make_dataset((("train", 300),), seed=4)
    engine.save(dataset, "parquet", tmp_path / "inline", workers=1, rows_per_shard=200)
    engine.save(dataset, "parquet", tmp_path / "pool", workers=2, rows_per_shard=200)
    for name in ("train-00000-of-00002.parquet", "train-00001-of-00002.parquet"):
        inline = pq.read_table(tmp_path / "inline" / name)
        assert inline.equals(pq.read_table(tmp_path / "pool" / name))
    assert_same(engine.load("parquet", tmp_path / "pool"), dataset)


def test_raw_shape_metadata_must_fit_the_pixels(tiny_dataset, tmp_path: Path) -> None:
    engine.save(tiny_dataset, "parquet", tmp_path / "out", image_encoding="raw")
    file = tmp_path / "out" / "train-00000-of-00001.parquet"
    table = pq.read_table(file)
    metadata = dict(table.schema.metadata)
    ours = json.loads(metadata[b"mnist_engine"])
    assert ours["shape"] == [28, 28]
    metadata[b"mnist_engine"] = json.dumps({**ours, "shape": [30, 30]}).encode()
    pq.write_table(table.replace_schema_metadata(metadata), file)
    with pytest.raises(engine.FormatError, match=r"784 bytes cannot hold shape \(30, 30\)"):
        engine.load("parquet", tmp_path / "out")
