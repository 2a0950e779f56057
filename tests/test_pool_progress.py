"""The process pool gives results in order whatever the worker count; the bar draws when asked."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest

from engine.compute.pool import chunk_bounds, resolve_workers
from engine.compute.progress import Progress
from engine.io.images import decode_images, encode_images


def test_encode_decode_in_two_processes_keeps_order():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (150, 6, 5), dtype=np.uint8)
    ids = [str(i) for i in range(150)]
    blobs = encode_images(images, ids, ext=".png", workers=2, progress=False)
    assert blobs == encode_images(images, ids, ext=".png", workers=1, progress=False)
    decoded = decode_images(blobs, workers=2, progress=False)
    np.testing.assert_array_equal(np.stack(decoded), images)


def test_chunks_cover_every_item_once():
    bounds = chunk_bounds(1001, 2)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1001
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert resolve_workers(None, 10) == 1
    with pytest.raises(ValueError, match="workers"):
        resolve_workers(-1, 10)


def test_progress_bar_draws_only_when_enabled():
    shown, hidden = io.StringIO(), io.StringIO()
    with Progress(4, "writing images", enabled=True, stream=shown) as bar:
        bar.update(4)
    with Progress(4, "writing images", stream=hidden) as bar:  # not a terminal: silent
        bar.update(4)
    assert "writing images" in shown.getvalue() and "4/4" in shown.getvalue()
    assert hidden.getvalue() == ""
