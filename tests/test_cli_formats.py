"""The command line with the image formats: the seed's Example 2, exporter options the adapters
declare, conversions into MNIST, and --skip-broken."""

from __future__ import annotations

import numpy as np

import engine
from engine.cli.sample import write_synthetic_dataset
from tests.cli_helpers import run_cli, run_main


def test_seed_example_two_as_a_subprocess(tmp_path):
    """The seed's Example 2: `convert -if mnist ... -f imagenet --filter ...label="3"...`."""
    write_synthetic_dataset(tmp_path / "mnist", train=30, test=10)
    code, _, err = run_cli(
        "convert", "-if", "mnist", "-i", tmp_path / "mnist", "-f", "imagenet",
        "--filter", '/item[annotation/label="3"]', cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    written = tmp_path / "mnist-imagenet"
    files = sorted(p.relative_to(written).parts[:2] for p in written.rglob("*.png"))
    assert files and {parts[1] for parts in files} == {"3"}
    back = engine.load("imagenet", written)
    assert len(back) == 4 and {item.label for item in back} == {back.categories.index("3")}


def test_adapter_options_reach_the_format(tmp_path):
    write_synthetic_dataset(tmp_path / "mnist", train=6, test=4)
    code, _, err = run_main(
        "convert", "-i", tmp_path / "mnist", "-f", "imagenet_txt", "-o", tmp_path / "out",
        "--", "--image-ext", ".bmp", "--workers", "2",
    )  # fmt: skip
    assert code == 0, err
    assert len(list((tmp_path / "out" / "images").rglob("*.bmp"))) == 10
    original, back = (
        engine.load("mnist", tmp_path / "mnist"),
        engine.load("imagenet_txt", tmp_path / "out"),
    )
    for subset in ("train", "test"):
        np.testing.assert_array_equal(back[subset].images, original[subset].images)


def test_unknown_adapter_option_lists_the_accepted_ones(tmp_path):
    write_synthetic_dataset(tmp_path / "mnist", train=2, test=2)
    code, _, err = run_main(
        "convert", "-i", tmp_path / "mnist", "-f", "imagenet", "-o", tmp_path / "o", "--", "--nope"
    )
    assert code == 2
    assert "unknown exporter option '--nope' for format imagenet" in err
    assert "--resize STR" in err and "--workers INT" in err


def test_resize_and_grayscale_into_mnist(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    items = [
        engine.DatasetItem(id=f"p{i}", image=rgb, annotations=[engine.Label(i % 2)])
        for i in range(3)
    ]
    engine.save(
        engine.Dataset.from_iterable(items, categories=["a", "b"]), "imagenet", tmp_path / "in"
    )
    code, _, err = run_main("convert", "-i", tmp_path / "in", "-f", "mnist", "-o", tmp_path / "x")
    assert code == 2 and "--grayscale" in err and "--resize 28x28" in err
    code, _, err = run_main(
        "convert", "-i", tmp_path / "in", "-f", "mnist", "-o", tmp_path / "x",
        "--", "--grayscale", "--resize", "28x28",
    )  # fmt: skip
    assert code == 0, err
    assert engine.load("mnist", tmp_path / "x")["default"].images.shape == (3, 28, 28)


def test_skip_broken_on_the_input(tmp_path):
    write_synthetic_dataset(tmp_path / "mnist", train=5, test=0)
    engine.save(engine.load("mnist", tmp_path / "mnist"), "imagenet", tmp_path / "in")
    (tmp_path / "in" / "3" / "junk.png").write_bytes(b"not an image")
    code, _, err = run_main("convert", "-i", tmp_path / "in", "-f", "mnist", "-o", tmp_path / "a")
    assert code == 2 and "junk.png" in err and "--skip-broken" in err
    code, _, err = run_main(
        "convert", "-i", tmp_path / "in", "-f", "mnist", "-o", tmp_path / "b", "--skip-broken"
    )
    assert code == 0, err
    assert "skipped 1 of 6 files" in err and len(engine.load("mnist", tmp_path / "b")) == 5
    code, _, err = run_main("info", tmp_path / "mnist", "--skip-broken")
    assert code == 2 and "--skip-broken applies to formats made of image files, not mnist" in err
