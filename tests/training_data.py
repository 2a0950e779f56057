"""Fixtures for the training bridges: a dataset in the shape of every registered spec, and a
Hugging Face `datasets` sandbox (offline, caches under the test's tmp_path)."""

from __future__ import annotations

import numpy as np
from spec_data import classes_for, options_for, synthetic_dataset

from engine import Dataset
from engine.format import SpecFormat
from engine.model import Subset
from engine.registry import all_formats
from specs.schema import CsvLayout, DatasetSpec


def spec_formats() -> list[SpecFormat]:
    """Every registered format declared by a spec."""
    return [fmt for fmt in all_formats() if isinstance(fmt, SpecFormat)]


def spec_sample(spec: DatasetSpec, seed: int = 0) -> Dataset:
    """A few random items shaped and typed as the spec declares, labels among its classes."""
    if not isinstance(spec.layout, CsvLayout):
        return synthetic_dataset(spec, seed=seed)
    rng = np.random.default_rng(seed)
    low, high = spec.layout.pixel_range
    subsets = [
        Subset(
            name=name,
            labels=rng.integers(0, len(spec.classes), count).astype(np.int32),
            images=rng.integers(low, high + 1, (count, *spec.layout.image_shape)).astype(
                spec.layout.pixel_dtype
            ),
        )
        for name, count in (("train", 6), ("test", 4))
    ]
    return Dataset(subsets, spec.classes)


def spec_options(spec: DatasetSpec) -> dict[str, str]:
    return options_for(spec)


def assert_same(found: Dataset, expected: Dataset) -> None:
    """Same subsets, classes, labels, pixels, ids and attribute values."""
    assert list(found.subsets()) == list(expected.subsets())
    assert tuple(found.categories) == tuple(expected.categories)
    for name, subset in expected.subsets().items():
        other = found[name]
        np.testing.assert_array_equal(other.labels, subset.labels)
        np.testing.assert_array_equal(np.asarray(other.images), np.asarray(subset.images))
        assert list(other.id_column()) == list(subset.id_column())
        assert sorted(other.attributes) == sorted(subset.attributes)
        for key, column in subset.attributes.items():
            assert [int(v) for v in other.attributes[key]] == [int(v) for v in column]


__all__ = ["assert_same", "classes_for", "spec_formats", "spec_options", "spec_sample"]
