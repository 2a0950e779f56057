"""Work and memory stay bounded by what a file really holds, never by what it claims (issue 19).

Memory checks run in a child process under ``RLIMIT_AS`` (a claim believed is a MemoryError
there) and compare the peak resident set (VmHWM) with the one before the load (VmRSS); work is
counted in bytes inflated; nothing here is timed.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import FormatError
from engine.model import Subset

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def run_limited(code: str, *, limit_mb: int = 1024, timeout: float = 300) -> str:
    """Runs `code` in a child Python whose address space is capped at `limit_mb`; returns its
    stdout and fails the test with its stderr when it does not exit 0."""
    prelude = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit_mb * MiB}, {limit_mb * MiB}))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


# -- 1. IDX headers that claim more than an xz/bz2 stream holds ----------------------------------

COMPRESS = {".gz": gzip.compress, ".xz": lzma.compress, ".bz2": bz2.compress}


@pytest.mark.parametrize("suffix", [".xz", ".bz2", ".gz"])
def test_idx_claiming_2_31_items_is_refused_without_allocating_the_claim(tmp_path, suffix):
    """A 48-byte labels file claiming 2^31 items used to allocate 2 GiB (MemoryError under a
    1 GiB limit) before inflating a byte; now it is a FormatError naming what it holds."""
    folder = tmp_path / "mnist"
    engine.save(_tiny(), "mnist", folder, compression=suffix)
    labels = folder / f"t10k-labels-idx1-ubyte{suffix}"
    labels.write_bytes(COMPRESS[suffix](struct.pack(">HBBI", 0, 8, 1, 2**31) + bytes(16)))
    assert labels.stat().st_size < 100
    out = run_limited(
        f"""
        import engine
        try:
            engine.load("mnist", {str(folder)!r})
        except engine.FormatError as error:
            print("FormatError", error.offset, error)
        """,
        limit_mb=1024,
    )
    assert out.startswith("FormatError 24 "), out
    assert labels.name in out and "2147483648" in out and "holds 16" in out


def _tiny(count: int = 5) -> engine.Dataset:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.int32)
    subset = Subset(name="test", labels=labels, images=images)
    return engine.Dataset([subset], [str(d) for d in range(10)])


# -- 2. zip bombs: decided from declared sizes, enforced while inflating ------------------------


def _zeros_deflated(size: int) -> tuple[bytes, int]:
    """Raw deflate of `size` zero bytes and their CRC, made 1 MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MiB)
    pieces, crc = [], 0
    for _ in range(size // MiB):
        pieces.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    pieces.append(compressor.flush())
    return b"".join(pieces), crc


def _zip_of_zeros(path: Path, members: int, size: int, declared: int | None = None) -> None:
    """A zip whose members each inflate to `size` zeros (one deflate stream, reused), each
    declaring `declared` bytes (the truth by default)."""
    data, crc = _zeros_deflated(size)
    declared = size if declared is None else declared
    local, central, offset = [], [], 0
    for index in range(members):
        name = f"{index}.png".encode()
        fields = (crc, len(data), declared, len(name))
        head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, *fields, 0) + name
        entry = struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, *fields, 0, 0, 0, 0, 0, offset
        )
        central.append(entry + name)
        local.append(head + data)
        offset += len(head) + len(data)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, len(directory), offset, 0)
    path.write_bytes(b"".join(local) + directory + end)


MEASURE_LOAD = """
import engine
import {preload}  # what the load would import: its import is not the load's memory

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field))

before = status("VmRSS:")
try:
    engine.load({fmt!r}, {path!r})
    print("loaded")
except engine.FormatError as error:
    print("FormatError", error)
print("grown_kb", status("VmHWM:") - before)  # peak resident set over the one before the load
"""


def _grown_mb(out: str) -> float:
    return int(out.rsplit("grown_kb ", 1)[1]) / 1024


