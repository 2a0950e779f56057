"""Any size, every core: time, ratio to its floor and peak anonymous memory at 1M images.

Builds a 1,000,000-image MNIST folder (the real test set tiled 100x when ../shared/data/mnist is
here, else synthetic digits; `--infimnist` makes 8.1M where the disk allows) in a scratch folder
(`--scratch`, default /tmp/mnist-engine-scale), then runs every row in a child process while the
parent samples the child's RssAnon from /proc/PID/status (VmHWM would count the page cache of
memory-mapped files). Each row prints: time (median of --runs), its floor's time, the ratio
time/floor (below 1: faster than the floor) and the child's peak RssAnon, with the RssAnon the
child had before the operation (interpreter + imports + inputs it was handed).

    python3 benchmarks/bench_scale.py [--items 1000000] [--runs 3] [--only load_gz,save_gz]
    python3 benchmarks/bench_scale.py --dask   # adds the rows of DASK_ROWS (1 and 2 workers)

Rows are plain functions `row_<name>(ctx) -> Row`, listed in ROWS; another row is one function
and one entry. Floors: the standard library or numpy doing the same job in the plainest way.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, ROOT, median_time

HERE = Path(__file__).resolve().parent
CSV_ROWS = 100_000  # CSV text is ~2.3x the pixels: 100k rows keep the file near 180 MB


@dataclass
class Row:
    """One line of the table (times in seconds, memory in MiB)."""

    name: str
    seconds: float
    floor_name: str
    floor_seconds: float
    peak_mib: float = 0.0
    before_mib: float = 0.0
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds if self.floor_seconds else float("nan")


@dataclass
class Context:
    """What a row needs: the scratch folder with the built inputs, the sizes and the runs."""

    scratch: Path
    items: int
    runs: int
    export_items: int

    @property
    def gz(self) -> Path:
        return self.scratch / "mnist-gz"

    @property
    def raw(self) -> Path:
        return self.scratch / "mnist-raw"

    @property
    def csv(self) -> Path:
        return self.scratch / "mnist-csv"

    def out(self, name: str) -> Path:
        folder = self.scratch / "out" / name
        shutil.rmtree(folder, ignore_errors=True)
        return folder


# -- measuring helpers
def timed(action: Callable[[], object], runs: int) -> float:
    return median_time(action, runs)


def rss_anon_mib(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakRss:
    """Samples a process's RssAnon every 5 ms on a thread while the block runs (`.peak` MiB)."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid = pid
        self.peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_anon_mib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def measured(action: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(median seconds, peak RssAnon MiB during the runs, RssAnon MiB before) of an in-process
    action."""
    before = rss_anon_mib()
    with PeakRss() as sampler:
        seconds = timed(action, runs)
    return seconds, sampler.peak, before


def measured_command(command: list[str], runs: int) -> tuple[float, float]:
    """(median seconds, peak RssAnon MiB) of a command run `runs` times."""
    times, peak = [], 0.0
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        with PeakRss(child.pid) as sampler:
            child.wait()
        if child.returncode:
            raise SystemExit(f"bench_scale: {' '.join(command)} failed ({child.returncode})")
        times.append(time.perf_counter() - start)
        peak = max(peak, sampler.peak)
    return statistics.median(times), peak


def in_child(row: str, ctx: Context) -> Row:
    """Runs `row_<row>` in a fresh interpreter (its own memory, nothing cached in-process)."""
    command = [sys.executable, str(Path(__file__)), "--child", row, "--scratch", str(ctx.scratch)]
    command += ["--items", str(ctx.items), "--runs", str(ctx.runs)]
    command += ["--export-items", str(ctx.export_items)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_scale: row {row} failed (exit {done.returncode})")
    return Row(**json.loads(done.stdout.strip().splitlines()[-1]))


def warm_up() -> None:
    """Imports the engine and its registry, so rows time the work, not the first import."""
    import engine

    engine.get_format("mnist")


# -- building the inputs
def base_images() -> tuple[np.ndarray, np.ndarray, str]:
    """10,000 real test images and labels, else 10,000 synthetic digits."""
    images_file = MNIST_DATA / "t10k-images-idx3-ubyte.gz"
    labels_file = MNIST_DATA / "t10k-labels-idx1-ubyte.gz"
    if images_file.exists() and labels_file.exists():
        images = np.frombuffer(gzip.decompress(images_file.read_bytes()), np.uint8, offset=16)
        labels = np.frombuffer(gzip.decompress(labels_file.read_bytes()), np.uint8, offset=8)
        return images.reshape(-1, 28, 28), labels, "the real MNIST test set"
    from engine.ops.synthetic import synthesize_digits

    images, labels = synthesize_digits(10000, seed=0)
    return images, labels, "synthetic digits"


def build(ctx: Context) -> str:
    """Writes the .gz, raw and CSV folders of `ctx.items` images once (kept between runs)."""
    import engine
    from engine.model import Dataset, Subset

    stamp = ctx.scratch / f"built-{ctx.items}"
    images, labels, source = base_images()
    if stamp.exists():
        return source
    shutil.rmtree(ctx.scratch, ignore_errors=True)
    ctx.scratch.mkdir(parents=True)
    reps = -(-ctx.items // len(images))
    tiled = np.tile(images, (reps, 1, 1))[: ctx.items]
    tiled_labels = np.tile(labels, reps)[: ctx.items].astype(np.int32)
    dataset = Dataset(
        [Subset("test", labels=tiled_labels, images=tiled)], [str(d) for d in range(10)]
    )
    engine.save(dataset, "mnist", ctx.gz)
    engine.save(dataset, "mnist", ctx.raw, compression="")
    csv_rows = min(ctx.items, CSV_ROWS)
    part = Dataset(
        [Subset("test", labels=tiled_labels[:csv_rows], images=tiled[:csv_rows])],
        [str(d) for d in range(10)],
    )
    engine.save(part, "mnist_csv", ctx.csv)
    stamp.write_text(source)
    return source


# -- the rows (each runs in its own child process)
def _gz_images(ctx: Context) -> Path:
    return ctx.gz / "t10k-images-idx3-ubyte.gz"


def _gzip_floor(path: Path) -> None:
    with gzip.open(path) as handle:
        handle.seek(0, 2)
        size = handle.tell()
    out = np.empty(size, np.uint8)
    with gzip.open(path) as handle:
        handle.readinto(out)


def _load_gz(ctx: Context, fast: bool) -> Row:
    from engine.codecs.idx.container import read_idx
    from engine.io import fastcodecs

    os.environ["MNIST_ENGINE_FAST"] = "1" if fast else "0"
    path = _gz_images(ctx)
    read_idx(ctx.gz / "t10k-labels-idx1-ubyte.gz")  # warm: imports, the backend
    ours, peak, before = measured(lambda: read_idx(path), ctx.runs)
    floor = timed(lambda: _gzip_floor(path), ctx.runs)
    backend = fastcodecs.backend_name(fastcodecs.inflater())
    payload = ctx.items * 784 / 2**20
    return Row(
        f"load .gz images ({backend})",
        ours,
        "gzip.open().readinto(prealloc)",
        floor,
        peak,
        before,
        f"payload {payload:.0f} MiB",
    )


def row_load_gz(ctx: Context) -> Row:
    return _load_gz(ctx, fast=False)


def row_load_gz_fast(ctx: Context) -> Row:
    return _load_gz(ctx, fast=True)


def row_load_gz_cached(ctx: Context) -> Row:
    import engine

    cache = ctx.scratch / "cache"
    engine.load("mnist", ctx.gz, cache=True, cache_dir=cache)  # builds the entries once
    ours, peak, before = measured(
        lambda: int(
            engine.load("mnist", ctx.gz, cache=True, cache_dir=cache)["test"].images.sum(
                dtype=np.uint64
            )
        ),
        ctx.runs,
    )
    path = max(cache.glob("*.bin"), key=lambda entry: entry.stat().st_size)  # the images
    floor = timed(lambda: int(np.memmap(path, np.uint8, "r").sum(dtype=np.uint64)), ctx.runs)
    return Row(
        "load .gz through the cache + sum pixels",
        ours,
        "np.memmap + sum",
        floor,
        peak,
        before,
        "memory-mapped: the pixels are page cache, not RssAnon",
    )


def row_cache_second_vs_first(ctx: Context) -> Row:
    """The second ``cache=True`` load maps what the first one built, at every size (issue 19:
    images over the spill size used to skip the cache)."""
    import engine

    cache = ctx.scratch / "cache-first"

    def first() -> int:
        shutil.rmtree(cache, ignore_errors=True)
        loaded = engine.load("mnist", ctx.gz, cache=True, cache_dir=cache)
        return int(loaded["test"].images.sum(dtype=np.uint64))

    def second() -> int:
        loaded = engine.load("mnist", ctx.gz, cache=True, cache_dir=cache)
        return int(loaded["test"].images.sum(dtype=np.uint64))

    floor = timed(first, ctx.runs)
    ours, peak, before = measured(second, ctx.runs)
    cached = sum(entry.stat().st_size for entry in cache.glob("*.bin")) >> 20
    return Row(
        "second cache=True load + sum pixels",
        ours,
        "first cache=True load (builds it)",
        floor,
        peak,
        before,
        f"cache holds {cached} MiB",
    )


def row_load_raw(ctx: Context) -> Row:
    import engine

    warm_up()
    path = ctx.raw / "t10k-images-idx3-ubyte"
    ours, peak, before = measured(
        lambda: int(engine.load("mnist", ctx.raw)["test"].images.sum(dtype=np.uint64)), ctx.runs
    )
    floor = timed(lambda: int(np.memmap(path, np.uint8, "r", 16).sum(dtype=np.uint64)), ctx.runs)
    return Row("load raw + sum pixels", ours, "np.memmap + sum", floor, peak, before)


def _save_gz(ctx: Context, threads: int, fast: bool) -> Row:
    from engine.codecs.idx.container import read_idx, write_idx
    from engine.io import fastcodecs
    from specs.schema import Tensor

    os.environ["MNIST_ENGINE_FAST"] = "1" if fast else "0"
    images = np.ascontiguousarray(read_idx(ctx.raw / "t10k-images-idx3-ubyte"))
    tensor = Tensor(dtype="uint8", item_shape=(28, 28))
    out = ctx.out("save")
    out.mkdir(parents=True)
    target = out / "a-images-idx3-ubyte.gz"
    ours, peak, before = measured(
        lambda: write_idx(target, images, tensor, threads=threads), ctx.runs
    )
    header = np.array([0x0803, len(images), 28, 28], ">u4").tobytes()

    def floor() -> None:
        with gzip.GzipFile(out / "b.gz", "wb", 6, mtime=0) as handle:
            handle.write(header)
            flat = images.reshape(-1)
            for start in range(0, len(flat), 1 << 20):
                handle.write(flat[start : start + (1 << 20)])

    base = timed(floor, ctx.runs)
    ratio = target.stat().st_size / (out / "b.gz").stat().st_size
    backend = fastcodecs.backend_name(fastcodecs.deflater())
    return Row(
        f"save .gz images, {threads} thread(s) ({backend})",
        ours,
        "gzip.GzipFile level 6, 1 thread",
        base,
        peak,
        before,
        f"size {ratio:.4f}x the floor's; speed-up {base / ours:.2f}x",
    )


def row_save_gz_1(ctx: Context) -> Row:
    return _save_gz(ctx, 1, fast=False)


def row_save_gz_2(ctx: Context) -> Row:
    return _save_gz(ctx, 2, fast=False)


def row_save_gz_1_fast(ctx: Context) -> Row:
    return _save_gz(ctx, 1, fast=True)


def row_save_gz_2_fast(ctx: Context) -> Row:
    return _save_gz(ctx, 2, fast=True)


def row_save_dataset_gz(ctx: Context) -> Row:
    """engine.save of the whole dataset to mnist .gz, the input arrays held in memory."""
    import engine
    from engine.model import Dataset, Subset

    loaded = engine.load("mnist", ctx.raw)
    images = np.array(loaded["test"].images)  # in memory: counted in `before`
    held = Dataset(
        [Subset("test", labels=np.array(loaded["test"].labels), images=images)], loaded.categories
    )
    ours, peak, before = measured(
        lambda: engine.save(held, "mnist", ctx.out("save-ds"), overwrite=True), ctx.runs
    )
    floor = timed(lambda: _floor_save(images, ctx.out("save-floor")), ctx.runs)
    return Row(
        "engine.save mnist .gz (whole dataset)",
        ours,
        "gzip.GzipFile level 6",
        floor,
        peak,
        before,
        f"beyond the inputs: {peak - before:.0f} MiB",
    )


def _floor_save(images: np.ndarray, folder: Path) -> None:
    folder.mkdir(parents=True)
    with gzip.GzipFile(folder / "x.gz", "wb", 6, mtime=0) as handle:
        flat = images.reshape(-1)
        for start in range(0, len(flat), 1 << 20):
            handle.write(flat[start : start + (1 << 20)])


def row_csv_read(ctx: Context) -> Row:
    import engine

    warm_up()
    path = next(ctx.csv.glob("*.csv*"))
    ours, peak, before = measured(lambda: engine.load("mnist_csv", ctx.csv), ctx.runs)
    try:
        import pandas

        floor = timed(
            lambda: pandas.read_csv(path, header=None, dtype=np.uint8).to_numpy(), ctx.runs
        )
        floor_name = "pandas.read_csv (C engine)"
    except ImportError:
        floor = timed(lambda: np.loadtxt(path, delimiter=",", dtype=np.uint8), 1)
        floor_name = "np.loadtxt"
    rows = min(ctx.items, CSV_ROWS)
    return Row(f"CSV read ({rows} rows, .gz)", ours, floor_name, floor, peak, before)


def row_csv_write(ctx: Context) -> Row:
    import engine

    dataset = engine.load("mnist_csv", ctx.csv)
    subset = dataset["test"]
    images, labels = np.asarray(subset.images), np.asarray(subset.labels)
    ours, peak, before = measured(
        lambda: engine.save(dataset, "mnist_csv", ctx.out("csv"), overwrite=True), ctx.runs
    )

    def floor() -> None:
        out = ctx.out("csv-floor")
        out.mkdir(parents=True)
        table = np.column_stack([labels.astype(np.uint8), images.reshape(len(images), -1)])
        np.savetxt(out / "x.csv", table, fmt="%d", delimiter=",")

    base = timed(floor, 1)
    return Row(
        f"CSV write ({len(labels)} rows, .gz)", ours, "np.savetxt (plain)", base, peak, before
    )


def _export(ctx: Context, workers: int) -> Row:
    from PIL import Image

    import engine
    from engine.model import Dataset, Subset

    full = engine.load("mnist", ctx.raw)
    count = ctx.export_items
    labels = np.array(full["test"].labels[:count])
    images = np.array(full["test"].images[:count])
    part = Dataset([Subset("test", labels=labels, images=images)], full.categories)
    ours, peak, before = measured(
        lambda: engine.save(part, "imagenet", ctx.out("png"), workers=workers), ctx.runs
    )

    def floor() -> None:  # a one-process Pillow loop at the same PNG level, one folder per class
        out = ctx.out("png-floor")
        for label in range(10):
            (out / str(label)).mkdir(parents=True)
        for index, image in enumerate(images):
            Image.fromarray(image).save(out / str(labels[index]) / f"{index}.png", compress_level=6)

    base = timed(floor, ctx.runs)
    return Row(
        f"imagenet export {count} PNGs, {workers} worker(s)",
        ours,
        "Pillow loop, 1 process",
        base,
        peak,
        before,
        f"per core: {ours * workers / base:.2f}x the loop",
    )


def row_export_1(ctx: Context) -> Row:
    return _export(ctx, 1)


def row_export_2(ctx: Context) -> Row:
    return _export(ctx, 2)


def row_stats(ctx: Context) -> Row:
    command = [sys.executable, "-m", "engine", "-q", "stats", str(ctx.gz)]
    ours, peak = measured_command(command, ctx.runs)

    def floor() -> None:
        from engine.codecs.idx.container import read_idx

        labels = read_idx(ctx.gz / "t10k-labels-idx1-ubyte.gz")
        images = read_idx(_gz_images(ctx))
        np.bincount(labels, minlength=10)
        for start in range(0, len(images), 1 << 16):
            block = images[start : start + (1 << 16)].astype(np.float64)
            block.sum(), np.square(block).sum()

    base = timed(floor, ctx.runs)
    return Row(
        "stats (CLI process, .gz input)",
        ours,
        "read + bincount + chunked mean/std",
        base,
        peak,
        0.0,
        "includes CLI start-up",
    )


def row_filter_convert(ctx: Context) -> Row:
    out = ctx.out("filtered")
    command = [
        sys.executable,
        "-m",
        "engine",
        "-q",
        "convert",
        "-if",
        "mnist",
        "-i",
        str(ctx.gz),
        "-f",
        "mnist",
        "-o",
        str(out),
        "--overwrite",
        "--filter",
        '/item[annotation/label="3"]',
    ]
    ours, peak = measured_command(command, ctx.runs)

    def floor() -> None:
        from engine.codecs.idx.container import read_idx

        labels = read_idx(ctx.gz / "t10k-labels-idx1-ubyte.gz")
        images = read_idx(_gz_images(ctx))
        keep = labels == 3
        folder = ctx.out("filtered-floor")
        folder.mkdir(parents=True)
        with gzip.GzipFile(folder / "x.gz", "wb", 6, mtime=0) as handle:
            handle.write(np.ascontiguousarray(images[keep]))
        with gzip.GzipFile(folder / "y.gz", "wb", 6, mtime=0) as handle:
            handle.write(labels[keep].tobytes())

    base = timed(floor, ctx.runs)
    return Row(
        "convert --filter label=3 (CLI process)",
        ours,
        "numpy mask + gzip",
        base,
        peak,
        0.0,
        "includes CLI start-up",
    )


def row_import(ctx: Context) -> Row:
    """`import engine` above `import numpy`, each in a fresh interpreter."""
    numpy_only = [sys.executable, "-c", "import numpy"]
    both = [sys.executable, "-c", "import numpy, engine"]
    runs = max(5, ctx.runs)
    ours, peak = measured_command(both, runs)
    floor, _ = measured_command(numpy_only, runs)
    return Row(
        "python -c 'import numpy, engine'",
        ours,
        "python -c 'import numpy'",
        floor,
        peak,
        0.0,
        f"engine adds {ours - floor:.3f} s",
    )


ROWS: dict[str, Callable[[Context], Row]] = {
    "import": row_import,
    "load_gz": row_load_gz,
    "load_gz_fast": row_load_gz_fast,
    "load_gz_cached": row_load_gz_cached,
    "cache_second_vs_first": row_cache_second_vs_first,
    "load_raw": row_load_raw,
    "save_gz_1": row_save_gz_1,
    "save_gz_2": row_save_gz_2,
    "save_gz_1_fast": row_save_gz_1_fast,
    "save_gz_2_fast": row_save_gz_2_fast,
    "save_dataset_gz": row_save_dataset_gz,
    "csv_read": row_csv_read,
    "csv_write": row_csv_write,
    "export_1": row_export_1,
    "export_2": row_export_2,
    "stats": row_stats,
    "filter_convert": row_filter_convert,
}
#: rows run with --dask (1M convert on 1 and 2 Dask workers): `row_dask_<name>(ctx) -> Row`
DASK_ROWS: dict[str, Callable[[Context], Row]] = {}


def print_header(source: str, ctx: Context) -> None:
    print(
        f"\n{ctx.items:,} images from {source}; median of {ctx.runs} run(s); "
        "ratio = time / floor (below 1: faster); peak = RssAnon (MiB) sampled during the "
        "operation; before = RssAnon when it started (interpreter, imports, inputs held)\n"
    )
    print("| operation | time s | floor | floor s | ratio | peak MiB | before MiB | note |")
    print("|---|---:|---|---:|---:|---:|---:|---|", flush=True)


def print_row(row: Row) -> None:
    before = f"{row.before_mib:.0f}" if row.before_mib else ""
    print(
        f"| {row.name} | {row.seconds:.2f} | {row.floor_name} | {row.floor_seconds:.2f} | "
        f"{row.ratio:.2f} | {row.peak_mib:.0f} | {before} | {row.note} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument(
        "--infimnist", action="store_true", help="8.1M images (about 20 GB of disk)"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--export-items",
        type=int,
        default=70_000,
        help="PNG files per export row (one file per image: the disk sets the pace)",
    )
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/mnist-engine-scale"))
    parser.add_argument("--only", default="", help="comma-separated row names")
    parser.add_argument("--dask", action="store_true", help="add the Dask rows")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    items = 8_100_000 if args.infimnist else args.items
    # the CLI rows cache big inputs: keep that in the scratch folder, not the user's cache
    os.environ.setdefault("MNIST_ENGINE_CACHE_DIR", str(args.scratch / "cache"))
    ctx = Context(args.scratch, items, args.runs, min(args.export_items, items))
    table = {**ROWS, **(DASK_ROWS if args.dask else {})}
    if args.child:
        row = table[args.child](ctx)
        print(json.dumps(asdict(row)))
        return
    if args.infimnist:
        free = shutil.disk_usage(args.scratch.parent).free
        if free < 25 << 30:
            raise SystemExit(f"bench_scale: --infimnist needs ~25 GB free, {free >> 30} GB here")
    source = build(ctx)
    names = [n for n in args.only.split(",") if n] or list(table)
    print_header(source, ctx)
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        print_row(in_child(name, ctx))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
