"""Filters: the XPath subset, vectorised and by lxml alike, its modes and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Dataset
from engine.model import NO_LABEL, DatasetItem, Label, Subset
from engine.ops.filters import Annotations, Filter, filter_dataset
from engine.ops.xpath import FilterError


def mixed_dataset() -> Dataset:
    """Items with and without labels, several labels, custom ids and images of several sizes."""
    rng = np.random.default_rng(3)
    items = []
    for index in range(24):
        h, w = (28, 28) if index % 3 else (20, 32)
        image = None if index % 7 == 5 else rng.integers(0, 256, (h, w), dtype=np.uint8)
        labels = [] if index % 5 == 4 else [Label(index % 4)]
        if index % 6 == 1:
            labels.append(Label(3 - index % 4 + 4))
        items.append(
            DatasetItem(
                id=str(index) if index % 4 else f"img_{index}",
                subset="train" if index < 16 else "test",
                image=image,
                annotations=labels,
            )
        )
    return Dataset.from_iterable(
        items, categories=["zero", "one", "3", "three", "4", "x", "6", "7"]
    )


EXPRESSIONS = [
    '/item[annotation/label="3"]',
    '/item[annotation/label="three"]',
    "/item[annotation/label_id=3]",
    "/item[annotation/label_id >= 4]",
    '/item[subset="train"]',
    '/item[subset!="train"]',
    "/item[id < 8]",
    '/item[id = "12"]',
    '/item[id = "img_8"]',
    "/item[not(annotation)]",
    "/item[annotation]",
    "/item[image]",
    "/item[not(image)]",
    "/item[image/width < image/height]",
    "/item[image/width > image/height]",
    "/item[image/width = 28 and image/height = 28]",
    '/item[annotation/label="3" or subset="test"]',
    "/item[(annotation/label_id = 1 or annotation/label_id = 2) and id > 3]",
    "/item[count(annotation) = 2]",
    '/item[contains(id, "img")]',
    '/item[starts-with(subset, "te")]',
    "/item[annotation[label_id = 1]]",
    '/item[annotation/type="label"]',
    "/item/annotation[label_id = 0]",
    '/item/annotation[label="three" or label_id > 5]',
    '/item[subset="train"]/annotation[label_id < 2]',
    "/item",
]


def lxml_only(expression: str) -> Filter:
    compiled = Filter(expression)
    compiled.tree = None
    return compiled


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_vectorised_agrees_with_lxml(expression):
    dataset = mixed_dataset()
    compiled = Filter(expression)
    assert compiled.vectorised, expression
    reference = lxml_only(expression)
    for subset in dataset.subsets().values():
        got = compiled.select(subset, dataset.categories)
        want = reference.select(subset, dataset.categories)
        assert np.array_equal(got[0], want[0]), expression
        assert np.array_equal(got[1], want[1]), expression


def test_item_filter_keeps_the_selected_items():
    dataset = mixed_dataset()
    kept = dataset.clone().filter('/item[annotation/label="three"]')
    ids = [item.id for item in kept]
    expected = [item.id for item in dataset if 3 in [a.label for a in item.annotations]]
    assert ids == expected and ids


def test_annotation_mode_keeps_items_and_drops_other_annotations():
    dataset = mixed_dataset()
    kept = dataset.clone().filter('/item/annotation[label="three"]', mode="annotations")
    assert len(kept) == len(dataset)
    for before, after in zip(dataset, kept, strict=True):
        assert before.id == after.id
        assert [a.label for a in after.annotations] == [
            a.label for a in before.annotations if a.label == 3
        ]


def test_items_and_annotations_mode_drops_items_left_empty():
    dataset = mixed_dataset()
    kept = dataset.clone().filter("/item/annotation[label_id >= 4]", mode="i+a")
    assert len(kept) > 0
    for item in kept:
        assert item.annotations and all(a.label >= 4 for a in item.annotations)
    assert len(kept) == sum(any(a.label >= 4 for a in i.annotations) for i in dataset)


def test_datumaro_flags_match_the_modes():
    dataset = mixed_dataset()
    by_flag = dataset.clone().filter(
        "/item/annotation[label_id=0]", filter_annotations=True, remove_empty=True
    )
    by_mode = dataset.clone().filter("/item/annotation[label_id=0]", mode="items+annotations")
    assert [i.id for i in by_flag] == [i.id for i in by_mode]


def test_python_predicate():
    dataset = mixed_dataset()
    kept = dataset.clone().filter(lambda item: item.subset == "test" and item.label is not None)
    assert [i.id for i in kept] == [
        i.id for i in dataset if i.subset == "test" and i.label is not None
    ]
    # Datumaro's annotation predicates take the item and the annotation
    threes = dataset.clone().filter(
        lambda item, ann: dataset.categories[ann.label] == "three", filter_annotations=True
    )
    want = dataset.clone().filter('/item/annotation[label="three"]', mode="annotations")
    assert [i.label for i in threes] == [i.label for i in want]
    assert len(threes) == len(dataset)  # items are all kept; remove_empty drops the bare ones
    bare = dataset.clone().filter(
        lambda item, ann: ann.label == 0, filter_annotations=True, remove_empty=True
    )
    assert {i.label for i in bare} == {0}


def test_unlabeled_subsets_and_implicit_ids():
    subset = Subset(
        "train",
        labels=np.array([0, NO_LABEL, 2, 2], np.int32),
        images=np.zeros((4, 28, 28), np.uint8),
    )
    dataset = Dataset([subset], ["a", "b", "c"])
    assert [i.id for i in dataset.clone().filter("/item[id >= 2]")] == ["2", "3"]
    assert [i.id for i in dataset.clone().filter('/item[id = "02"]')] == []
    assert [i.id for i in dataset.clone().filter("/item[not(annotation)]")] == ["1"]
    assert [i.id for i in dataset.clone().filter('/item[annotation/label = "c"]')] == ["2", "3"]


def test_expressions_outside_the_subset_use_lxml():
    dataset = mixed_dataset()
    compiled = Filter('//item[annotation/label="3"]')
    assert not compiled.vectorised
    kept = dataset.clone().filter('//item[annotation/label="3"]')
    assert [i.id for i in kept] == [
        i.id for i in dataset.clone().filter('/item[annotation/label="3"]')
    ]
    lengths = dataset.clone().filter("/item[string-length(id) > 2]")
    assert [i.id for i in lengths] == [i.id for i in dataset if len(i.id) > 2]


@pytest.mark.parametrize(
    ("expression", "column", "words"),
    [
        ('/item[annotation/label="3"', 27, "expected ']'"),
        ('/item[lable="3"]', 7, "no element 'lable'"),
        ("/item[image/depth > 1]", 13, "no element 'depth'"),
        ("/item[", 7, "expected a path"),
        ('/item[id="3]', 10, "never ends"),
        ("/item[id < ]", 12, "expected a path"),
        ("/items", 2, "selects /item"),
        ("/item[id ~ 3]", 10, "unexpected character"),
        ("", 1, "empty"),
        ("/item[foo(1)]", 7, "Unregistered function"),
        ("/item[id = 1 | 2]", 14, "cannot be evaluated"),
    ],
)
def test_malformed_expressions_say_where(expression, column, words):
    with pytest.raises(FilterError) as caught:
        Filter(expression)
    error = caught.value
    assert error.column == column
    assert words in str(error)
    assert expression in str(error)
    assert str(error).splitlines()[-1].index("^") - 2 == column - 1


def test_annotation_rows_follow_items_and_positions():
    dataset = mixed_dataset()
    subset = dataset["train"]
    rows = Annotations.of(subset)
    expected = [(index, label) for index in range(len(subset)) for label in subset.labels_at(index)]
    assert list(zip(rows.owner.tolist(), rows.codes.tolist(), strict=True)) == expected


def test_filter_dataset_drops_emptied_subsets():
    dataset = mixed_dataset()
    kept = filter_dataset(dataset, '/item[subset="test"]')
    assert list(kept.subsets()) == ["test"]
