"""IDX datasets through the registry: round trips, golden bytes, side files, Datumaro's quirks."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import Dataset, FormatError, FormatWarning
from engine.model import NO_LABEL
from tests.conftest import make_dataset

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "mnist"


def assert_same(loaded: Dataset, original: Dataset) -> None:
    assert loaded.categories == original.categories
    assert list(loaded.subsets()) == list(original.subsets())
    for name, subset in original.subsets().items():
        other = loaded[name]
        np.testing.assert_array_equal(other.labels, subset.labels)
        np.testing.assert_array_equal(other.id_column(), subset.id_column())
        for mine, theirs in zip(other, subset, strict=True):
            if theirs.image is None:
                assert mine.image is None
            else:
                np.testing.assert_array_equal(mine.image, theirs.image)


@pytest.mark.parametrize("compression", ["", ".gz", ".xz", ".bz2"])
def test_round_trip_every_compression(tmp_path, tiny_dataset, compression):
    engine.save(tiny_dataset, "mnist", tmp_path / "out", compression=compression)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert f"t10k-images-idx3-ubyte{compression}" in names
    assert_same(engine.load("mnist", tmp_path / "out"), tiny_dataset)


def test_bundled_sample_saves_back_byte_identical(tmp_path):
    """Golden check: loading the shipped sample and saving it reproduces its uncompressed bytes."""
    dataset = engine.load("mnist", SAMPLE)
    assert {name: len(s) for name, s in dataset.subsets().items()} == {"train": 500, "test": 200}
    engine.save(dataset, "mnist", tmp_path / "out")
    for original in SAMPLE.glob("*.gz"):
        written = tmp_path / "out" / original.name
        assert gzip.decompress(written.read_bytes()) == gzip.decompress(original.read_bytes())
    engine.save(dataset, "mnist", tmp_path / "again")
    for written in (tmp_path / "out").glob("*.gz"):  # reproducible gzip: no time stamp inside
        assert (tmp_path / "again" / written.name).read_bytes() == written.read_bytes()


def test_golden_header_bytes(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    images = gzip.decompress((tmp_path / "out" / "train-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((tmp_path / "out" / "train-labels-idx1-ubyte.gz").read_bytes())
    assert images[:16] == bytes.fromhex("00000803 00000007 0000001c 0000001c")
    assert images[16:] == tiny_dataset["train"].images.tobytes()
    assert (
        labels
        == bytes.fromhex("00000801 00000007")
        + tiny_dataset["train"].labels.astype(np.uint8).tobytes()
    )
    assert (tmp_path / "out" / "labels.txt").read_text() == "".join(f"{d}\n" for d in range(10))


def test_load_one_file_and_subset_option(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    one = engine.load("mnist", tmp_path / "out" / "t10k-labels-idx1-ubyte.gz")
    assert list(one.subsets()) == ["test"] and len(one) == 5
    picked = engine.load("mnist", tmp_path / "out", subset="train")
    assert list(picked.subsets()) == ["train"]


def test_seven_zip_names_and_plain_files(tmp_path):
    images = np.full((2, 28, 28), 9, dtype=np.uint8)
    engine.write_idx(
        tmp_path / "t10k-images.idx3-ubyte", images, engine.get_format("mnist").spec.layout.images
    )
    engine.write_idx(
        tmp_path / "t10k-labels.idx1-ubyte",
        np.array([3, 4], np.uint8),
        engine.get_format("mnist").spec.layout.labels,
    )
    dataset = engine.load("mnist", tmp_path)
    assert [item.label for item in dataset] == [3, 4]
    assert dataset["test"].images.shape == (2, 28, 28)


def test_item_views(tiny_dataset, tmp_path):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    dataset = engine.load("mnist", tmp_path / "out")
    items = list(dataset)
    assert len(items) == len(dataset) == 12
    first = items[0]
    assert (first.id, first.subset) == ("0", "train")
    assert first.label == int(tiny_dataset["train"].labels[0])
    assert first.annotations == [engine.Label(first.label)]
    assert first.media.data.shape == (28, 28)
    assert np.shares_memory(first.image, dataset["train"].images)
    assert dataset.get("3", subset="test").label == int(tiny_dataset["test"].labels[3])


def test_unlabeled_items_use_255_on_disk(tmp_path):
    dataset = make_dataset((("train", 3),))
    dataset["train"].labels[1] = NO_LABEL
    engine.save(dataset, "mnist", tmp_path / "out")
    raw = gzip.decompress((tmp_path / "out" / "train-labels-idx1-ubyte.gz").read_bytes())
    assert raw[8 + 1] == 255
    loaded = engine.load("mnist", tmp_path / "out")
    assert [item.label for item in loaded] == [
        dataset["train"].labels[0],
        None,
        dataset["train"].labels[2],
    ]
    assert list(loaded)[1].annotations == []


# -- class names -----------------------------------------------------------------------------------
def test_dataset_meta_wins_over_labels_txt(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    (tmp_path / "out" / "labels.txt").write_text("a\n\nb\n")
    assert engine.load("mnist", tmp_path / "out").categories == ("a", "b")
    meta = {"labels": ["x", "y"], "label_map": {"0": "y", "1": "z"}}
    (tmp_path / "out" / "dataset_meta.json").write_text(json.dumps(meta))
    assert engine.load("mnist", tmp_path / "out").categories == ("x", "y", "z")


def test_save_dataset_meta(tmp_path):
    dataset = make_dataset()
    dataset.categories = ("T-shirt/top", "Trouser")
    dataset["train"].labels[:] = 1
    dataset["test"].labels[:] = 0
    engine.save(dataset, "mnist", tmp_path / "out", save_dataset_meta=True)
    meta = json.loads((tmp_path / "out" / "dataset_meta.json").read_text())
    assert meta == {"labels": ["T-shirt/top", "Trouser"]}
    assert engine.load("mnist", tmp_path / "out").categories == ("T-shirt/top", "Trouser")


def test_broken_dataset_meta_names_line_and_column(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    (tmp_path / "out" / "dataset_meta.json").write_text('{\n  "labels": [1, 2,\n}')
    with pytest.raises(FormatError, match=r"dataset_meta.json: line 3, column 1: not valid JSON"):
        engine.load("mnist", tmp_path / "out")


# -- side file: custom ids, items without image ------------------------------------------
def test_custom_ids_go_to_the_side_file(tmp_path):
    dataset = engine.Dataset.from_iterable(
        [
            engine.DatasetItem(id="cat/1", subset="train", image=np.zeros((28, 28), np.uint8)),
            engine.DatasetItem(
                id="dog/2",
                subset="train",
                image=np.ones((28, 28), np.uint8),
                annotations=[engine.Label(1)],
            ),
        ],
        categories=["cat", "dog"],
    )
    engine.save(dataset, "mnist", tmp_path / "out")
    cells = np.frombuffer(
        gzip.decompress((tmp_path / "out" / "train-meta.gz").read_bytes()), "<U32"
    )
    assert cells.tolist() == ["cat/1", "dog/2"]
    loaded = engine.load("mnist", tmp_path / "out")
    assert [(i.id, i.label) for i in loaded] == [("cat/1", None), ("dog/2", 1)]


def test_default_ids_write_no_side_file(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    assert not list((tmp_path / "out").glob("*-meta.gz"))


def test_items_without_image_survive(tmp_path):
    items = [
        engine.DatasetItem(
            id=0, image=np.full((28, 28), 5, np.uint8), annotations=[engine.Label(1)]
        ),
        engine.DatasetItem(id=1, annotations=[engine.Label(2)]),
        engine.DatasetItem(id=2, image=np.full((28, 28), 7, np.uint8)),
    ]
    engine.save(engine.Dataset.from_iterable(items, categories="abc"), "mnist", tmp_path / "out")
    raw = gzip.decompress((tmp_path / "out" / "default-images-idx3-ubyte.gz").read_bytes())
    assert raw[:8] == bytes.fromhex("00000803 00000002")  # the count is the images stored
    loaded = list(engine.load("mnist", tmp_path / "out"))
    assert loaded[1].image is None and loaded[1].label == 2
    assert loaded[0].image[0, 0] == 5 and loaded[2].image[0, 0] == 7 and loaded[2].label is None


def test_save_media_false_writes_labels_only(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out", save_media=False)
    assert not list((tmp_path / "out").glob("*images*"))
    loaded = engine.load("mnist", tmp_path / "out")
    assert loaded["train"].images is None
    np.testing.assert_array_equal(loaded["train"].labels, tiny_dataset["train"].labels)


def test_side_file_with_wrong_row_count(tmp_path, tiny_dataset):
    engine.save(tiny_dataset, "mnist", tmp_path / "out")
    cells = np.array(["a", "b", "c"], dtype="<U32").tobytes()
    (tmp_path / "out" / "train-meta.gz").write_bytes(gzip.compress(cells))
    with pytest.raises(FormatError, match=r"train-meta\.gz: 3 cells do not divide into 7 rows"):
        engine.load("mnist", tmp_path / "out")


# -- Datumaro's files, built in the test as its writer builds them ---------------------------
def datumaro_style(
    tmp_path: Path, subset: str, images: list[np.ndarray], labels, meta=None
) -> Path:
    flat = np.concatenate([image.reshape(-1) for image in images]).astype(np.uint8)
    prefix = "t10k" if subset == "test" else subset
    header = np.array([0x0803, len(flat), 28, 28], dtype=">i4").tobytes()  # pixel count, sic
    (tmp_path / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(header + flat.tobytes())
    )
    lab = np.array([0x0801, len(labels)], dtype=">i4").tobytes() + bytes(labels)
    (tmp_path / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(lab))
    if meta is not None:
        cells = np.array(meta, dtype="<U32").tobytes()
        (tmp_path / f"{subset}-meta.gz").write_bytes(gzip.compress(cells))
    return tmp_path


def test_datumaro_pixel_count_header_is_read_with_a_warning(tmp_path):
    images = [np.full((28, 28), k, np.uint8) for k in (1, 2, 3)]
    datumaro_style(tmp_path, "test", images, [0, 2, 1])
    with pytest.warns(
        FormatWarning, match="t10k-images-idx3-ubyte.gz: the IDX header declares 2352"
    ):
        dataset = engine.load("mnist", tmp_path)
    assert [item.label for item in dataset] == [0, 2, 1]
    assert [int(item.image[5, 5]) for item in dataset] == [1, 2, 3]


def test_datumaro_meta_with_ids_and_sizes(tmp_path):
    images = [np.full((28, 28), 1, np.uint8), np.full((4, 6), 2, np.uint8)]
    meta = [["first", "28", "28"], ["second", "4", "6"]]
    datumaro_style(tmp_path, "train", images, [3, 255], meta)
    dataset = engine.load("mnist", tmp_path)
    items = list(dataset)
    assert [(i.id, i.label) for i in items] == [("first", 3), ("second", None)]
    assert items[1].image.shape == (4, 6) and int(items[1].image.max()) == 2


def test_datumaro_meta_with_ids_only(tmp_path):
    images = [np.full((28, 28), 1, np.uint8)] * 2
    datumaro_style(tmp_path, "train", images, [3, 4], [["a"], ["b"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FormatWarning)
        dataset = engine.load("mnist", tmp_path)
    assert [i.id for i in dataset] == ["a", "b"]


def test_non_28x28_images_are_refused_on_save(tmp_path):
    images = [np.full((28, 28), 1, np.uint8), np.full((4, 6), 2, np.uint8)]
    datumaro_style(
        tmp_path / "in" if (tmp_path / "in").mkdir() is None else None,
        "train",
        images,
        [3, 4],
        [["first", "28", "28"], ["second", "4", "6"]],
    )
    dataset = engine.load("mnist", tmp_path / "in")
    with pytest.raises(engine.ValidationError, match=r"4x6.*items 'second'"):
        engine.save(dataset, "mnist", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- Hypothesis: random datasets round-trip --------------------------------------------------------
ids_strategy = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_characters=","),
    min_size=1,
    max_size=32,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    labels=st.lists(st.integers(-1, 254), min_size=0, max_size=12),
    custom_ids=st.booleans(),
    with_image=st.lists(st.booleans(), min_size=12, max_size=12),
    classes=st.lists(
        st.text(alphabet="abcxyz -_/é", min_size=1, max_size=8).map(str.strip).filter(bool),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    data=st.data(),
)
def test_random_datasets_round_trip(
    tmp_path_factory, labels, custom_ids, with_image, classes, data
):
    ids = data.draw(st.lists(ids_strategy, min_size=len(labels), max_size=len(labels), unique=True))
    classes += [f"class{i}" for i in range(len(classes), max(labels, default=-1) + 1)]
    rng = np.random.default_rng(len(labels))
    items = [
        engine.DatasetItem(
            id=ids[i] if custom_ids else i,
            subset="train",
            image=rng.integers(0, 256, (28, 28), dtype=np.uint8) if with_image[i] else None,
            annotations=[engine.Label(label)] if label >= 0 else [],
        )
        for i, label in enumerate(labels)
    ]
    original = engine.Dataset.from_iterable(items, categories=classes)
    out = tmp_path_factory.mktemp("rt") / "out"
    engine.save(original, "mnist", out)
    if not labels:  # no subset, so no IDX file: only the class names are written
        assert (out / "labels.txt").read_text().splitlines() == classes
        return
    assert_same(engine.load("mnist", out), original)
