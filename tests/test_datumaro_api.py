"""Datumaro 1.x code runs unchanged and does the same thing: verbs change the dataset in place and
return it, `categories()` is a call, Datumaro's other names exist or say they are not supported,
an export can be run again, and nothing is lost on the way (classes, ids, inputs)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import make_dataset

import engine
import engine as dm
from engine import AnnotationType, HLOps, LabelCategories, NotSupportedError

SAMPLE = engine.sample_path("mnist")


def _items(dataset: engine.Dataset) -> list[tuple[str, str, int | None]]:
    return [(item.subset, item.id, item.label) for item in dataset]


def test_filter_changes_the_dataset_in_place_so_the_export_holds_the_filtered_items(tmp_path):
    dataset = dm.Dataset.import_from(str(SAMPLE), "mnist")
    threes = sum(1 for item in dataset if item.label == 3)
    assert 0 < threes < len(dataset)
    returned = dataset.filter('/item[annotation/label="3"]')  # Datumaro code does not reassign
    assert returned is dataset and len(dataset) == threes
    dataset.export(str(tmp_path / "out"), "mnist")
    assert len(engine.load("mnist", tmp_path / "out")) == threes


def test_transform_select_remap_split_are_in_place_and_return_the_dataset():
    dataset = make_dataset()
    split = dataset.transform("random_split", splits=[("train", 0.5), ("val", 0.5)], seed=0)
    assert split is dataset and set(dataset.subsets()) == {"train", "val"}
    assert dataset.remap_labels({"3": "three"}) is dataset and "three" in dataset.categories
    assert dataset.select(lambda item: item.subset == "val") is dataset
    assert set(dataset.subsets()) == {"val"}
    assert dataset.split(a=0.5, b=0.5, seed=1) is dataset and set(dataset.subsets()) == {"a", "b"}
    assert dataset.is_modified


def test_clone_and_hlops_leave_the_original_unchanged():
    dataset = make_dataset()
    before = _items(dataset)
    twin = dataset.clone().filter('/item[subset="test"]')
    assert _items(dataset) == before and len(twin) == 5
    filtered = HLOps.filter(dataset, '/item[subset="train"]')
    transformed = HLOps.transform(dataset, "reindex", start=100)
    with pytest.warns(engine.IdsRenumberedWarning):  # both subsets number their rows from 0
        joined = HLOps.aggregate(dataset, ["train", "test"], "all")
    assert _items(dataset) == before
    assert len(filtered) == 7 and transformed[0].id == "100" and list(joined.subsets()) == ["all"]
    merged = HLOps.merge(dataset, twin, merge_policy="intersect")
    assert len(merged) == 5 and _items(dataset) == before
    # classes set on the clone do not reach the original's subsets
    twin.remap_labels({"0": "zero"})
    assert dataset.categories[0] == "0" and dataset["test"].categories[0] == "0"


def test_categories_is_a_call_giving_label_categories():
    dataset = make_dataset()
    labels = dataset.categories()[AnnotationType.label]
    assert isinstance(labels, LabelCategories)
    assert [c.name for c in labels] == [str(d) for d in range(10)]
    assert labels.find("7")[0] == 7 and labels.find("nope") == (None, None)
    assert labels[3].name == "3" and len(labels) == 10
    assert dataset.categories == tuple(str(d) for d in range(10))  # still the tuple of names
    # live, as in Datumaro: a class added to categories() is the dataset's
    assert dataset.categories()[AnnotationType.label].add("ten") == 10
    assert dataset.categories[-1] == "ten" and dataset["train"].categories[-1] == "ten"
    with pytest.raises(AttributeError):  # a class is renamed with remap_labels, not in passing
        labels[0].name = "zero"  # type: ignore[misc]
    given = {AnnotationType.label: LabelCategories.from_iterable(["cat", ("dog", "animal")])}
    item = dm.DatasetItem(id="x", image=np.zeros((2, 2), np.uint8), annotations=[dm.Label(1)])
    built = dm.Dataset.from_iterable([item], categories=given)
    assert built.categories == ("cat", "dog")
    assert built.get_label_cat_names() == ["cat", "dog"]
    with pytest.raises(TypeError, match="categories="):  # Datumaro's 2nd argument is infos
        dm.Dataset.from_iterable([item], ["cat", "dog"])  # type: ignore[arg-type]
    assert dm.Dataset.from_iterable([item], {"source": "lab"}, ["a", "b"]).infos() == {
        "source": "lab"
    }


def test_datumaro_reading_names():
    dataset = make_dataset()
    assert dataset.get_subset("test") is dataset["test"]
    assert list(dataset.subsets()) == ["train", "test"]
    assert dataset[0].id == "0" and dataset[7].subset == "test" and dataset[-1].id == "4"
    assert ("3", "test") in dataset and ("9", "test") not in dataset
    assert dataset.media_type() is dm.Image and dataset.ann_types() == {AnnotationType.label}
    assert dataset.get_annotated_items() == 12 == dataset.get_annotations()
    assert next(dataset.get_subset_info()).startswith("test: # of items=5, # of annotated")
    assert list(dataset.get_categories_info()) == [f"label: {list(dataset.categories)}\n"]
    alone = dataset.get_subset("test").as_dataset()  # Datumaro's idiom
    assert list(alone.subsets()) == ["test"] and alone.categories == dataset.categories
    alone.filter("/item[id < 2]")
    assert len(alone) == 2 and len(dataset["test"]) == 5
    assert dataset.get_subset("test").get("3").id == "3"
    assert dm.Dataset.detect(str(SAMPLE)) == "mnist"
    with pytest.warns(UserWarning, match="depth is not used"):
        dm.Dataset.detect(str(SAMPLE), depth=1)
    with pytest.raises(engine.UnknownFormatError):
        dm.Dataset.detect(str(SAMPLE / "labels.txt"))


def test_from_extractors_copies_one_and_merges_several():
    first, second = make_dataset(), make_dataset((("val", 3),), seed=2)
    alone = dm.Dataset.from_extractors(first)
    assert alone is not first and _items(alone) == _items(first)
    alone.filter('/item[subset="test"]')
    assert len(first) == 12
    merged = dm.Dataset.from_extractors(first, second, merge_policy="exact")
    assert set(merged.subsets()) == {"train", "test", "val"} and len(merged) == 15
    with pytest.raises(NotSupportedError, match="not a dataset of this engine"):
        dm.Dataset.from_extractors(object())


def test_put_and_remove():
    dataset = make_dataset()
    image = np.full((28, 28), 9, np.uint8)
    dataset.put(dm.DatasetItem(id="new", subset="test", image=image, annotations=[dm.Label(4)]))
    assert dataset.get("new", "test").label == 4 and len(dataset["test"]) == 6
    dataset.put(dm.DatasetItem(id="new", subset="test", image=image, annotations=[dm.Label(5)]))
    assert dataset.get("new", "test").label == 5 and len(dataset["test"]) == 6  # replaced
    dataset.remove("new", "test")
    assert dataset.get("new", "test") is None and len(dataset) == 12


@pytest.mark.parametrize(
    "use",
    [
        lambda ds: ds.run_model,
        lambda ds: ds.get_patch(),
        lambda ds: ds.env,
        lambda ds: ds.update(ds),
        lambda ds: ds.transform(type("Resize", (), {})),
        lambda ds: HLOps.run_model(ds, None),
        lambda ds: HLOps.validate(ds, "detection"),
        lambda ds: HLOps.merge(ds, ds, report_path="r.json"),
        lambda ds: dm.Dataset.import_from(str(SAMPLE), "mnist", env=object()),
        lambda ds: dm.Dataset.from_iterable([], media_type=type("Video", (), {})),
        lambda ds: dm.Dataset.from_iterable([], ann_types={AnnotationType.bbox}),
    ],
)
def test_what_is_not_offered_says_so_never_attribute_error(use):
    with pytest.raises(NotSupportedError, match=r"not supported|only|not part of this engine"):
        use(make_dataset())


def test_unknown_names_are_still_attribute_errors():
    assert not hasattr(make_dataset(), "no_such_method")
    report = HLOps.validate(make_dataset(), "classification")
    assert report["problems"] == [] and report["notes"] == ["classes without items: '4', '7'"]


def test_export_runs_again_replacing_the_earlier_export_and_keeping_other_files(tmp_path):
    out = tmp_path / "dataset"
    dataset = make_dataset()
    dataset.export(str(out), format="mnist")
    (out / "notes.md").write_text("mine")
    dataset.filter('/item[subset="test"]')
    dataset.export(str(out), format="mnist")  # Datumaro writes again; so do we
    assert len(engine.load("mnist", out)) == 5
    assert (out / "notes.md").read_text() == "mine"
    with pytest.raises(engine.OutputExistsError):
        dataset.export(str(out), format="mnist", overwrite=False)
    dataset.save()  # Datumaro's save(): the folder and format of the last export
    assert dataset.data_path == str(out) and dataset.format == "mnist"
    # a folder holding no export of the format is not taken over without overwrite=True
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("mine")
    with pytest.raises(engine.OutputExistsError, match="overwrite"):
        dataset.export(str(tmp_path / "mine"), format="mnist")
    dataset.export(str(tmp_path / "mine"), format="mnist", overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "mine"


def test_export_over_its_own_folder_is_an_in_place_edit_and_inside_it_is_refused(tmp_path):
    source = tmp_path / "src"
    engine.save(make_dataset(), "mnist", source)
    dataset = dm.Dataset.import_from(str(source), "mnist")
    dataset.filter('/item[subset="train"]')
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        dataset.export(str(source / "copy"), "mnist")
    dataset.export(str(source), "mnist")
    assert list(engine.load("mnist", source).subsets()) == ["train"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # nothing left beside it


def test_a_dataset_built_from_subsets_keeps_the_classes(tmp_path):
    loaded = engine.load("mnist", SAMPLE)
    rebuilt = engine.Dataset({"train": loaded["train"], "val": loaded["test"]})
    assert rebuilt.categories == loaded.categories
    engine.save(rebuilt, "mnist", tmp_path / "out")
    assert (tmp_path / "out" / "labels.txt").read_text().split() == list(loaded.categories)
    reversed_classes = [str(i) for i in range(9, -1, -1)]
    other = engine.Dataset([loaded["test"]], reversed_classes)
    assert loaded["test"].categories == loaded.categories  # the original's subset is unchanged
    with pytest.raises(ValueError, match="different classes"):
        engine.Dataset({"a": loaded["train"], "b": other["test"]})


@pytest.mark.parametrize(
    "fmt", ["mnist", "mnist_csv", "kaggle_digits", "imagenet", "imagenet_txt", "cifar", "parquet"]
)
def test_labels_without_class_names_are_refused_by_every_writer(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    bare = engine.Subset(
        name="train",
        labels=np.array([7, 2, 1], np.int32),
        images=np.zeros((3, 28, 28), np.uint8),
    )
    with pytest.raises(engine.ValidationError, match="without class names") as caught:
        engine.save(engine.Dataset({"train": bare}), fmt, tmp_path / "out")
    assert caught.value.item_ids == ["train:0", "train:1", "train:2"]
    assert not (tmp_path / "out").exists()


def test_random_split_keeps_mnist_ids_through_the_side_file(tmp_path):
    dataset = engine.load("mnist", SAMPLE)
    test_images = dataset["test"].images
    dataset.filter('/item[subset="test"]').transform(
        "random_split", splits=[("train", 0.8), ("val", 0.2)], seed=0
    )
    dataset.export(str(tmp_path / "split"), "mnist")
    assert (tmp_path / "split" / "val-meta.gz").is_file()
    back = engine.load("mnist", tmp_path / "split")
    assert len(back) == 200
    for item in back["val"]:  # the id says which test image went to val
        np.testing.assert_array_equal(item.image, test_images[int(item.id)])
    assert sorted(int(i.id) for i in back) == list(range(200))


def test_merged_and_transformed_datasets_remember_their_sources(tmp_path):
    x, y = tmp_path / "x", tmp_path / "y"
    engine.save(make_dataset(seed=1), "mnist", x)
    engine.save(make_dataset((("val", 4),), seed=2), "mnist", y)
    merged = engine.merge(engine.load("mnist", x), engine.load("mnist", y))
    with pytest.raises(engine.OutputExistsError, match="is the input"):
        engine.save(merged, "mnist", y)
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        engine.save(merged, "mnist", x / "sub", overwrite=True)
    with pytest.raises(engine.OutputExistsError, match="holds the input"):
        engine.save(merged.transform("reindex"), "mnist", tmp_path, overwrite=True)
    engine.save(merged, "mnist", y, overwrite=True)  # asked for: an in-place edit of y
    assert len(engine.load("mnist", y)) == 16 and len(engine.load("mnist", x)) == 12


def test_datumaro_module_names_not_offered_say_so_and_hasattr_still_answers():
    with pytest.raises(NotSupportedError, match=r"Datumaro's Bbox is not supported.*class labels"):
        dm.Bbox(0, 0, 1, 1, label=2)
    with pytest.raises(NotSupportedError, match=r"Image\.from_file"):
        dm.ImageFromFile("x.png")
    assert not hasattr(dm, "Polygon") and getattr(dm, "Video", None) is None
    with pytest.raises(AttributeError) as caught:
        dm.NoSuchThing  # noqa: B018
    assert not isinstance(caught.value, NotSupportedError)
    with pytest.raises(NotSupportedError, match="model inference"):
        dm.Dataset().run_model(None)
    assert not hasattr(dm.Dataset(), "get_patch")


def test_from_iterable_keeps_one_item_per_id_and_subset_as_datumaro():
    """Datumaro's storage holds one item per (id, subset): the last one put wins, at the first
    one's place; the engine does the same and says so."""
    image = np.zeros((28, 28), np.uint8)
    items = [
        dm.DatasetItem(id="a", image=image, annotations=[dm.Label(1)]),
        dm.DatasetItem(id="b", image=image, annotations=[dm.Label(2)]),
        dm.DatasetItem(id="a", image=image, annotations=[dm.Label(3)]),
        dm.DatasetItem(id="a", subset="test", image=image, annotations=[dm.Label(4)]),
    ]
    with pytest.warns(engine.ItemReplacedWarning, match=r"1 item\(s\).*'default:a'"):
        dataset = dm.Dataset.from_iterable(items, categories=[str(d) for d in range(10)])
    assert _items(dataset) == [("default", "a", 3), ("default", "b", 2), ("test", "a", 4)]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: dm.Label(1.5), ValueError, "whole number, found 1.5"),
        (lambda: dm.Label(float("nan")), ValueError, "whole number, found nan"),
        (lambda: dm.Label("x"), TypeError, "must be an integer, found 'x'"),
        (lambda: dm.Label(None), TypeError, "must be an integer, found None"),
        (
            lambda: dm.DatasetItem(id="a", annotations=["cat"]),
            TypeError,
            "annotations are Label objects.*found str",
        ),
        (lambda: dm.Dataset.from_iterable(["x"]), TypeError, "item 0 is a str, not a DatasetItem"),
    ],
)
def test_items_that_are_not_what_datumaro_takes_are_refused_clearly(make, error, message):
    with pytest.raises(error, match=message):
        make()
    assert dm.Label("3").label == 3 and dm.Label(np.float32(2.0)).label == 2  # as Datumaro
    assert dm.Label(3, group=2, object_id=5).group == 2  # Datumaro 1.x's keywords are taken


def test_an_item_image_file_that_cannot_be_read_is_a_format_error_naming_it(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    (tmp_path / "text.png").write_text("not a picture")
    for name, reason in [("missing.png", "no such file"), ("pipe.png", "not a regular file")]:
        item = dm.DatasetItem(id="a", image=str(tmp_path / name), annotations=[dm.Label(1)])
        with pytest.raises(engine.FormatError, match=f"{name}.*{reason}"):
            dm.Dataset.from_iterable([item], categories=["0", "1"])
    item = dm.DatasetItem(id="a", image=str(tmp_path / "text.png"))
    with pytest.raises(engine.FormatError, match=r"text\.png: not a readable image"):
        dm.Dataset.from_iterable([item])
