"""Users' own specs, with zero engine changes: a spec file in a folder, a JSON spec, the
MNIST_ENGINE_SPEC_PATH variable and an installed plugin's entry point."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from spec_data import sandbox_registry

import engine
from engine.registry import spec_sources

__all__ = ["sandbox_registry"]

TOY_SPEC = '''
"""A toy IDX dataset: int16 32x32 images, labels as two int32 columns (class, score)."""

from specs.schema import Column, DatasetSpec, IdxLayout, Tensor

SPEC = DatasetSpec(
    name="toy_scans",
    description="toy int16 scans",
    layout=IdxLayout(
        images_names=("scans-{prefix}-images-idx3-short",),
        labels_names=("scans-{prefix}-labels-idx2-int",),
        images=Tensor(dtype="int16", item_shape=(32, 32)),
        labels=Tensor(
            dtype="int32", item_shape=(2,), columns=(Column(name="class"), Column(name="score"))
        ),
    ),
    classes=("ok", "faulty", "unknown"),
)
'''


def toy_dataset() -> engine.Dataset:
    rng = np.random.default_rng(3)
    subset = engine.Subset(
        name="train",
        labels=np.array([0, 2, 1, 1], dtype=np.int32),
        images=rng.integers(-32768, 32767, (4, 32, 32), dtype=np.int16),
        attributes={"score": np.array([-5, 0, 7, 2**31 - 1], dtype=np.int32)},
    )
    return engine.Dataset([subset], ["ok", "faulty", "unknown"])


def check_toy_round_trip(tmp_path: Path) -> None:
    dataset = toy_dataset()
    engine.save(dataset, "toy_scans", tmp_path / "out", compression="")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["labels.txt", "scans-train-images-idx3-short", "scans-train-labels-idx2-int"]
    raw = (tmp_path / "out" / "scans-train-labels-idx2-int").read_bytes()
    assert raw[:4] == b"\x00\x00\x0c\x02"  # int32, two dims
    images = (tmp_path / "out" / "scans-train-images-idx3-short").read_bytes()
    assert images[:4] == b"\x00\x00\x0b\x03"  # int16, three dims
    back = engine.load("toy_scans", tmp_path / "out")
    np.testing.assert_array_equal(back["train"].images, dataset["train"].images)
    assert back["train"].images.dtype == np.int16
    np.testing.assert_array_equal(back["train"].labels, dataset["train"].labels)
    np.testing.assert_array_equal(back["train"].attributes["score"], [-5, 0, 7, 2**31 - 1])
    assert engine.api.detect_one(tmp_path / "out") == "toy_scans"


def test_spec_folder_registers_a_brand_new_format(tmp_path: Path, sandbox_registry) -> None:
    folder = tmp_path / "my_specs"
    folder.mkdir()
    (folder / "toy_scans.py").write_text(TOY_SPEC)
    (folder / "_helpers.py").write_text("raise RuntimeError('never imported')\n")
    formats = engine.register_specs(folder)
    assert [f.name for f in formats] == ["toy_scans"]
    check_toy_round_trip(tmp_path)


def test_single_spec_file_and_json_spec(tmp_path: Path, sandbox_registry) -> None:
    (tmp_path / "toy.py").write_text(TOY_SPEC)
    fmt = engine.register_spec(tmp_path / "toy.py")
    as_json = fmt.spec.model_copy(update={"name": "toy_json"}).model_dump_json()
    (tmp_path / "toy_json.json").write_text(as_json)
    assert engine.register_spec(tmp_path / "toy_json.json").name == "toy_json"
    assert {"toy_scans", "toy_json"} <= set(engine.formats())


def test_environment_variable_names_spec_folders(
    tmp_path: Path, sandbox_registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "env_specs"
    folder.mkdir()
    (folder / "toy_scans.py").write_text(TOY_SPEC)
    monkeypatch.setenv(spec_sources.ENV_VAR, f"{tmp_path / 'empty_is_fine'}")
    (tmp_path / "empty_is_fine").mkdir()
    (tmp_path / "x").mkdir()
    assert "toy_scans" not in sandbox_registry.reload_user_specs()
    monkeypatch.setenv(spec_sources.ENV_VAR, os.pathsep.join([str(tmp_path / "x"), str(folder)]))
    assert sandbox_registry.reload_user_specs() == ["toy_scans"]
    check_toy_round_trip(tmp_path)


def test_entry_point_of_an_installed_plugin(
    tmp_path: Path, sandbox_registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "toy_plugin.py").write_text(TOY_SPEC)
    dist = tmp_path / "toy_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{spec_sources.ENTRY_POINT_GROUP}]\ntoy = toy_plugin:SPEC\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_plugin", raising=False)
    assert [s.name for s in spec_sources.entry_point_specs()] == ["toy_scans"]
    assert sandbox_registry.reload_user_specs() == ["toy_scans"]
    check_toy_round_trip(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "defines neither SPEC nor SPECS"),
        ("SPEC = 3\n", "defines neither SPEC nor SPECS"),
        ("import nothing_here\n", "failed to import: ModuleNotFoundError"),
        (
            "from specs.schema import DatasetSpec\nSPEC = DatasetSpec(name='Bad Name')\n",
            "not a valid spec",
        ),
    ],
)
def test_broken_spec_files_name_the_file(text: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(textwrap.dedent(text))
    with pytest.raises(engine.SpecError, match=message) as caught:
        engine.register_specs(tmp_path)
    assert "broken.py" in str(caught.value)


def test_invalid_json_spec_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"name": "x"}')
    with pytest.raises(engine.SpecError, match=r"bad\.json: not a valid spec"):
        engine.register_spec(tmp_path / "bad.json")
    with pytest.raises(engine.SpecError, match="not a folder"):
        spec_sources.load_spec_dir(tmp_path / "missing")


def test_specs_sequence_in_a_module(tmp_path: Path, sandbox_registry) -> None:
    text = TOY_SPEC + "\nSPECS = [SPEC.model_copy(update={'name': 'toy_two'})]\n"
    (tmp_path / "two.py").write_text(text)
    assert [f.name for f in engine.register_specs(tmp_path / "two.py")] == ["toy_scans", "toy_two"]
    with pytest.raises(engine.SpecError, match="use register_specs"):
        engine.register_spec(tmp_path / "two.py")


def test_transposed_non_square_images(tmp_path: Path, sandbox_registry) -> None:
    text = TOY_SPEC.replace("item_shape=(32, 32))", "item_shape=(4, 6), transposed=True)")
    (tmp_path / "wide.py").write_text(text)
    engine.register_spec(tmp_path / "wide.py")
    images = np.arange(2 * 4 * 6, dtype=np.int16).reshape(2, 4, 6)
    subset = engine.Subset(name="train", labels=np.array([0, 1]), images=images)
    dataset = engine.Dataset([subset], ["ok", "faulty", "unknown"])
    with pytest.raises(engine.ValidationError, match="attribute 'score'"):
        engine.save(dataset, "toy_scans", tmp_path / "out")  # the spec gives it no fill value
    subset.attributes["score"] = np.array([3, 4])
    engine.save(dataset, "toy_scans", tmp_path / "out", compression="")
    raw = (tmp_path / "out" / "scans-train-images-idx3-short").read_bytes()
    assert [int.from_bytes(raw[i : i + 4], "big") for i in (4, 8, 12)] == [2, 6, 4]
    stored = np.frombuffer(raw[16:], ">i2").reshape(2, 6, 4)
    np.testing.assert_array_equal(stored, images.swapaxes(1, 2))
    back = engine.load("toy_scans", tmp_path / "out")
    np.testing.assert_array_equal(back["train"].images, images)
