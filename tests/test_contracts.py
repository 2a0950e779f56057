"""The written contracts: every format offers the Format protocol with typed options models,
`check` says what a format cannot hold without writing anything, errors and warnings live in
engine.errors and are exported, user specs carry a schema version, and `engine.load` opens a
project folder."""

from __future__ import annotations

import inspect
import json
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import make_dataset
from spec_data import sandbox_registry

import engine
from engine import errors
from engine.model import Subset
from engine.project import Project

__all__ = ["sandbox_registry"]


def test_every_registered_format_offers_the_protocol_with_typed_options():
    for fmt in engine.registry.all_formats():
        assert isinstance(fmt, engine.Format), fmt.name
        assert issubclass(fmt.options, engine.SaveOptions), fmt.name
        assert issubclass(fmt.load_options, engine.Options), fmt.name
        assert fmt.options().compresslevel == 6  # defaults alone are valid options


def test_every_error_and_warning_lives_in_errors_and_is_exported():
    found = [
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
        and not name.startswith("_")
        and name != "NotThisFormat"  # internal: detection swallows it
    ]
    assert len(found) >= 15
    for name in found:
        assert getattr(engine, name) is getattr(errors, name)
        assert name in engine.__all__


def test_check_names_what_a_format_cannot_hold_and_writes_nothing(monkeypatch, tmp_path):
    def no_scratch(*args, **kwargs):
        raise AssertionError("check must not write a temporary folder")

    monkeypatch.setattr(tempfile, "mkdtemp", no_scratch)
    monkeypatch.chdir(tmp_path)
    two_channels = Subset("default", np.zeros(2, np.int32), np.zeros((2, 4, 4, 2), np.uint8))
    odd = engine.Dataset([two_channels], [str(i) for i in range(10)])
    jpeg = engine.get_format("image_dir").options(image_ext=".jpg")
    assert any(
        "jpg" in p.lower() or "channel" in p
        for p in engine.get_format("image_dir").check(odd, jpeg)
    )
    assert engine.get_format("mnist").check(odd)  # 4x4 two-channel images are not MNIST's
    assert engine.get_format("mnist").check(make_dataset()) == []
    bad_class = engine.Dataset(make_dataset().subsets(), ["line\nbreak", *"123456789"])
    assert engine.get_format("imagenet_txt").check(bad_class)
    assert list(tmp_path.iterdir()) == []


def test_options_are_typed_attributes_and_wrong_ones_name_the_accepted():
    parquet = engine.get_format("parquet")
    checked = parquet.options.of("parquet", {"row_group_size": "500", "image_encoding": "raw"})
    assert checked.row_group_size == 500 and checked.image_encoding == "raw"
    with pytest.raises(engine.OptionError, match=r"row_group_size.*it accepts .*image_encoding"):
        parquet.options.of("parquet", {"row_group_size": 0})
    with pytest.raises(engine.ValidationError, match="unknown option 'rows_per_shards'"):
        parquet.options.of("parquet", {"rows_per_shards": 5})
    with pytest.raises(engine.OptionError, match="skip_brokn"):
        engine.load("image_dir", ".", skip_brokn=True)


def test_a_user_spec_for_a_newer_schema_is_refused(tmp_path, sandbox_registry):
    spec = engine.get_format("mnist").spec
    document = json.loads(spec.model_dump_json())
    document.update(name="future_mnist", schema_version=99, new_field_of_schema_99=True)
    (tmp_path / "future.json").write_text(json.dumps(document))
    with pytest.raises(engine.SpecError, match="schema version 99"):
        engine.register_specs(tmp_path / "future.json")
    (tmp_path / "future.py").write_text(
        textwrap.dedent(
            """
            from specs import mnist
            SPEC = mnist.SPEC.model_copy(update={"name": "future_py", "schema_version": 2})
            """
        )
    )
    with pytest.raises(engine.SpecError, match="schema version 2"):
        engine.register_spec(tmp_path / "future.py")
    document.update(name="today_mnist", schema_version=1)
    del document["new_field_of_schema_99"]
    (tmp_path / "today.json").write_text(json.dumps(document))
    assert engine.register_spec(tmp_path / "today.json").spec.schema_version == 1


def test_load_opens_a_project_folder(tmp_path):
    engine.save(make_dataset(), "mnist", tmp_path / "a")
    engine.save(make_dataset((("val", 3),), seed=2), "mnist", tmp_path / "b")
    project = Project.create(tmp_path / "proj")
    project.add_source(tmp_path / "a", "mnist")
    project.add_source(tmp_path / "b", "mnist")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = engine.load(None, tmp_path / "proj")
    assert {name: len(s) for name, s in loaded.subsets().items()} == {
        "train": 7,
        "test": 5,
        "val": 3,
    }
    assert Path(tmp_path / "a").resolve() in [Path(p).resolve() for p in loaded.sources]
    # a source is written only as an asked-for in-place edit, never inside (the one rule)
    with pytest.raises(engine.OutputExistsError, match="is the input"):
        engine.save(loaded, "mnist", tmp_path / "a")
    with pytest.raises(engine.OutputExistsError, match="lies inside the input"):
        engine.save(loaded, "mnist", tmp_path / "a" / "x", overwrite=True)


def test_detect_and_detect_one_give_names_or_evidence(tmp_path):
    engine.save(make_dataset(), "mnist", tmp_path / "m")
    assert engine.detect(tmp_path / "m")[0] == engine.detect_one(tmp_path / "m") == "mnist"
    best = engine.detect_one(tmp_path / "m", evidence=True)
    assert isinstance(best, engine.Detection) and best.format == "mnist" and best.evidence
    assert engine.detect(tmp_path / "m", evidence=True)[0].format == "mnist"
