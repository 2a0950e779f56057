"""Exporter options after `--`: generated from each format's options model (one declaration),
checked as engine.save checks them; a plugin declares its own model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from cli_helpers import run_main
from pydantic import Field

import engine
from engine.cli.exporter_options import options_of, parse_export_options
from engine.cli.sample import synthetic_dataset
from engine.errors import UsageError


class _RecorderOptions(engine.SaveOptions):
    """A plugin's save options: the common ones plus two of its own."""

    quality: int = Field(90, ge=1, le=100, description="JPEG quality")
    mode: Literal["a", "b"] = Field("a", description="how")


class _Recorder(engine.Adapter[_RecorderOptions, engine.LoadOptions]):
    """A format that records the options it was saved with (writes one file)."""

    description = "records options"
    options = _RecorderOptions

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: _RecorderOptions | None = None

    def detect(self, path):
        raise engine.errors.NotThisFormat("never")

    def write(self, dataset, directory: Path, opts: _RecorderOptions) -> None:
        self.seen = opts
        (directory / "saved.txt").write_text(str(len(dataset)))


def test_options_come_from_the_model_in_order_with_kinds_and_choices():
    fmt = _Recorder("model_format")
    kinds = {o.name: o.kind for o in options_of(fmt)}
    assert list(kinds)[:3] == ["save_media", "image_ext", "save_dataset_meta"]
    assert kinds["quality"] is int and kinds["grayscale"] is bool and kinds["resize"] is str
    assert [o.choices for o in options_of(fmt) if o.name == "mode"] == [("a", "b")]
    parsed = parse_export_options(
        "model_format", fmt, ["--grayscale", "--resize", "28x28", "--quality=75", "--no-save-media"]
    )
    assert parsed == {"grayscale": True, "resize": "28x28", "quality": 75, "save_media": False}


def test_choices_ranges_and_unknown_flags_are_usage_errors():
    fmt = _Recorder("checked")
    assert parse_export_options("checked", fmt, ["--mode", "b"]) == {"mode": "b"}
    with pytest.raises(UsageError, match="not one of a, b"):
        parse_export_options("checked", fmt, ["--mode", "c"])
    with pytest.raises(UsageError, match="unknown exporter option '--colour'"):
        parse_export_options("checked", fmt, ["--colour"])
    with pytest.raises(UsageError, match="takes no value"):
        parse_export_options("checked", fmt, ["--save-media=yes"])
    with pytest.raises(UsageError, match="quality"):
        parse_export_options("checked", fmt, ["--quality", "500"])


def test_a_misspelled_or_ill_typed_save_option_names_the_accepted_ones(tmp_path):
    dataset = synthetic_dataset(train=2, test=1)
    with pytest.raises(engine.ValidationError, match=r"unknown option 'compresion'.*compression"):
        engine.save(dataset, "mnist", tmp_path / "a", compresion=".xz")
    with pytest.raises(engine.OptionError, match="compresslevel"):
        engine.save(dataset, "mnist", tmp_path / "b", compresslevel="high")
    with pytest.raises(engine.OptionError, match="compresslevel"):
        engine.save(dataset, "mnist", tmp_path / "c", compresslevel=12)
    assert not any(tmp_path.iterdir())


def test_a_plugin_format_gets_its_options_on_the_cli(tmp_path, monkeypatch):
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
    assert fmt.seen is not None
    assert fmt.seen.grayscale is True and fmt.seen.quality == 50
    assert fmt.seen.save_dataset_meta is True
    assert (tmp_path / "out" / "saved.txt").read_text() == "6"
    code, _, err = run_main(
        "convert", "-i", source, "-f", "late_format", "-o", tmp_path / "o2", "--", "--colour"
    )
    assert code == 2 and "--grayscale / --no-grayscale" in err and "--quality INT" in err


def test_register_format_refuses_an_object_that_is_not_a_format():
    class Half:
        name = "half"

    with pytest.raises(TypeError, match="Format protocol"):
        engine.register_format(Half())  # type: ignore[arg-type]


def test_spec_variants_become_a_choice():
    emnist = engine.get_format("emnist")
    assert parse_export_options("emnist", emnist, ["--split", "digits"]) == {"split": "digits"}
    with pytest.raises(UsageError, match="not one of byclass, bymerge, balanced"):
        parse_export_options("emnist", emnist, ["--split", "letterz"])
    assert "split" not in {o.name for o in options_of(engine.get_format("mnist"))}


def test_help_after_the_double_dash_lists_the_model(capsys):
    code, out, _ = run_main("convert", "-i", "x", "-f", "parquet", "--", "-h")
    assert code == 0
    assert "--row-group-size INT" in out and "--image-encoding png|raw" in out
