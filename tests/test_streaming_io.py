"""Streaming decompression (bounded, bomb-safe, every codec) and the one-member parallel gzip."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tracemalloc
import zlib

import numpy as np
import pytest

from engine import FormatError
from engine.codecs.idx.container import idx_header_bytes, read_idx, write_idx
from engine.io import fastcodecs
from engine.io.compression import open_writer, read_content, stream_reader
from engine.io.pgzip import ParallelGzipWriter
from specs.schema import Tensor

IMAGES = Tensor(dtype="uint8", item_shape=(28, 28))
COMPRESSORS = {  # fast settings; bz2 level 1 has 100 kB blocks, so a cut falls after the first
    ".gz": lambda data: gzip.compress(data, 1),
    ".xz": lambda data: lzma.compress(data, preset=0),
    ".bz2": lambda data: bz2.compress(data, 1),
}


def digits(count: int, seed: int = 0) -> np.ndarray:
    """MNIST-like images: mostly zero, a blob of ink per image (compresses like the real thing)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    images[:, 6:22, 8:20] = rng.integers(0, 256, (count, 16, 12), dtype=np.uint8)
    images[rng.random(images.shape) < 0.6] = 0
    return images


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_a_bomb_stops_at_the_declared_size(tmp_path, suffix):
    # the header declares one image; the stream holds 32 MiB more zeros
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    path.write_bytes(COMPRESSORS[suffix](idx_header_bytes("uint8", (1, 28, 28)) + bytes(32 << 20)))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="unexpected bytes after the 800 bytes") as caught:
            read_idx(path, IMAGES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.offset == 16 + 784
    assert caught.value.expected == 800
    assert peak < 12 << 20  # a piece or two (plus xz's 8 MiB dictionary), not the 32 MiB


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_a_cut_stream_is_reported_with_its_offset(tmp_path, suffix):
    images = digits(1000)
    packed = COMPRESSORS[suffix](idx_header_bytes("uint8", images.shape) + images.tobytes())
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    with pytest.raises(FormatError, match="truncated") as caught:
        read_idx(path, IMAGES)
    assert 0 < caught.value.offset < 16 + images.nbytes
    assert caught.value.path == str(path)


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_concatenated_members_read_whole(tmp_path, suffix):
    images = digits(50)
    content = idx_header_bytes("uint8", images.shape) + images.tobytes()
    compress = COMPRESSORS[suffix]
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    path.write_bytes(compress(content[:1000]) + compress(content[1000:]))
    np.testing.assert_array_equal(read_idx(path, IMAGES), images)


def test_zero_padding_after_the_last_gzip_member_is_allowed(tmp_path):
    images = digits(5)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(
        gzip.compress(idx_header_bytes("uint8", images.shape) + images.tobytes()) + bytes(512)
    )
    np.testing.assert_array_equal(read_idx(path, IMAGES), images)


def test_garbage_after_the_last_member_is_a_format_error(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header_bytes("uint8", (1, 28, 28)) + bytes(784)) + b"junk")
    with pytest.raises(FormatError, match="not a valid gz file"):
        read_idx(path, IMAGES)


@pytest.mark.parametrize("fast", ["1", "0"])
def test_fast_and_stdlib_backends_read_the_same_bytes(tmp_path, monkeypatch, fast):
    monkeypatch.setenv("MNIST_ENGINE_FAST", fast)
    content = np.frombuffer(digits(3000).tobytes() + bytes(range(256)) * 9, np.uint8)
    path = tmp_path / "blob.gz"
    path.write_bytes(gzip.compress(content.tobytes(), 6))
    np.testing.assert_array_equal(read_content(path, len(content)), content)
    np.testing.assert_array_equal(read_content(path), content)  # size unknown: grows
    with stream_reader(path) as fill:
        buffer = bytearray(7919)  # a prime: pieces never line up with the codec's
        pieces = []
        while count := fill(memoryview(buffer)):
            pieces.append(bytes(buffer[:count]))
    assert b"".join(pieces) == content.tobytes()


