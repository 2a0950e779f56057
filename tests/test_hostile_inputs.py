"""Hostile and damaged inputs found by the fuzz campaign: each is an EngineError naming the file
(and the offset or line), never a foreign exception, a hang or a memory blow-up."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
import engine.io.safepickle
from engine import FormatError


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name) if name == "" else name, data)
    return buffer.getvalue()


def _set_encrypted(data: bytes) -> bytes:
    raw = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = raw.find(signature)
        raw[start + flag_at] |= 0x1
    return bytes(raw)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


ZIPS = {
    "encrypted": lambda: _set_encrypted(_zip({"a.png": _png()})),
    "utf8-flag-not-utf8": lambda: _zip({"caf\u00e9.png": _png()}).replace(
        "caf\u00e9".encode(), b"caf\xff\xfe"
    ),
    "empty-name": lambda: _zip({"": b"xx"}),
    "corrupt-deflate": lambda: _corrupt_deflate(),
}


def _corrupt_deflate() -> bytes:
    data = bytearray(_zip({"a.png": bytes(range(256)) * 64}, zipfile.ZIP_DEFLATED))
    start = data.find(b"a.png") + len(b"a.png")
    data[start : start + 40] = bytes(40)  # the deflate stream's first bytes, zeroed
    return bytes(data)


@pytest.mark.parametrize("kind", sorted(ZIPS))
def test_damaged_zip_members_are_format_errors_naming_the_archive(tmp_path, kind):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(ZIPS[kind]())
    with pytest.raises(FormatError, match=r"bad\.zip"):
        engine.load("image_zip", archive)


def test_zip_bomb_is_stopped_by_the_bytes_inflated_not_the_declared_size(tmp_path):
    data = bytearray(_zip({"a.png": bytes(20 << 20)}, zipfile.ZIP_DEFLATED))
    declared = (368).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = declared  # uncompressed size in the local header
    data[central + 24 : central + 28] = declared  # ... and in the central directory
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"bomb\.zip: byte 0: member 'a\.png'"):
        engine.load("image_zip", archive)  # inflating stops at the declared size: CRC fails


def test_many_members_together_are_bounded(tmp_path, monkeypatch):
    import formats.image_zip

    monkeypatch.setattr(formats.image_zip, "MIN_INFLATION_BOUND", 1 << 20)
    members = {f"{index}.png": bytes(1 << 19) for index in range(4)}
    archive = tmp_path / "many.zip"
    archive.write_bytes(_zip(members, zipfile.ZIP_DEFLATED))
    with pytest.raises(FormatError, match="zip bomb"):
        engine.load("image_zip", archive)


# -- cifar: pickled batches ---------------------------------------------------------------------


def _cifar(tmp_path: Path, batch: object, *, meta: bool = True) -> Path:
    folder = tmp_path / "cifar"
    folder.mkdir(exist_ok=True)
    if meta:
        names = {"label_names": [str(d) for d in range(10)], "num_cases_per_batch": 2}
        (folder / "batches.meta").write_bytes(pickle.dumps(names, protocol=4))
    if batch is not None:
        (folder / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=4))
    return folder


def test_cifar_folder_with_only_the_meta_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="no cifar batch files"):
        engine.load("cifar", _cifar(tmp_path, None))


GOOD_ROWS = np.zeros((2, 3072), np.uint8)
WRONG_FIELDS = {
    "data-int": {"data": 5, "labels": [0, 1]},
    "data-bool": {"data": True, "labels": [0, 1]},
    "data-0d": {"data": np.array(7), "labels": [0, 1]},
    "data-ragged": {"data": [list(range(3072)), [1, 2]], "labels": [0, 1]},
    "data-strings": {"data": ["a" * 3072, "b"], "labels": [0, 1]},
    "labels-int": {"data": GOOD_ROWS, "labels": 3},
    "labels-0d": {"data": GOOD_ROWS, "labels": np.array(1)},
    "labels-dict": {"data": GOOD_ROWS, "labels": {"a": 1}},
    "filenames-int": {"data": GOOD_ROWS, "labels": [0, 1], "filenames": 9},
    "sizes-ragged": {"data": GOOD_ROWS, "labels": [0, 1], "image_sizes": [[1], 5]},
}


@pytest.mark.parametrize("case", sorted(WRONG_FIELDS))
def test_cifar_fields_of_the_wrong_type_are_format_errors(tmp_path, case):
    with pytest.raises(FormatError, match="data_batch_1"):
        engine.load("cifar", _cifar(tmp_path, WRONG_FIELDS[case]))


def test_pickle_bomb_of_memo_references_is_refused(tmp_path):
    row = np.zeros(3072, np.uint8)
    batch = {"data": [row] * 200_000, "labels": [0] * 200_000}
    with pytest.raises(FormatError, match="pickle bomb"):
        engine.load("cifar", _cifar(tmp_path, batch))


def test_pickle_bomb_of_nested_doubling_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.io.safepickle, "MIN_EXPANSION", 1 << 20)  # found sooner
    nested: list = [1]
    for _ in range(40):
        nested = [nested, nested]
    with pytest.raises(FormatError, match="pickle bomb"):
        engine.load("cifar", _cifar(tmp_path, {"data": nested, "labels": [0, 1]}))


# -- imagenet_txt lists --------------------------------------------------------------------------


@pytest.mark.parametrize("synsets", ["", None])
def test_imagenet_txt_label_beyond_the_classes_names_the_line(tmp_path, synsets):
    (tmp_path / "images").mkdir()
    (tmp_path / "train.txt").write_text("train/0.png 1\ntrain/1.png 999999999\n")
    if synsets is not None:
        (tmp_path / "synsets.txt").write_text(synsets)
    with pytest.raises(FormatError, match="is beyond the") as caught:
        engine.load("imagenet_txt", tmp_path)
    assert caught.value.line == (1 if synsets == "" else 2)  # no class declared: 1 is beyond


def test_imagenet_txt_file_name_too_long_names_the_line(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "synsets.txt").write_text("a\n")
    (tmp_path / "train.txt").write_text("x" * 300 + ".png 0\n")
    with pytest.raises(FormatError, match="longer than 255 bytes") as caught:
        engine.load("imagenet_txt", tmp_path)
    assert caught.value.line == 1


# -- side files, JSON, TOML, IDX, specs ----------------------------------------------------------


def test_side_file_code_point_beyond_unicode_is_a_format_error(tmp_path):
    from tests.conftest import make_dataset

    dataset = make_dataset((("test", 5),))
    dataset.subsets()["test"].ids = np.array(["a", "b", "c", "d", "e"], dtype=object)
    engine.save(dataset, "mnist", tmp_path / "out")
    meta = tmp_path / "out" / "test-meta.gz"
    cells = bytearray(gzip.decompress(meta.read_bytes()))
    cells[0:4] = (0x110000).to_bytes(4, "little")
    meta.write_bytes(gzip.compress(bytes(cells)))
    with pytest.raises(FormatError, match="U\\+10FFFF") as caught:
        engine.load("mnist", tmp_path / "out")
    assert caught.value.offset == 0


def test_dataset_meta_json_nested_too_deeply(tmp_path):
    from tests.conftest import make_dataset

    engine.save(make_dataset(), "mnist", tmp_path / "out")
    (tmp_path / "out" / "dataset_meta.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FormatError, match="nested too deeply"):
        engine.load("mnist", tmp_path / "out")


PROJECTS = {
    "source-int": "source = 5\n",
    "source-strings": 'source = ["x"]\n',
    "filter-float": "filter = 1.5\n",
    "filter-mode-int": '[[filter]]\nexpression = "/item"\nmode = 3\n',
    "deep": "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
}


@pytest.mark.parametrize("case", sorted(PROJECTS))
def test_bad_project_toml_is_a_format_error_and_the_cli_prints_no_traceback(tmp_path, case):
    from engine.project import Project
    from tests.cli_helpers import run_cli

    (tmp_path / "project.toml").write_text(PROJECTS[case])
    with pytest.raises(FormatError, match=r"project\.toml"):
        Project.open(tmp_path)
    if case == "deep":
        code, _, err = run_cli("info", str(tmp_path))
        assert code == 2 and "Traceback" not in err and "project.toml" in err


@pytest.mark.parametrize("name", ["{subset-meta.gz", "{0}", "meta.gz", "{subset}/{subset}.csv"])
def test_side_file_templates_are_checked_when_the_spec_is_made(name):
    from pydantic import ValidationError as ModelError

    from specs.schema import SideFile

    with pytest.raises(ModelError, match="side-file name"):
        SideFile(name=name, encoding="csv")


def test_read_idx_of_items_larger_than_any_array(tmp_path):
    path = tmp_path / "big.idx"
    path.write_bytes(bytes.fromhex("00000803 00000000 ffffffff ffffffff"))
    with pytest.raises(FormatError, match="larger than any array") as caught:
        engine.read_idx(path)
    assert caught.value.offset == 8


# -- correctness found by a new user -------------------------------------------------------------


def test_dataset_from_a_mapping_names_subsets_by_its_keys():
    from tests.conftest import make_dataset

    base = make_dataset()
    dataset = engine.Dataset({"train": base["train"], "val": base["test"]}, base.categories)
    assert {name: len(part) for name, part in dataset.subsets().items()} == {"train": 7, "val": 5}
    with pytest.raises(ValueError, match="two subsets are named 'train'"):
        engine.Dataset([base["train"], base["train"]], base.categories)


def test_subset_slices_index_arrays_and_masks_are_subsets_keeping_ids():
    from tests.conftest import make_dataset

    part = make_dataset()["train"]
    assert list(part[0:3].id_column()) == ["0", "1", "2"]
    assert list(part[np.array([1, 2])].id_column()) == ["1", "2"]
    mask = np.zeros(len(part), bool)
    mask[[0, 4]] = True
    picked = part[mask]
    assert isinstance(picked, engine.Subset) and list(picked.id_column()) == ["0", "4"]
    assert np.array_equal(picked.images[1], part.images[4])
    with pytest.raises(IndexError):
        part[np.array([0, 99])]


def test_get_of_an_id_in_two_subsets_requires_the_subset():
    from tests.conftest import make_dataset

    dataset = make_dataset()
    with pytest.raises(ValueError, match="pass subset="):
        dataset.get("1")
    assert dataset.get("1", subset="test").subset == "test"
    assert dataset.get("6").subset == "train"  # only train has a row 6
