"""Every registered IDX spec, over small synthetic files made from the spec itself: round trip,
byte-exact re-save, header corruption, truncation, and the dtype and rank it declares."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from spec_data import classes_for, idx_specs, options_for, synthetic_dataset

import engine
from engine.codecs.idx.container import idx_header_bytes
from engine.codecs.idx.label_table import is_table
from specs.idx import TYPE_CODE_OF

SPECS = idx_specs()
IDS = [spec.name for spec in SPECS]


def saved(spec, tmp_path: Path, *, compression: str = ".gz", seed: int = 0) -> Path:
    out = tmp_path / spec.name
    dataset = synthetic_dataset(spec, seed=seed)
    engine.save(dataset, spec.name, out, compression=compression, **options_for(spec))
    return out


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if "idx" in p.name)


def test_every_family_member_is_registered() -> None:
    assert {"mnist", "fashion_mnist", "kmnist", "emnist", "qmnist"} <= set(IDS)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_round_trip_keeps_every_column(spec, tmp_path: Path) -> None:
    original = synthetic_dataset(spec)
    out = tmp_path / "out"
    engine.save(original, spec.name, out, **options_for(spec))
    loaded = engine.load(spec.name, out, **options_for(spec))
    assert loaded.categories == classes_for(spec)
    assert list(loaded.subsets()) == list(original.subsets())
    for name, subset in original.subsets().items():
        back = loaded[name]
        assert back.images.dtype == np.dtype(spec.layout.images.dtype)
        assert back.images.shape[1:] == spec.layout.images.item_shape
        np.testing.assert_array_equal(back.images, subset.images)
        np.testing.assert_array_equal(back.labels, subset.labels)
        assert set(back.attributes) == set(subset.attributes)
        for key, column in subset.attributes.items():
            np.testing.assert_array_equal(back.attributes[key], column)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_resave_is_byte_identical(spec, tmp_path: Path) -> None:
    first = saved(spec, tmp_path)
    again = tmp_path / "again"
    engine.save(
        engine.load(spec.name, first, **options_for(spec)), spec.name, again, **options_for(spec)
    )
    names = [p.name for p in data_files(first)]
    assert names == [p.name for p in data_files(again)]
    for name in names:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_headers_declare_the_spec_dtype_and_rank(spec, tmp_path: Path) -> None:
    folder = saved(spec, tmp_path, compression="")
    for file in data_files(folder):
        tensor = spec.layout.labels if "labels" in file.name else spec.layout.images
        data = file.read_bytes()
        assert data[2] == TYPE_CODE_OF[tensor.dtype]
        assert data[3] == 1 + len(tensor.item_shape)
        items = int.from_bytes(data[4:8], "big")
        stored = tensor.item_shape[::-1] if tensor.transposed else tensor.item_shape
        dims = [int.from_bytes(data[8 + 4 * i : 12 + 4 * i], "big") for i in range(len(stored))]
        assert dims == list(stored)
        itemsize = np.dtype(tensor.dtype).itemsize
        assert len(data) == 4 + 4 * data[3] + items * int(np.prod(stored)) * itemsize


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_each_corrupted_header_byte_is_a_format_error(spec, tmp_path: Path) -> None:
    folder = saved(spec, tmp_path, compression="")
    for file in data_files(folder):
        pristine = file.read_bytes()
        header_size = 4 + 4 * pristine[3]
        for offset in range(header_size):
            corrupt = bytearray(pristine)
            corrupt[offset] ^= 0xFF
            file.write_bytes(bytes(corrupt))
            with pytest.raises(engine.FormatError) as caught:
                engine.load(spec.name, folder, **options_for(spec))
            assert caught.value.path is not None and Path(caught.value.path).name == file.name
            assert caught.value.offset is not None
            if offset < 3:  # the corrupted magic byte itself (0 or 1), or the type code (2)
                assert caught.value.offset == offset
            elif offset == 3:  # a wrong rank, or a header running past the end of the file
                assert caught.value.offset == 3 or caught.value.field == "dims"
        file.write_bytes(pristine)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_truncated_and_padded_files_are_format_errors(spec, tmp_path: Path) -> None:
    folder = saved(spec, tmp_path, compression="")
    for file in data_files(folder):
        pristine = file.read_bytes()
        header_size = 4 + 4 * pristine[3]
        for cut in (1, 6, header_size - 1, len(pristine) - 1):
            file.write_bytes(pristine[:cut])
            with pytest.raises(engine.FormatError) as caught:
                engine.load(spec.name, folder, **options_for(spec))
            assert Path(caught.value.path).name == file.name
        file.write_bytes(pristine + b"\x00" * 3)
        with pytest.raises(engine.FormatError, match="unexpected bytes") as caught:
            engine.load(spec.name, folder, **options_for(spec))
        assert caught.value.offset == len(pristine)
        file.write_bytes(pristine)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_file_of_another_dtype_or_rank_is_refused(spec, tmp_path: Path) -> None:
    folder = saved(spec, tmp_path, compression="")
    labels = next(p for p in data_files(folder) if "labels" in p.name)
    tensor = spec.layout.labels
    count = int.from_bytes(labels.read_bytes()[4:8], "big")
    other = "int16" if tensor.dtype != "int16" else "uint8"
    shape = (count, *tensor.item_shape)
    labels.write_bytes(idx_header_bytes(other, shape) + bytes(np.zeros(shape, other).nbytes))
    with pytest.raises(engine.FormatError) as caught:
        engine.load(spec.name, folder, **options_for(spec))
    assert (caught.value.offset, caught.value.field) == (2, "type_code")
    assert caught.value.expected == TYPE_CODE_OF[tensor.dtype]
    wrong_rank = (count, 2, *tensor.item_shape)
    labels.write_bytes(
        idx_header_bytes(tensor.dtype, wrong_rank)
        + bytes(np.zeros(wrong_rank, tensor.dtype).nbytes)
    )
    with pytest.raises(engine.FormatError) as caught:
        engine.load(spec.name, folder, **options_for(spec))
    assert (caught.value.offset, caught.value.field) == (3, "ndim")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_saved_folder_is_detected_as_its_own_format(spec, tmp_path: Path) -> None:
    folder = saved(spec, tmp_path)
    assert engine.detect(folder)[0] == spec.name
    loaded = engine.load(None, folder)
    assert loaded.categories == classes_for(spec)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gzip_payload_is_the_plain_file(spec, tmp_path: Path) -> None:
    plain = saved(spec, tmp_path / "plain", compression="")
    packed = saved(spec, tmp_path / "packed")
    for file in data_files(plain):
        compressed = next(p for p in data_files(packed) if p.name.startswith(file.name))
        if compressed.suffix == ".gz":
            assert gzip.decompress(compressed.read_bytes()) == file.read_bytes()


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if is_table(s.layout.labels)], ids=lambda s: s.name
)
def test_label_tables_expose_attribute_columns_as_arrays(spec, tmp_path: Path) -> None:
    folder = saved(spec, tmp_path)
    loaded = engine.load(spec.name, folder, **options_for(spec))
    subset = next(iter(loaded.subsets().values()))
    names = [
        c.name for i, c in enumerate(spec.layout.labels.columns) if i != spec.layout.label_column
    ]
    assert list(subset.attributes) == names
    for column in subset.attributes.values():
        assert isinstance(column, np.ndarray) and column.dtype == np.dtype(spec.layout.labels.dtype)
    assert set(subset[0].attributes) == set(names)
