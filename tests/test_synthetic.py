"""Tests for MNIST normalisation (engine.normalize) and synthetic digits (engine.synthetic)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ops.normalize import center_of_mass, mnistify
from engine.ops.synthetic import synthesize_digits

CENTRE = 13.5  # geometric centre of a 28-pixel field in pixel-index coordinates
# mnistify shifts by whole pixels (error <= 0.5); rounding to uint8 moves the centroid a little.
CENTRE_TOLERANCE = 0.5 + 0.02


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """Return the (height, width) of the bounding box of non-zero pixels."""
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def rectangle(height: int, width: int, *, top: int = 7, left: int = 31) -> np.ndarray:
    """Return a 100x100 uint8 image holding one solid white rectangle."""
    image = np.zeros((100, 100), dtype=np.uint8)
    image[top : top + height, left : left + width] = 255
    return image


# --- center_of_mass ---------------------------------------------------------------------------


def test_center_of_mass_of_weighted_pixels() -> None:
    image = np.zeros((5, 7))
    image[1, 2] = 1.0
    image[3, 6] = 3.0
    assert center_of_mass(image) == pytest.approx((2.5, 5.0))


def test_center_of_mass_rejects_blank_and_bad_input() -> None:
    with pytest.raises(ValueError, match="no positive intensity"):
        center_of_mass(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="2-D"):
        center_of_mass(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        center_of_mass(np.array([[1.0, -1.0]]))


# --- mnistify ---------------------------------------------------------------------------------


def test_mnistify_rectangle_exact_layout() -> None:
    # 40x10 shrinks by exactly 2 to a solid 20x5 patch; its centroid (9.5, 2.0) moves to
    # (13.5, 13.5) rounded half-up to whole pixels: rows 4..23, columns 12..16.
    out = mnistify(rectangle(40, 10))
    expected = np.zeros((28, 28), dtype=np.uint8)
    expected[4:24, 12:17] = 255
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    assert ink_box(out) == (20, 5)
    row, col = center_of_mass(out)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 90),
    width=st.integers(1, 60),
    top=st.integers(0, 9),
    left=st.integers(0, 39),
)
def test_mnistify_rectangles_fit_box_and_centre(
    height: int, width: int, top: int, left: int
) -> None:
    out = mnistify(rectangle(height, width, top=top, left=left))
    long_side, short_side = max(height, width), min(height, width)
    expected_short = max(1, round(short_side * 20 / long_side))
    box_h, box_w = ink_box(out)
    assert max(box_h, box_w) == 20
    assert min(box_h, box_w) == expected_short
    row, col = center_of_mass(out)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


def test_mnistify_position_independent() -> None:
    a = mnistify(rectangle(30, 12, top=0, left=0))
    b = mnistify(rectangle(30, 12, top=60, left=80))
    np.testing.assert_array_equal(a, b)


def test_mnistify_custom_box_and_field() -> None:
    out = mnistify(rectangle(40, 40), box=10, field=16)
    assert out.shape == (16, 16)
    assert ink_box(out) == (10, 10)
    row, col = center_of_mass(out)
    assert abs(row - 7.5) <= 0.5 and abs(col - 7.5) <= 0.5


def test_mnistify_float_unit_range_matches_uint8() -> None:
    image = rectangle(40, 10)
    np.testing.assert_array_equal(mnistify(image.astype(np.float32) / 255), mnistify(image))
    np.testing.assert_array_equal(mnistify(image.astype(np.float64)), mnistify(image))


def test_mnistify_invert_dark_on_light() -> None:
    paper = 255 - rectangle(40, 10)
    np.testing.assert_array_equal(mnistify(paper, invert=True), mnistify(rectangle(40, 10)))
    # Without invert the paper itself is the "ink" and fills the box.
    assert ink_box(mnistify(paper)) == (20, 20)


def test_mnistify_rgb_uses_luma() -> None:
    grey = rectangle(40, 10)
    white = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(mnistify(white), mnistify(grey))
    red = np.zeros((100, 100, 3), dtype=np.uint8)
    red[:, :, 0] = grey
    out = mnistify(red)
    assert ink_box(out) == (20, 5)
    assert int(out.max()) == round(0.299 * 255)


def test_mnistify_single_channel() -> None:
    grey = rectangle(40, 10)
    np.testing.assert_array_equal(mnistify(grey[:, :, None]), mnistify(grey))


def test_mnistify_rgba_composites_alpha_over_background() -> None:
    grey = rectangle(40, 10)
    # White everywhere, opaque only inside the rectangle: transparent areas become background.
    rgba = np.full((100, 100, 4), 255, dtype=np.uint8)
    rgba[:, :, 3] = grey
    np.testing.assert_array_equal(mnistify(rgba), mnistify(grey))
    # Black ink on transparent: with invert the background is white paper, so only the ink shows.
    dark = np.zeros((100, 100, 4), dtype=np.uint8)
    dark[:, :, 3] = grey
    np.testing.assert_array_equal(mnistify(dark, invert=True), mnistify(grey))


def test_mnistify_enlarges_small_ink() -> None:
    image = np.zeros((30, 30), dtype=np.uint8)
    image[10:14, 20:22] = 200
    out = mnistify(image)
    assert ink_box(out) == (20, 10)
    assert int(out.max()) == 200


def test_mnistify_blank_and_faint_give_zeros() -> None:
    for image in (np.zeros((50, 40), dtype=np.uint8), np.full((10, 10), 3, dtype=np.uint8)):
        out = mnistify(image)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        assert not out.any()


@pytest.mark.parametrize(
    "shape", [(10,), (10, 10, 2), (10, 10, 5), (2, 10, 10, 3), (0, 10), (10, 0, 3)]
)
def test_mnistify_rejects_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="mnistify needs"):
        mnistify(np.zeros(shape, dtype=np.uint8))


def test_mnistify_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="numeric"):
        mnistify(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="finite"):
        mnistify(np.array([[np.nan, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="must not exceed"):
        mnistify(rectangle(4, 4), box=30, field=28)
    with pytest.raises(ValueError, match="at least 1"):
        mnistify(rectangle(4, 4), box=0)


# --- synthesize_digits ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return synthesize_digits(300, seed=123)


def test_synthesize_shapes_and_dtypes(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (300,) and labels.dtype == np.uint8
    empty_images, empty_labels = synthesize_digits(0)
    assert empty_images.shape == (0, 28, 28) and empty_images.dtype == np.uint8
    assert empty_labels.shape == (0,) and empty_labels.dtype == np.uint8


def test_synthesize_is_deterministic_per_seed() -> None:
    a_images, a_labels = synthesize_digits(40, seed=7)
    b_images, b_labels = synthesize_digits(40, seed=7)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    c_images, c_labels = synthesize_digits(40, seed=8)
    assert not np.array_equal(a_images, c_images)
    assert not np.array_equal(a_labels, c_labels)


def test_synthesize_labels_are_balanced(sample: tuple[np.ndarray, np.ndarray]) -> None:
    _, labels = sample
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 30))
    _, odd = synthesize_digits(25, seed=1)
    counts = np.bincount(odd, minlength=10)
    assert counts.sum() == 25 and counts.max() - counts.min() <= 1
    # Shuffled, not sorted or a fixed cycle.
    assert not np.array_equal(labels[:10], labels[10:20])


def test_synthesize_respects_classes() -> None:
    images, labels = synthesize_digits(21, seed=3, classes=[7, 3, 0])
    assert set(labels.tolist()) == {0, 3, 7}
    assert np.bincount(labels, minlength=10)[[0, 3, 7]].tolist() == [7, 7, 7]
    assert images.shape == (21, 28, 28)


def test_synthesize_digits_are_mnist_normalised(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = sample
    for image in images:
        height, width = ink_box(image)
        # mnistify fits the ink into 20x20; soft edges may round to 0 on the outermost rows.
        assert 18 <= max(height, width) <= 20
        assert min(height, width) >= 1
        row, col = center_of_mass(image)
        assert abs(row - CENTRE) <= CENTRE_TOLERANCE
        assert abs(col - CENTRE) <= CENTRE_TOLERANCE


def test_synthesize_pixel_statistics_look_like_mnist(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = sample
    assert (images.max(axis=(1, 2)) == 255).all()
    assert 0.6 < (images == 0).mean() < 0.9  # mostly background
    grey = (images > 0) & (images < 255)
    assert grey.any(axis=(1, 2)).all()  # anti-aliased edges in every digit
    assert 15 < images.mean() < 60  # MNIST's mean is about 33


def test_synthesize_digits_are_distinguishable() -> None:
    train_x, train_y = synthesize_digits(500, seed=11)
    test_x, test_y = synthesize_digits(200, seed=12)
    train = train_x.reshape(len(train_x), -1).astype(np.float64) / 255
    test = test_x.reshape(len(test_x), -1).astype(np.float64) / 255
    centroids = np.stack([train[train_y == digit].mean(axis=0) for digit in range(10)])
    distances = ((test[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    accuracy = (distances.argmin(axis=1) == test_y).mean()
    assert accuracy > 0.5  # chance is 0.1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"count": -1}, ValueError),
        ({"count": 1.5}, TypeError),
        ({"count": 3, "classes": []}, ValueError),
        ({"count": 3, "classes": [10]}, ValueError),
        ({"count": 3, "classes": [-1]}, ValueError),
        ({"count": 3, "classes": [2, 2]}, ValueError),
        ({"count": 3, "classes": ["1"]}, ValueError),
    ],
)
def test_synthesize_rejects_bad_arguments(kwargs: dict, error: type[Exception]) -> None:
    count = kwargs.pop("count")
    with pytest.raises(error):
        synthesize_digits(count, **kwargs)