@pytest.mark.parametrize(
    ("members", "size", "declared", "reason"),
    [
        (40, 128 * MiB, None, "declares 134217728 bytes, more than the"),  # honest, too big
        (40, 8 * MiB, None, "declare .* bytes, more than the .* may inflate to"),  # many
        (40, 128 * MiB, 1000, "member '0.png' is damaged"),  # lies: stops at 1000 bytes
    ],
)
def test_zip_bombs_are_refused_in_bounded_memory(tmp_path, members, size, declared, reason):
    """40 members of 128 MiB of zeros grew RSS by about 1 GB before refusal; now the declared
    sizes refuse them before inflating, and a member lying about its size stops at its claim."""
    archive = tmp_path / "bomb.zip"
    _zip_of_zeros(archive, members, size, declared)
    out = run_limited(
        MEASURE_LOAD.format(fmt="image_zip", path=str(archive), preload="zipfile"), limit_mb=1024
    )
    assert out.startswith("FormatError") and "bomb.zip" in out, out
    assert re.search(reason, out), out
    assert _grown_mb(out) < 50, out


# -- 3. an honest .npz bomb is inflated once ----------------------------------------------------


def _npz_of_zeros(path: Path, count: int) -> None:
    """A k49-style images archive whose ``arr_0.npy`` truthfully declares `count` zero images,
    written in pieces (the archive is about 1/1000 of the data)."""
    header = io.BytesIO()
    fields = {"descr": "|u1", "fortran_order": False, "shape": (count, 28, 28)}
    np.lib.format.write_array_header_1_0(header, fields)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("arr_0.npy", "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        block = bytes(784 * 1000)
        for _ in range(count // 1000):
            member.write(block)


def test_an_honest_npz_bomb_is_inflated_once(tmp_path):
    """200,000 images (157 MB) in a 150 KB archive: the old read joined zipfile's pieces into a
    second copy (RSS grew by 333 MB); now the member inflates straight into the array (~1x)."""
    count = 200_000
    _npz_of_zeros(tmp_path / "k49-test-imgs.npz", count)
    np.savez_compressed(tmp_path / "k49-test-labels.npz", arr_0=np.zeros(count, np.uint8))
    assert (tmp_path / "k49-test-imgs.npz").stat().st_size < MiB
    out = run_limited(
        MEASURE_LOAD.format(fmt="k49", path=str(tmp_path), preload="zipfile"), limit_mb=1024
    )
    assert out.startswith("loaded"), out
    data_mb = count * 784 / MiB
    assert data_mb < _grown_mb(out) < 1.4 * data_mb, out


# -- 4. Parquet: a cell's size is bounded from the footer, before a page is read -----------------


def _parquet_with_value(folder: Path, value_mb: int, rows: int = 1) -> Path:
    """A parquet dataset of `rows` images whose first image cell is `value_mb` MiB of zeros
    (zstd keeps the file tiny)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    engine.save(_tiny(rows), "parquet", folder)
    (file,) = folder.glob("*.parquet")
    table = pq.read_table(file)
    images = table.column("image").combine_chunks()
    blobs = images.field("bytes").to_pylist()
    blobs[0] = bytes(value_mb * MiB)
    column = pa.StructArray.from_arrays(
        [pa.array(blobs, pa.binary()), images.field("path")], fields=list(images.type)
    )
    table = table.set_column(table.schema.get_field_index("image"), "image", column)
    pq.write_table(table, file, compression="zstd")
    return file


@pytest.mark.parametrize("rows", [1, 50])
def test_a_parquet_cell_larger_than_an_image_is_refused_from_the_footer(tmp_path, rows):
    """One 64 MiB value in a file of a few KB: refused naming the file, row group and column,
    with memory bounded (the old read of a 600 MB value peaked at 2.6 GB)."""
    file = _parquet_with_value(tmp_path / "pq", 64, rows)
    assert file.stat().st_size < 64 * 1024
    out = run_limited(
        MEASURE_LOAD.format(fmt="parquet", path=str(tmp_path / "pq"), preload="pyarrow.parquet")
    )
    assert out.startswith("FormatError"), out
    assert file.name in out and "row group 0, column 'image.bytes'" in out, out
    assert _grown_mb(out) < 50, out


# -- 5. verify and detection hash no more than an IDX header declares ---------------------------


def _idx_gz_with_zeros(path: Path, header: bytes, zeros: int) -> None:
    """An IDX .gz: `header`, then `zeros` zero bytes (written 1 MiB at a time)."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(header)
        block = bytes(MiB)
        for _ in range(zeros // MiB):
            out.write(block)


@pytest.fixture
def inflated_bytes(monkeypatch):
    """Counts the uncompressed bytes the checksum code reads."""
    import engine.io.checksums as checksums

    seen = [0]
    original = checksums.stream_reader

    @contextlib.contextmanager
    def counting(path):
        with original(path) as fill:

            def counted(view):
                count = fill(view)
                seen[0] += count
                return count

            yield counted

    monkeypatch.setattr(checksums, "stream_reader", counting)
    return seen


def test_verify_stops_hashing_where_the_idx_header_ends(tmp_path, inflated_bytes):
    """A 10,000-image header followed by far more bytes (4 GiB of zeros in the report; 64 MiB
    here): load refused it at once, verify hashed it all; now verify stops past the header's
    size and says why the content differs."""
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    _idx_gz_with_zeros(path, struct.pack(">HBBIII", 0, 8, 3, 10_000, 28, 28), 64 * MiB)
    (check,) = engine.verify(path)
    assert check.status == "differs"
    assert "more than the 7840016 bytes its header declares" in check.detail
    assert inflated_bytes[0] <= 7_840_016 + 2 * MiB


def test_verify_of_a_gz_that_is_not_idx_does_not_inflate_it(tmp_path, inflated_bytes):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    _idx_gz_with_zeros(path, b"not an IDX header", 16 * MiB)
    (check,) = engine.verify(path)
    assert check.status == "differs" and "not an IDX file" in check.detail
    assert inflated_bytes[0] == 0


def test_detection_hashes_a_small_labels_file_no_further_than_its_header(tmp_path, inflated_bytes):
    """Detection hashes label files of a few MB on disk; one such file may inflate 1000x."""
    engine.save(_tiny(), "mnist", tmp_path / "m")
    labels = tmp_path / "m" / "t10k-labels-idx1-ubyte.gz"
    _idx_gz_with_zeros(labels, struct.pack(">HBBI", 0, 8, 1, 5), 64 * MiB)
    engine.detect(tmp_path / "m")
    assert inflated_bytes[0] <= 2 * MiB


@pytest.mark.parametrize("blank", [b"\n", b" " * 1000 + b"\r\n"], ids=["newlines", "spaces"])
def test_a_csv_blank_line_bomb_stops_after_a_bounded_read(tmp_path, monkeypatch, blank):
    """One row, then blank lines (4 GiB in the report, 64 MiB here): read to the end before;
    now the blank bytes count against the value bytes and reading stops within a few MiB."""
    import engine.codecs.csv.scan as scan

    path = tmp_path / "mnist_test.csv.gz"
    row = ("7," + ",".join(["0"] * 784) + "\n").encode()
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(row)
        block = blank * (MiB // len(blank))
        for _ in range(64):
            out.write(block)
    seen = [0]
    original = scan.stream_reader

    @contextlib.contextmanager
    def counting(file):
        with original(file) as fill:

            def counted(view):
                seen[0] += (count := fill(view))
                return count

            yield counted

    monkeypatch.setattr(scan, "stream_reader", counting)
    with pytest.raises(FormatError, match=r"mnist_test\.csv\.gz: line \d+.*blank-line bomb"):
        engine.load("mnist_csv", tmp_path)
    assert seen[0] <= 4 * MiB


# -- 6. cache=True wins over the per-run spill at every size ------------------------------------


def test_cache_true_caches_files_large_enough_to_spill(tmp_path, monkeypatch):
    """Images over the spill size went to a deleted per-run spill, so the cache folder held only
    the labels and every load decompressed again; now they are cached and the next load maps
    the cache file."""
    from engine.model import filearray
    from engine.model.filearray import file_origin

    monkeypatch.setattr(filearray, "SPILL_BYTES", 1000)  # the 5 images here count as large
    engine.save(_tiny(), "mnist", tmp_path / "m")
    cache = tmp_path / "cache"
    first = engine.load("mnist", tmp_path / "m", cache=True, cache_dir=cache)
    assert len(list(cache.glob("*.bin"))) == 2  # images and labels
    second = engine.load("mnist", tmp_path / "m", cache=True, cache_dir=cache)
    origin = file_origin(second["test"].images)
    assert origin is not None and Path(origin.path).parent == cache
    np.testing.assert_array_equal(first["test"].images, _tiny()["test"].images)
    spilled = engine.load("mnist", tmp_path / "m")  # without the cache: the per-run spill
    spill_origin = file_origin(spilled["test"].images)
    assert spill_origin is None or Path(spill_origin.path).parent != cache


# -- 7. a named executor runs the CSV formatting, or a warning says why a step stays local ------


class CountingExecutor:
    """An executor that runs chunks inline and counts the calls of each function."""

    workers = 2

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def map(self, function, chunks, *, sizes=None, progress=None):
        name = function.__name__
        self.calls[name] = self.calls.get(name, 0) + len(chunks)
        return [function(*chunk) for chunk in chunks]

    def check_paths(self, paths, what="input") -> None:
        return None

    def close(self) -> None:
        return None


def test_csv_rows_are_formatted_on_the_named_executor(tmp_path):
    """`executor=` was ignored by mnist_csv: no chunk reached it. Now the rows are formatted
    there (same bytes as a local save) and the gzip step that stays local says so, once."""
    dataset = _tiny(5000)  # 3 chunks of 2048 rows
    engine.save(dataset, "mnist_csv", tmp_path / "local", compression=".gz")
    counting = CountingExecutor()
    with pytest.warns(engine.LocalStepWarning, match="gz compression") as caught:
        engine.save(dataset, "mnist_csv", tmp_path / "exec", compression=".gz", executor=counting)
    assert counting.calls == {"_format_rows": 3}
    assert len([w for w in caught if w.category is engine.LocalStepWarning]) == 1
    for file in (tmp_path / "local").glob("*.gz"):
        local = gzip.decompress(file.read_bytes())
        assert gzip.decompress((tmp_path / "exec" / file.name).read_bytes()) == local


@pytest.fixture
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def test_csv_formatting_reaches_a_dask_cluster_from_save_and_the_cli(
    tmp_path, dask_client, monkeypatch
):
    from distributed import get_task_stream

    from engine.compute.executors import SCHEDULER_ENV
    from tests.cli_helpers import run_main

    dataset = _tiny(3000)
    engine.save(dataset, "mnist", tmp_path / "in")
    with get_task_stream(dask_client) as stream:
        engine.save(dataset, "mnist_csv", tmp_path / "api", executor=dask_client)
    assert sum(str(task["key"]).startswith("_format_rows") for task in stream.data) == 2
    monkeypatch.setenv(SCHEDULER_ENV, dask_client.scheduler.address)
    with get_task_stream(dask_client) as stream:
        code, _, err = run_main("convert", "-i", str(tmp_path / "in"), "-f", "mnist_csv",
                                "-o", str(tmp_path / "cli"))  # fmt: skip
    assert code == 0, err
    assert sum(str(task["key"]).startswith("_format_rows") for task in stream.data) == 2
    assert (tmp_path / "cli" / "mnist_test.csv").read_bytes() == (
        tmp_path / "api" / "mnist_test.csv"
    ).read_bytes()


# -- 8. a scheduler that cannot be reached: one line, exit 2 ------------------------------------


@pytest.fixture
def garbage_server():
    """A TCP server that answers every connection with bytes that are not Dask's protocol (as a
    proxy in the way does), then holds it open."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            with contextlib.suppress(OSError):
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for connection in held:
            connection.close()


@pytest.mark.parametrize("address", ["127.0.0.1:1", "127.0.0.1", "garbage://x", "server"])
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, garbage_server, address):
    pytest.importorskip("distributed")
    address = garbage_server if address == "server" else address
    env = {**os.environ, "MNIST_ENGINE_SCHEDULER": address, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "convert", "-i", str(ROOT / "samples" / "mnist"),
         "-f", "mnist_csv", "-o", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "scheduler" in done.stderr
    assert not (tmp_path / "out").exists()


# -- 9. pool workers die with their parent from their first instruction ------------------------

STALLED_POOL = """
import multiprocessing.util, os, threading, time, zlib
from engine.compute.pool import run_chunks

def burn():  # threads busy while the pool forks: the load the orphans were seen under
    data = os.urandom(1 << 18)
    while True:
        zlib.compress(data, 9)

for _ in range(3):
    threading.Thread(target=burn, daemon=True).start()

class Stall:
    pass

def stall(_):  # runs in each worker after fork, before the pool's initializer: a worker stuck
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: lines never mix
    time.sleep(120)

holder = Stall()
multiprocessing.util.register_after_fork(holder, stall)
run_chunks(len, [("a",), ("b",)], workers=2, sizes=[1, 1])
"""


def _pids_from(stream, count: int, parent: subprocess.Popen) -> list[int]:
    """Reads lines until `count` process ids were printed (whatever the lines look like)."""
    found: list[int] = []
    text = ""
    while len(found) < count:
        line = stream.readline()
        if not line:
            parent.kill()
            raise AssertionError(f"the pool parent ended after {text!r}: {parent.stderr.read()}")
        text += line
        found = [int(pid) for pid in re.findall(r"\d+", text)]
    return found[:count]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
@pytest.mark.parametrize("run", range(3))
def test_a_worker_stuck_before_its_initializer_dies_with_its_killed_parent(tmp_path, run):
    """The parent-death watch was set by the pool's initializer; a worker stuck before it (seen
    under load: parent pid 1, asleep for 18 minutes) outlived a parent killed with -9. Now it is
    set right after fork, so the stuck workers die too."""
    script = tmp_path / "pool_parent.py"
    script.write_text(STALLED_POOL)
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers = _pids_from(parent.stdout, 2, parent)
    finally:
        parent.kill()
        parent.wait()
    stopped = [pid for pid in workers if not _wait_gone(pid)]
    for pid in stopped:  # leave nothing behind, even when the test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not stopped, f"workers {stopped} outlived their parent"


def _wait_gone(pid: int) -> bool:
    for _ in range(300):  # a poll, not a timing: the kernel's signal is near instant
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_an_npz_array_larger_than_the_process_may_hold_is_an_engine_error(tmp_path):
    """Under a 200 MB address-space limit the 157 MB array cannot be held: an error naming the
    file (never a MemoryError, nor 'not a readable archive')."""
    _npz_of_zeros(tmp_path / "k49-test-imgs.npz", 200_000)
    np.savez_compressed(tmp_path / "k49-test-labels.npz", arr_0=np.zeros(200_000, np.uint8))
    out = run_limited(
        f"""
        import engine
        try:
            engine.load("k49", {str(tmp_path)!r})
            print("loaded")
        except engine.FormatError as error:
            print("FormatError", error)
        except engine.EngineError as error:
            print("EngineError", error)
        """,
        limit_mb=200,
    )
    assert out.startswith("EngineError") and "k49-test-imgs.npz" in out, out


def test_a_compressed_input_read_with_an_executor_named_says_it_is_read_here(tmp_path):
    engine.save(_tiny(), "mnist", tmp_path / "m")  # .gz files
    with pytest.warns(engine.LocalStepWarning, match="decompressing compressed inputs"):
        engine.load("mnist", tmp_path / "m", executor=CountingExecutor())
