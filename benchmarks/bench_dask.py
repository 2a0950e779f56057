"""Per-chunk work locally and on a Dask cluster: the same conversion (resize + PNG encoding into an
image_zip) of N images (the real t10k set tiled; 1,000,000 by default) with local processes, and
on a LocalCluster of 1 and 2 single-threaded worker processes on 127.0.0.1. Prints the time of
each and the ratio to the local run, and checks the images come out the same.

    python3 benchmarks/bench_dask.py [--items N] [--runs R] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, median_time, require_real_data

import engine


def tiled_raw_mnist(folder: Path, count: int) -> Path:
    """An uncompressed mnist folder of `count` images tiled from the real test set."""
    images_gz = MNIST_DATA / "t10k-images-idx3-ubyte.gz"
    labels_gz = MNIST_DATA / "t10k-labels-idx1-ubyte.gz"
    require_real_data("bench_dask", images_gz, labels_gz)
    images = np.frombuffer(gzip.decompress(images_gz.read_bytes()), np.uint8, offset=16)
    labels = np.frombuffer(gzip.decompress(labels_gz.read_bytes()), np.uint8, offset=8)
    images = images.reshape(-1, 28, 28)
    reps = -(-count // len(labels))
    subset = engine.Subset(
        "train",
        np.tile(labels, reps)[:count].astype(np.int32),
        np.tile(images, (reps, 1, 1))[:count],
    )
    out = folder / "mnist"
    engine.save(engine.Dataset([subset], [str(d) for d in range(10)]), "mnist", out)
    for packed in out.glob("*.gz"):
        with gzip.open(packed) as source, open(packed.with_suffix(""), "wb") as target:
            shutil.copyfileobj(source, target, 1 << 24)
        packed.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    import distributed

    warnings.simplefilter("ignore", UserWarning)  # image_zip keeps no labels: known, not news

    work = Path(tempfile.mkdtemp(prefix="bench-dask-", dir=args.workdir))
    try:
        dataset = engine.load("mnist", tiled_raw_mnist(work, args.items))
        options = {"resize": "14x14", "overwrite": True}

        def run(name: str, executor=None) -> float:
            return median_time(
                lambda: engine.save(
                    dataset, "image_zip", work / name, executor=executor, **options
                ),
                args.runs,
            )

        rows = [("local processes (all CPUs)", run("local"))]
        for workers in (1, 2):
            with (
                distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                client.run(lambda: __import__("engine.ops.pixels"))  # warm the workers
                rows.append((f"Dask, {workers} worker process(es)", run(f"dask{workers}", client)))
        with (
            zipfile.ZipFile(work / "local" / "default.zip") as a,
            zipfile.ZipFile(work / "dask2" / "default.zip") as b,
        ):
            same = (
                all(a.read(n) == b.read(n) for n in a.namelist()) and a.namelist() == b.namelist()
            )
        runs = f"{args.runs} run(s), median"
        print(f"{args.items} images: resize to 14x14 + PNG into image_zip ({runs})")
        local = rows[0][1]
        for name, seconds in rows:
            print(f"  {name:32s} {seconds:8.1f} s   {seconds / local:5.2f}x local")
        print(f"  images identical local vs Dask: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