def test_read_content_returns_a_short_stream_for_the_caller_to_report(tmp_path):
    path = tmp_path / "short.xz"
    path.write_bytes(lzma.compress(b"abc"))
    assert read_content(path, 10).tobytes() == b"abc"


def test_parallel_gzip_is_one_member_that_zlib_reads_whole(tmp_path):
    data = digits(4000).tobytes()
    for threads in (1, 2, 3):
        path = tmp_path / f"t{threads}.gz"
        with (
            open(path, "wb") as raw,
            ParallelGzipWriter(raw, 6, threads=threads, chunk_size=1 << 16) as out,
        ):
            for start in range(0, len(data), 99_991):  # writes that never align with chunks
                out.write(data[start : start + 99_991])
        packed = path.read_bytes()
        assert zlib.decompress(packed, 31) == data  # one member: zlib stops after the first
        inflater = zlib.decompressobj(31)
        inflater.decompress(packed)
        assert inflater.eof and inflater.unused_data == b""
    assert (tmp_path / "t1.gz").read_bytes() == (tmp_path / "t2.gz").read_bytes()
    assert (tmp_path / "t2.gz").read_bytes() == (tmp_path / "t3.gz").read_bytes()


@pytest.mark.parametrize("module", ["zlib", "fast"])
def test_parallel_gzip_size_is_within_one_percent_of_single_stream(module):
    import io

    deflater = zlib if module == "zlib" else fastcodecs.deflater()
    data = digits(6000, seed=1).tobytes()
    sink = io.BytesIO()
    with ParallelGzipWriter(sink, 6, threads=2, module=deflater) as out:
        out.write(data)
    single = len(gzip.compress(data, 6))
    assert zlib.decompress(sink.getvalue(), 31) == data
    assert len(sink.getvalue()) <= 1.01 * single


@pytest.mark.parametrize("size", [0, 1, 1 << 16, (1 << 16) + 1, 3 << 16])
def test_parallel_gzip_edges(size):
    import io

    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    sink = io.BytesIO()
    with ParallelGzipWriter(sink, 1, threads=2, chunk_size=1 << 16, name="f") as out:
        out.write(data)
    packed = sink.getvalue()
    assert gzip.decompress(packed) == data
    assert packed[3] == 0x08 and packed[10:12] == b"f\0"  # FNAME kept, as GzipFile writes it


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz", ".bz2"])
def test_write_idx_streams_and_round_trips_every_codec(tmp_path, suffix, monkeypatch):
    monkeypatch.setattr("engine.codecs.idx.container.WRITE_CHUNK_BYTES", 784 * 7)
    images = digits(100)
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write_idx(path, images, IMAGES)
    np.testing.assert_array_equal(read_idx(path, IMAGES), images)
    transposed = Tensor(dtype="uint8", item_shape=(28, 28), transposed=True)
    write_idx(path, images, transposed)
    np.testing.assert_array_equal(read_idx(path, transposed), images)


def test_xz_and_bz2_writers_take_big_writes_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.io.compression.WRITE_PIECE", 1000)
    seen = []
    for suffix in (".xz", ".bz2"):
        path = tmp_path / f"blob{suffix}"
        with open_writer(path) as out:
            inner_write = out._inner.write
            out._inner.write = lambda piece, w=inner_write: seen.append(len(piece)) or w(piece)
            out.write(b"a" * 4500)
        assert read_content(path).tobytes() == b"a" * 4500
    assert max(seen) == 1000


def test_a_lying_header_costs_what_the_file_holds_not_what_it_claims(tmp_path):
    # 100 random images (deflate cannot shrink them) under a header claiming 100,000: the claim
    # is within deflate's 1032:1 ratio of the file's size, but the gzip trailer disagrees
    images = np.random.default_rng(0).integers(0, 256, (100, 28, 28), dtype=np.uint8)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header_bytes("uint8", (100_000, 28, 28)) + images.tobytes()))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="payload ends early"):
            read_idx(path, IMAGES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # not the 78 MB the header claims
