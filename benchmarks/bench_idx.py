"""IDX load/save speed and memory, measured side by side with the numpy/zlib floor in one run.

Builds a full-size MNIST folder (train 60,000 + test 10,000) in a temp dir: the real test images
from ../shared/data/mnist, tiled six times for train (realistic pixel statistics), with the real
train and test labels. Prints median-of-N timings and the ratios the foundation issue targets:
load/floor <= 1.2, save/floor <= 1.3, 70,000 item views <= 0.2 s, load peak RSS <= 2x payload.

    python3 benchmarks/bench_idx.py [--runs 5] [--data ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, ROOT, median_time, require_real_data

import engine

FILES = {
    "train-images-idx3-ubyte.gz": 16,
    "train-labels-idx1-ubyte.gz": 8,
    "t10k-images-idx3-ubyte.gz": 16,
    "t10k-labels-idx1-ubyte.gz": 8,
}


def build_full_mnist(data: Path, folder: Path) -> None:
    """Writes a 70,000-item MNIST folder made from the real files (train images tiled 6x)."""
    test_images = gzip.decompress((data / "t10k-images-idx3-ubyte.gz").read_bytes())
    pixels = np.frombuffer(test_images, np.uint8, offset=16)
    train = np.array([0x0803, 60000, 28, 28], ">u4").tobytes() + np.tile(pixels, 6).tobytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(train, 6))
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes((data / name).read_bytes())
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(test_images, 6))


def floor_load(folder: Path) -> None:
    for name, offset in FILES.items():
        np.frombuffer(gzip.decompress((folder / name).read_bytes()), np.uint8, offset=offset)


def floor_save(raw: dict[str, bytes], level: int) -> None:
    for content in raw.values():
        gzip.compress(content, level, mtime=0)


def peak_rss_mb(code: str) -> float:
    """Peak RSS (MiB) of a fresh interpreter running `code` (VmHWM: not inherited across exec)."""
    probe = (
        f"{code}\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=MNIST_DATA)
    args = parser.parse_args()
    require_real_data("bench_idx", args.data / "t10k-images-idx3-ubyte.gz")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mnist"
        folder.mkdir()
        build_full_mnist(args.data, folder)
        raw = {name: gzip.decompress((folder / name).read_bytes()) for name in FILES}
        payload = sum(len(c) - FILES[n] for n, c in raw.items())

        load_floor = median_time(lambda: floor_load(folder), args.runs)
        load_ours = median_time(lambda: engine.load("mnist", folder), args.runs)
        dataset = engine.load("mnist", folder)
        out = Path(tmp) / "out"
        save_floor = median_time(lambda: floor_save(raw, 6), args.runs)
        save_ours = median_time(
            lambda: engine.save(dataset, "mnist", out, overwrite=True, compresslevel=6), args.runs
        )

        def iterate() -> None:
            for item in dataset:
                item.image  # noqa: B018 - touching the view is what is measured
                item.label  # noqa: B018

        iterate_time = median_time(iterate, args.runs)
        written = {p.name: gzip.decompress(p.read_bytes()) for p in out.glob("*.gz")}
        identical = all(written[name] == raw[name] for name in FILES)

        base_rss = peak_rss_mb("import engine, numpy")
        load_rss = peak_rss_mb(f"import engine; ds = engine.load('mnist', {str(folder)!r})")

    mb = payload / 2**20
    print(f"full MNIST: {len(dataset)} items, payload {mb:.1f} MiB; median of {args.runs} runs")
    print(
        f"load   ours {load_ours * 1e3:7.1f} ms   floor (gzip + frombuffer) "
        f"{load_floor * 1e3:7.1f} ms   ratio {load_ours / load_floor:.2f}  (target <= 1.2)"
    )
    print(
        f"save   ours {save_ours * 1e3:7.1f} ms   floor (gzip level 6)      "
        f"{save_floor * 1e3:7.1f} ms   ratio {save_ours / save_floor:.2f}  (target <= 1.3)"
    )
    print(
        f"iterate {len(dataset)} item views (image + label): {iterate_time:.3f} s, "
        f"{len(dataset) / iterate_time:,.0f} items/s  (target <= 0.2 s)"
    )
    print(
        f"peak RSS of a load: {load_rss - base_rss:.1f} MiB above the interpreter "
        f"({(load_rss - base_rss) / mb:.2f}x the payload; target <= 2x)"
    )
    print(f"saved files identical to the input once uncompressed: {identical}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
