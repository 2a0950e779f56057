"""Into training, side by side in one run (medians of several runs):

- Parquet write of 70,000 digits (PNG and raw) by `engine.save(..., "parquet")` against pyarrow
  writing the identical, already-built table (`pq.write_table`: the floor for the file work) and
  a naive path (Pillow PNG per image, `pa.table`, `pq.write_table`);
- Parquet read back into arrays by `engine.load` against `pq.read_table` (+ decoding);
- a DataLoader epoch over `subset.to_torch()` (0 and 2 workers) against a `TensorDataset` of the
  same arrays;
- `dataset.to_hf()` against `datasets.Dataset.from_dict` with the same features.

Feeding a training loop batch by batch (`Subset.batches`, `to_torch().loader()`, CUDA rows and
training epochs) is measured by its sibling, `bench_batches.py`.

Uses the real MNIST test set tiled to `--count` from ../shared/data/mnist (or `--synthetic`).
Hugging Face caches go to a temporary folder, offline.

    python3 benchmarks/bench_training.py [--runs 3] [--count 70000] [--synthetic]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, median_time

SCRATCH = Path(
    tempfile.mkdtemp(
        prefix="bench-training-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
    )
)
os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(SCRATCH / "hf-home"))

import engine  # noqa: E402
from engine.model import Subset  # noqa: E402


def digits(count: int, synthetic: bool) -> engine.Dataset:
    if synthetic:
        from engine.ops.synthetic import synthesize_digits

        base, labels = synthesize_digits(min(count, 10_000), seed=0)
    else:
        if not (MNIST_DATA / "t10k-images-idx3-ubyte.gz").is_file():
            sys.exit(f"bench_training: {MNIST_DATA} is absent; run with --synthetic")
        test = engine.load("mnist", MNIST_DATA)["test"]
        base, labels = test.images, test.labels
    reps = -(-count // len(base))
    images = np.concatenate([base] * reps)[:count]
    labels = np.concatenate([labels] * reps)[:count].astype(np.int32)
    return engine.Dataset([Subset("train", labels, images)], [str(d) for d in range(10)])


def rss_anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def row(name: str, seconds: float, base: float | None = None) -> None:
    ratio = f"{seconds / base:6.2f}x" if base else "       "
    print(f"  {name:<58} {seconds:8.3f} s  {ratio}")


def bench_parquet(ds: engine.Dataset, runs: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from engine.interop.arrow import plan_table

    subset = ds["train"]
    for encoding in ("png", "raw"):
        out = SCRATCH / f"pq-{encoding}"
        plan = plan_table(subset, ds.categories, encoding)
        table = pa.Table.from_batches([plan.batch(0, len(subset))])

        def ours(out: Path = out, encoding: str = encoding) -> None:
            shutil.rmtree(out, ignore_errors=True)
            engine.save(ds, "parquet", out, image_encoding=encoding, progress=False)

        def floor(table=table, encoding: str = encoding) -> None:
            pq.write_table(
                table,
                SCRATCH / "floor.parquet",
                compression="zstd" if encoding == "raw" else "snappy",
            )

        print(f"Parquet write, {len(subset)} images, {encoding}:")
        base = median_time(floor, runs)
        row("pyarrow write_table of the same, already built table", base)
        row("engine.save(..., 'parquet') (encode + write)", median_time(ours, runs), base)
        if encoding == "png":

            def naive() -> None:
                blobs = []
                for image in subset.images:
                    buffer = io.BytesIO()
                    Image.fromarray(image).save(buffer, format="PNG")
                    blobs.append({"bytes": buffer.getvalue(), "path": None})
                pq.write_table(
                    pa.table({"image": blobs, "label": subset.labels.astype(np.int64)}),
                    SCRATCH / "naive.parquet",
                )

            row(
                "naive: Pillow PNG per image + pa.table + write_table",
                median_time(naive, runs),
                base,
            )
        ours()
        files = sorted(out.glob("*.parquet"))

        def read_floor(files=files) -> None:
            for file in files:
                pq.read_table(file)

        def read_ours(out: Path = out) -> None:
            engine.load("parquet", out, workers=1, progress=False)

        print(f"Parquet read, {encoding}:")
        base = median_time(read_floor, runs)
        row("pyarrow read_table (bytes only, no decoding)", base)
        row(
            "engine.load(..., 'parquet') -> uint8 array (1 process)",
            median_time(read_ours, runs),
            base,
        )
        if encoding == "png":

            def read_naive(files=files) -> None:
                for file in files:
                    table = pq.read_table(file)
                    blobs = table.column("image").combine_chunks().field("bytes").to_pylist()
                    np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in blobs])

            row("naive: read_table + Pillow decode per image", median_time(read_naive, runs), base)
        back = engine.load("parquet", out, progress=False)
        assert np.array_equal(back["train"].images, subset.images)
        print(f"  file size: {sum(f.stat().st_size for f in files) / 1e6:.1f} MB")


def bench_torch(ds: engine.Dataset, runs: int) -> None:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    engine.save(ds, "mnist", SCRATCH / "idx", compression="", overwrite=True)
    mapped = engine.load("mnist", SCRATCH / "idx")["train"]
    images, labels = mapped.arrays(int64_labels=True)
    reference = TensorDataset(
        torch.from_numpy(np.array(images)).unsqueeze(1), torch.from_numpy(labels)
    )
    ours = mapped.to_torch()
    print(f"DataLoader epoch, {len(mapped)} images, batch 256 (memory-mapped IDX):")
    for workers in (0, 2):

        def epoch(data, workers=workers) -> None:
            for _ in DataLoader(data, batch_size=256, num_workers=workers):
                pass

        base = median_time(lambda: epoch(reference), runs)
        row(f"TensorDataset, num_workers={workers}", base)
        row(
            f"subset.to_torch(), num_workers={workers}",
            median_time(lambda: epoch(ours), runs),
            base,
        )
    print(f"  RssAnon after the epochs: {rss_anon_mb():.0f} MB")


def bench_hf(ds: engine.Dataset, runs: int) -> None:
    import datasets

    datasets.disable_progress_bars()
    subset = ds["train"]
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=list(ds.categories))}
    )

    def theirs() -> None:
        datasets.Dataset.from_dict(
            {"image": list(subset.images), "label": subset.labels.tolist()}, features=features
        )

    print(f"Hugging Face DatasetDict, {len(subset)} images:")
    base = median_time(theirs, max(1, runs // 2))
    row("datasets.Dataset.from_dict(..., features=Image/ClassLabel)", base)
    row("dataset.to_hf() (Image(), PNG-encoded once)", median_time(ds.to_hf, runs), base)
    row(
        "dataset.to_hf(images='array') (Array2D, no encoding)",
        median_time(lambda: ds.to_hf(images="array"), runs),
        base,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=70_000)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()
    ds = digits(args.count, args.synthetic)
    try:
        bench_parquet(ds, args.runs)
        bench_torch(ds, args.runs)
        bench_hf(ds, args.runs)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
