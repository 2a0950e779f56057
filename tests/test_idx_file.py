"""One IDX file: every dtype and rank, every compression, and every way a file can be broken."""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine import FormatError, read_idx, write_idx
from engine.codecs.idx.container import idx_header_bytes
from specs.idx import DTYPE_NAMES
from specs.schema import Tensor

IMAGES = Tensor(dtype="uint8", item_shape=(28, 28))


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file built by hand (not by our writer), as a standard tool would."""
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    disk = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    return bytes([0, 0, type_code, array.ndim]) + dims + array.astype(disk[type_code]).tobytes()


@pytest.fixture
def images_file(tmp_path):
    array = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(array))
    return path, array


@pytest.mark.parametrize("code", sorted(DTYPE_NAMES))
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4), (2, 1, 2, 3)])
def test_reads_every_dtype_and_rank(tmp_path, code, shape):
    dtype = np.dtype(DTYPE_NAMES[code])
    values = (np.arange(np.prod(shape)) - 3).reshape(shape)
    if dtype.kind == "u":
        values = values + 3
    array = values.astype(dtype)
    path = tmp_path / "tensor.idx"
    path.write_bytes(idx_bytes(array, code))
    loaded = read_idx(path)
    assert loaded.dtype == dtype.newbyteorder("=")
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz", ".bz2"])
def test_writes_standard_files_in_every_compression(tmp_path, suffix):
    array = np.random.default_rng(1).integers(-999, 999, (6, 4)).astype(np.int32)
    path = tmp_path / f"labels{suffix}"
    write_idx(path, array, Tensor(dtype="int32", item_shape=(4,)))
    opener = {"": open, ".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}[suffix]
    with opener(path, "rb") as handle:
        assert handle.read() == idx_bytes(array, 0x0C)
    np.testing.assert_array_equal(read_idx(path), array)


def test_uncompressed_files_are_memory_mapped(images_file):
    path, array = images_file
    loaded = read_idx(path, IMAGES)
    np.testing.assert_array_equal(loaded, array)
    assert not loaded.flags.owndata and not loaded.flags.writeable


def test_count_field_is_the_number_of_images(tmp_path):
    images = np.zeros((7, 28, 28), dtype=np.uint8)
    path = tmp_path / "x-images-idx3-ubyte"
    write_idx(path, images, IMAGES)
    assert path.read_bytes()[:16] == bytes.fromhex("00000803 00000007 0000001c 0000001c")


@pytest.mark.parametrize(
    ("offset", "value", "field_words"),
    [
        (0, 0x01, "IDX magic"),
        (1, 0x08, "IDX magic"),
        (2, 0x0A, "IDX type code 0x0a is not one of 0x08 0x09 0x0b 0x0c 0x0d 0x0e"),
        (2, 0x0D, "IDX type code 0x0d (float32) where this format stores 0x08"),
        (3, 0x02, "number of dimensions is 2, expected 3"),
        (11, 0x1D, "dimension 1 is 29, expected 28"),
        (15, 0x1B, "dimension 2 is 27, expected 28"),
    ],
)
def test_corrupt_header_byte_names_the_offset(images_file, offset, value, field_words):
    path, _ = images_file
    data = bytearray(path.read_bytes())
    data[offset] = value
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError) as caught:
        read_idx(path, IMAGES)
    error = caught.value
    assert field_words in str(error)
    assert str(error).startswith(f"t10k-images-idx3-ubyte: byte {_reported(offset)}: ")
    assert error.path == str(path)


def _reported(offset: int) -> int:
    """Dims are reported at the start of the dim's 4 bytes."""
    return offset if offset < 4 else offset - (offset - 4) % 4


def test_every_header_byte_is_checked(images_file):
    """Flipping any bit of the header is either caught or leaves a still-valid header."""
    path, array = images_file
    original = path.read_bytes()
    for offset in range(16):
        for bit in range(8):
            data = bytearray(original)
            data[offset] ^= 1 << bit
            path.write_bytes(bytes(data))
            try:
                loaded = read_idx(path, IMAGES)
            except FormatError as error:
                assert error.offset is not None
            else:  # only a count that still matches the payload could pass
                np.testing.assert_array_equal(loaded, array)
                pytest.fail(f"byte {offset} bit {bit} flipped went unnoticed")


@pytest.mark.parametrize("keep", [0, 1, 2, 3, 4, 7, 8, 15])
def test_truncated_header(images_file, keep):
    path, _ = images_file
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(FormatError, match="file ends inside the header") as caught:
        read_idx(path, IMAGES)
    assert caught.value.offset == keep


def test_truncated_payload(images_file):
    path, _ = images_file
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(FormatError, match="payload ends early") as caught:
        read_idx(path, IMAGES)
    assert caught.value.offset == len(data) - 100
    assert caught.value.expected == 3 * 784 and caught.value.actual == 3 * 784 - 100


def test_trailing_bytes(images_file):
    path, _ = images_file
    path.write_bytes(path.read_bytes() + b"\x00" * 5)
    with pytest.raises(FormatError, match="5 unexpected bytes after the payload") as caught:
        read_idx(path, IMAGES)
    assert caught.value.offset == 16 + 3 * 784


def test_lying_count_is_a_format_error_not_a_memory_error(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header_bytes("uint8", (2**31, 28, 28)) + b"\x00" * 84))
    with pytest.raises(FormatError, match="payload ends early") as caught:
        read_idx(path, IMAGES)
    assert caught.value.expected == 2**31 * 784


def test_count_must_match_companion(images_file):
    path, _ = images_file
    with pytest.raises(FormatError, match="holds 3 items where its companion file holds 4"):
        read_idx(path, IMAGES, count=4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not gzip at all", "not a valid gz file"),
        (gzip.compress(idx_header_bytes("uint8", (1, 28, 28)) + bytes(784))[:-12], "truncated"),
    ],
)
def test_broken_compression_is_a_format_error(tmp_path, content, message):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message) as caught:
        read_idx(path, IMAGES)
    assert "train-images-idx3-ubyte.gz" in str(caught.value)


def test_empty_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"")
    with pytest.raises(FormatError, match="byte 0: file ends inside the header"):
        read_idx(path)


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(["uint8", "int8", "int16", "int32", "float32", "float64"]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    suffix=st.sampled_from(["", ".gz"]),
)
def test_any_array_round_trips(tmp_path_factory, array, suffix):
    path = tmp_path_factory.mktemp("idx") / f"tensor{suffix}"
    tensor = Tensor(dtype=array.dtype.name, item_shape=array.shape[1:])
    write_idx(path, array, tensor)
    loaded = read_idx(path, tensor)
    np.testing.assert_array_equal(loaded, array)
    assert loaded.shape == array.shape


def test_multi_member_gzip_and_zero_padding(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    content = idx_bytes(array)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(content[:100]) + gzip.compress(content[100:]) + bytes(8))
    np.testing.assert_array_equal(read_idx(path, IMAGES), array)


def test_lying_count_in_a_plain_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_header_bytes("uint8", (2**31, 28, 28)) + b"\x00" * 84)
    with pytest.raises(FormatError, match="payload ends early") as caught:
        read_idx(path, IMAGES)
    assert caught.value.offset == 100
