"""The executor seam: inline and local processes give the same results in chunk order; views of
plain files travel as (path, offset, shape) and nothing else does."""

from __future__ import annotations

import numpy as np
import pytest

from engine.compute import executors
from engine.compute.pool import run_chunks
from engine.model.filearray import FileArray, file_origin
from engine.ops import stats
from engine.ops.stats import subset_pixel_stats
from tests.conftest import make_dataset


@pytest.fixture
def mapped(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (300, 28, 28), dtype=np.uint8)
    path = tmp_path / "payload"
    path.write_bytes(b"HEAD" + data.tobytes())
    return np.frombuffer(np.memmap(path, np.uint8, "r"), np.uint8, data.size, 4).reshape(data.shape)


def test_views_of_a_plain_file_travel_by_reference_and_copies_do_not(mapped):
    origin = file_origin(mapped[10:20, :, ::-1][:, 3:5])
    assert isinstance(origin, FileArray)
    assert np.array_equal(origin.open(), mapped[10:20, :, ::-1][:, 3:5])
    assert file_origin(mapped[[1, 2]]) is None  # fancy indexing copies
    assert file_origin(np.array(mapped[:5])) is None
    assert executors.by_reference((mapped[:3], "x"))[1] == "x"


def _sum_rows(images: np.ndarray, factor: int) -> tuple[bool, int]:
    return isinstance(images, np.memmap) or images.base is not None, int(images.sum()) * factor


def test_local_processes_and_inline_give_the_same_results_in_order(mapped):
    chunks = [(mapped[a : a + 50], 3) for a in range(0, 300, 50)]
    inline = run_chunks(_sum_rows, chunks, workers=1, sizes=[50] * 6)
    pooled = run_chunks(_sum_rows, chunks, workers=2, sizes=[50] * 6)
    assert pooled == inline
    assert [total for _, total in inline] == [
        int(mapped[a : a + 50].sum()) * 3 for a in range(0, 300, 50)
    ]


def test_pixel_stats_are_the_same_inline_and_in_processes(mapped, monkeypatch):
    monkeypatch.setattr(stats, "_CHUNK", 40)  # several chunks, so the pool has work to share
    subset = make_dataset((("train", 300),))["train"]
    subset.images = mapped
    alone = subset_pixel_stats(subset, workers=1)
    pooled = subset_pixel_stats(subset, workers=2)
    assert (pooled.sums, pooled.squares, pooled.count) == (alone.sums, alone.squares, alone.count)
    assert alone.count == mapped.size


def test_an_unknown_executor_is_refused():
    with pytest.raises(TypeError, match="executor must be"), executors.using(42):
        pass
