"""Small synthetic datasets made from a spec's own declarations (dtype, shape, columns, classes)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Dataset
from engine.codecs.idx.label_table import is_table, table_columns
from engine.format import SpecFormat
from engine.model import Subset
from engine.registry import all_formats
from engine.registry import catalog as registry
from specs.schema import DatasetSpec, IdxLayout


def idx_specs() -> list[DatasetSpec]:
    """Every registered spec with an IDX layout (the ones this engine interprets generically)."""
    return [
        fmt.spec
        for fmt in all_formats()
        if isinstance(fmt, SpecFormat) and isinstance(fmt.spec.layout, IdxLayout)
    ]


def options_for(spec: DatasetSpec) -> dict[str, str]:
    """Load/save options a spec needs: its first variant when it has variants."""
    return {spec.variant_option: spec.variants[0].name} if spec.variants else {}


def classes_for(spec: DatasetSpec) -> tuple[str, ...]:
    return spec.variants[0].classes if spec.variants else spec.classes


def _random_values(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return rng.standard_normal(shape).astype(kind)
    info = np.iinfo(kind)
    return rng.integers(info.min, int(info.max) + 1, shape, dtype=kind)


def synthetic_subset(spec: DatasetSpec, name: str, count: int, seed: int = 0) -> Subset:
    """`count` random items shaped and typed as the spec declares (images upright)."""
    rng = np.random.default_rng(seed)
    layout = spec.layout
    images = _random_values(rng, layout.images.dtype, (count, *layout.images.item_shape))
    labels = rng.integers(0, len(classes_for(spec)), count).astype(np.int32)
    attributes = {}
    if is_table(layout.labels):
        for index, column in enumerate(table_columns(layout.labels)):
            if index != layout.label_column:
                values = _random_values(rng, layout.labels.dtype, (count,))
                attributes[column.name] = values
    return Subset(name=name, labels=labels, images=images, attributes=attributes)


def synthetic_dataset(spec: DatasetSpec, counts=(("train", 6), ("test", 4)), seed=0) -> Dataset:
    subsets = [synthetic_subset(spec, name, n, seed + i) for i, (name, n) in enumerate(counts)]
    return Dataset(subsets, classes_for(spec))


@pytest.fixture
def sandbox_registry(monkeypatch: pytest.MonkeyPatch):
    """A copy of the registry for one test, so specs a test registers do not leak."""
    registry._ensure_loaded()
    monkeypatch.setattr(registry, "_FORMATS", dict(registry._FORMATS))
    return registry
