"""Images that do not fit MNIST: a ValidationError naming the options, or explicit conversion."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import Dataset
from engine.model import Subset
from engine.ops.pixels import PixelEdit, parse_size, to_grayscale


def _rgb_dataset(count=3, shape=(40, 30, 3), seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, *shape), dtype=np.uint8)
    return Dataset([Subset("train", np.arange(count, dtype=np.int32), images)], "0123456789")


def test_rgb_images_are_refused_with_a_hint_naming_the_options(tmp_path):
    with pytest.raises(engine.ValidationError) as caught:
        engine.save(_rgb_dataset(), "mnist", tmp_path / "m")
    message = str(caught.value)
    assert caught.value.item_ids == ["0", "1", "2"]
    assert "grayscale=True" in message and "resize='28x28'" in message and "mnistify" in message
    assert not (tmp_path / "m").exists()


def test_grey_28x28_with_three_channels_suggests_only_grayscale(tmp_path):
    with pytest.raises(engine.ValidationError) as caught:
        engine.save(_rgb_dataset(shape=(28, 28, 3)), "mnist", tmp_path / "m")
    assert "grayscale=True" in caught.value.hint and "resize" not in caught.value.hint


def test_grayscale_uses_itu_601_weights(tmp_path):
    image = np.zeros((28, 28, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 200, 100, 50
    dataset = Dataset([Subset("train", np.array([1], np.int32), image[None])], "0123456789")
    engine.save(dataset, "mnist", tmp_path / "m", grayscale=True)
    pixels = engine.load("mnist", tmp_path / "m")["train"].images
    assert pixels.shape == (1, 28, 28)
    assert int(pixels[0, 0, 0]) == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)


@pytest.mark.parametrize("resize", ["28x28", (28, 28), 28])
def test_grayscale_and_resize_make_any_rgb_fit(tmp_path, resize):
    original = _rgb_dataset()
    engine.save(original, "mnist", tmp_path / "m", grayscale=True, resize=resize, workers=2)
    loaded = engine.load("mnist", tmp_path / "m")["train"]
    assert loaded.images.shape == (3, 28, 28)
    np.testing.assert_array_equal(loaded.labels, [0, 1, 2])
    flat_mean = to_grayscale(original["train"].images[0]).mean()
    assert abs(float(loaded.images[0].mean()) - flat_mean) < 3


def test_resize_of_mixed_sizes_makes_one_array(tmp_path):
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in [(10, 12), (50, 40)]]
    dataset = Dataset([Subset("train", np.array([4, 5], np.int32), images)], "0123456789")
    engine.save(dataset, "mnist", tmp_path / "m", resize="28x28")
    assert engine.load("mnist", tmp_path / "m")["train"].images.shape == (2, 28, 28)


def test_mnistify_centres_a_dark_on_light_digit(tmp_path):
    page = np.full((90, 60), 255, np.uint8)
    page[10:40, 5:15] = 0  # a dark vertical bar near the top-left corner
    dataset = Dataset([Subset("train", np.array([1], np.int32), page[None])], "0123456789")
    engine.save(dataset, "mnist", tmp_path / "m", mnistify=True, invert=True)
    digit = engine.load("mnist", tmp_path / "m")["train"].images[0].astype(float)
    rows, _ = np.nonzero(digit)
    assert rows.max() - rows.min() + 1 == 20  # longer side fitted into the 20x20 box
    centre = (
        digit.sum(1) @ np.arange(28) / digit.sum(),
        digit.sum(0) @ np.arange(28) / digit.sum(),
    )
    assert abs(centre[0] - 13.5) <= 1 and abs(centre[1] - 13.5) <= 1


def test_conversions_also_apply_when_writing_other_formats(tmp_path):
    engine.save(_rgb_dataset(), "cifar", tmp_path / "c", resize="32x32")
    assert engine.load("cifar", tmp_path / "c")["train"].images.shape == (3, 32, 32, 3)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"resize": "28by28"}, "HxW"),
        ({"resize": (0, 28)}, "positive"),
        ({"invert": True}, "mnistify"),
        ({"mnistify": True, "resize": "28x30"}, "square"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_conversion_options_are_value_errors(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        engine.save(_rgb_dataset(), "mnist", tmp_path / "m", **options)


def test_parse_size_and_empty_conversion():
    assert parse_size("32 x 24") == (32, 24)
    assert not PixelEdit.from_options()
    assert PixelEdit.from_options(grayscale=True)
