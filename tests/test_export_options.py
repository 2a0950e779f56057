"""Exporter options after `--`: common ones, declared ones, ones read from save(), errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_main

import engine
from engine.cli.sample import synthetic_dataset
from engine.registry.export_options import (
    ExportOption,
    UsageError,
    options_of,
    parse_export_options,
)


class _Recorder:
    """A format that records the options it was saved with (writes one file)."""

    description = "records options"

    def __init__(self, name: str, options=None) -> None:
        self.name = name
        if options is not None:
            self.options = options
        self.seen: dict = {}

    def detect(self, path):
        raise engine.errors.NotThisFormat("never")

    def load(self, path, *, subset=None):
        raise NotImplementedError

    def save(
        self,
        dataset,
        directory: Path,
        *,
        grayscale: bool = False,
        resize: str | None = None,
        quality: int = 90,
        **options,
    ) -> None:
        self.seen = {"grayscale": grayscale, "resize": resize, "quality": quality, **options}
        (directory / "saved.txt").write_text(str(len(dataset)))


def test_options_from_the_save_signature():
    fmt = _Recorder("sig_format")
    names = {o.name: o.kind for o in options_of(fmt)}
    assert names == {
        "save_media": bool,
        "image_ext": str,
        "save_dataset_meta": bool,
        "grayscale": bool,
        "resize": str,
        "quality": int,
    }
    parsed = parse_export_options(
        "sig_format", fmt, ["--grayscale", "--resize", "28x28", "--quality=75", "--no-save-media"]
    )
    assert parsed == {"grayscale": True, "resize": "28x28", "quality": 75, "save_media": False}


def test_declared_options_win_and_choices_are_checked():
    fmt = _Recorder("declared", options=[ExportOption("mode", str, "how", choices=("a", "b"))])
    assert [o.name for o in options_of(fmt)][-1] == "mode"
    assert parse_export_options("declared", fmt, ["--mode", "b"]) == {"mode": "b"}
    with pytest.raises(UsageError, match="not one of a, b"):
        parse_export_options("declared", fmt, ["--mode", "c"])
    with pytest.raises(UsageError, match="unknown exporter option '--grayscale'"):
        parse_export_options("declared", fmt, ["--grayscale"])
    with pytest.raises(UsageError, match="takes no value"):
        parse_export_options("declared", fmt, ["--save-media=yes"])


def test_a_format_registered_later_gets_its_options_from_the_cli(tmp_path, monkeypatch):
    from engine.registry import catalog as registry

    engine.formats()  # load the registry first, then add the format for this test only
    fmt = _Recorder("late_format")
    monkeypatch.setitem(registry._FORMATS, fmt.name, fmt)
    source = tmp_path / "src"
    engine.save(synthetic_dataset(train=4, test=2), "mnist", source)
    code, _, err = run_main(
        "convert",
        "-i",
        source,
        "-f",
        "late_format",
        "-o",
        tmp_path / "out",
        "--",
        "--grayscale",
        "--quality",
        "50",
        "--save-dataset-meta",
    )
    assert code == 0, err
    assert fmt.seen["grayscale"] is True and fmt.seen["quality"] == 50
    assert fmt.seen["save_dataset_meta"] is True
    assert (tmp_path / "out" / "saved.txt").read_text() == "6"
    code, _, err = run_main(
        "convert", "-i", source, "-f", "late_format", "-o", tmp_path / "o2", "--", "--mnistify"
    )
    assert code == 2 and "--grayscale / --no-grayscale" in err and "--quality INT" in err


def test_spec_variants_become_a_choice():
    from types import SimpleNamespace

    fmt = _Recorder("variants")
    fmt.spec = SimpleNamespace(
        variant_option="split",
        variants=(SimpleNamespace(name="balanced"), SimpleNamespace(name="digits")),
    )
    assert parse_export_options("variants", fmt, ["--split", "digits"]) == {"split": "digits"}
    with pytest.raises(UsageError, match="not one of balanced, digits"):
        parse_export_options("variants", fmt, ["--split", "letters"])
    assert "split" not in {o.name for o in options_of(engine.get_format("mnist"))}
