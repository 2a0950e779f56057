"""mnist <-> mnist_csv are lossless both ways (Hypothesis), and mnist_csv's write options."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import Dataset
from engine.errors import OutputExistsError, ValidationError
from engine.model import NO_LABEL, Subset

ID_CHARS = st.characters(codec="ascii", categories=["L", "N"], include_characters="-_./")


@st.composite
def subsets(draw, name: str) -> Subset:
    count = draw(st.integers(0, 5))
    labels = draw(st.lists(st.integers(-1, 254), min_size=count, max_size=count))
    with_image = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    images = [
        rng.integers(0, 256, (28, 28), dtype=np.uint8) if present else None
        for present in with_image
    ]
    ids = None
    if draw(st.booleans()):
        ids = draw(
            st.lists(
                st.text(ID_CHARS, min_size=1, max_size=32),
                min_size=count,
                max_size=count,
                unique=True,
            )
        )
    if not any(present for present in with_image):
        stacked = None
    elif all(with_image):
        stacked = np.stack(images)
    else:
        stacked = images
    return Subset(name, np.array(labels, dtype=np.int32), stacked, ids)


@st.composite
def datasets(draw) -> Dataset:
    names = draw(st.lists(st.sampled_from(["train", "test", "val"]), min_size=1, unique=True))
    classes = draw(
        st.lists(st.text(ID_CHARS, min_size=1, max_size=8), min_size=1, max_size=12, unique=True)
    )
    parts = [draw(subsets(name)) for name in names]
    highest = max((int(p.labels.max()) for p in parts if len(p)), default=-1)
    classes += [f"class{i}" for i in range(len(classes), highest + 1)]  # every label has a name
    return Dataset(parts, classes)


def items(dataset: Dataset) -> dict:
    """Everything a dataset says, in plain values: per subset, (id, label, image bytes or None)."""
    return {
        name: [
            (
                item.id,
                item.label,
                None if item.image is None else (item.image.shape, item.image.tobytes()),
            )
            for item in part
        ]
        for name, part in dataset.subsets().items()
    }


def round_trip(dataset: Dataset, folder, first: str, second: str) -> Dataset:
    engine.save(dataset, first, folder / first)
    middle = engine.load(first, folder / first)
    engine.save(middle, second, folder / second)
    return engine.load(second, folder / second)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=datasets(), order=st.sampled_from([("mnist", "mnist_csv"), ("mnist_csv", "mnist")]))
def test_mnist_and_mnist_csv_round_trip_losslessly(tmp_path_factory, dataset, order):
    folder = tmp_path_factory.mktemp("trip")
    back = round_trip(dataset, folder, *order)
    assert items(back) == items(dataset)
    assert back.categories == dataset.categories
    again = engine.load(order[0], folder / order[0])
    assert items(again) == items(dataset)


def test_written_text_is_the_published_layout(tmp_path):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, :3] = [255, 7, 10]
    dataset = Dataset([Subset("test", np.array([5, NO_LABEL]), images)], [*"abcdef"])
    engine.save(dataset, "mnist_csv", tmp_path / "out")
    lines = (tmp_path / "out" / "mnist_test.csv").read_text().splitlines()
    assert lines[0].startswith("5,255,7,10,0,") and lines[1].startswith("-1,0,0,")
    assert [len(line.split(",")) for line in lines] == [785, 785]
    assert (tmp_path / "out" / "labels.txt").read_text() == "a\nb\nc\nd\ne\nf\n"
    assert not (tmp_path / "out" / "meta_test.csv").exists()


def test_custom_ids_go_to_the_side_file(tmp_path):
    dataset = Dataset([Subset("train", np.array([1, 2]), None, ["x", "y/z"])], ["0", "1", "2"])
    engine.save(dataset, "mnist_csv", tmp_path / "out")
    assert (tmp_path / "out" / "meta_train.csv").read_text() == "x\ny/z\n"
    assert (tmp_path / "out" / "mnist_train.csv").read_text() == "1\n2\n"


def test_options_save_media_dataset_meta_overwrite_compression(tmp_path, tiny_dataset):
    out = tmp_path / "out"
    engine.save(tiny_dataset, "mnist_csv", out, save_media=False, save_dataset_meta=True)
    assert (out / "dataset_meta.json").is_file()
    assert engine.load("mnist_csv", out)["train"].images is None
    with pytest.raises(OutputExistsError):
        engine.save(tiny_dataset, "mnist_csv", out)
    engine.save(tiny_dataset, "mnist_csv", out, overwrite=True, compression=".gz")
    assert sorted(p.name for p in out.iterdir()) == [
        "labels.txt",
        "mnist_test.csv.gz",
        "mnist_train.csv.gz",
    ]
    back = engine.load("mnist_csv", out)
    assert np.array_equal(back["test"].images, tiny_dataset["test"].images)


def test_empty_subset_is_written_as_a_header_and_read_back(tmp_path):
    dataset = Dataset([Subset("test", np.zeros(0, dtype=np.int32))], ["0"])
    engine.save(dataset, "mnist_csv", tmp_path / "out")
    text = (tmp_path / "out" / "mnist_test.csv").read_text()
    assert text.startswith("label,1x1,1x2,") and text.endswith(",28x28\n")
    assert len(engine.load("mnist_csv", tmp_path / "out")["test"]) == 0


@pytest.mark.parametrize(
    ("subset", "message"),
    [
        (Subset("my_train", np.array([1])), "would be read back as subset 'train'"),
        (Subset("train", np.array([255])), "above 254"),
        (Subset("train", np.array([1]), None, ["a,b"]), "comma"),
        (Subset("train", np.array([1]), np.zeros((1, 27, 27), np.uint8)), "27x27"),
    ],
)
def test_data_the_format_cannot_hold_writes_nothing(tmp_path, subset, message):
    with pytest.raises(ValidationError, match=message):
        engine.save(Dataset([subset], [str(c) for c in range(256)]), "mnist_csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()
