"""Feeding training, side by side in one run: one shuffled epoch, batch 512, over the real MNIST
test set tiled to 60,000 images saved as a raw (memory-mapped) IDX file:

- the per-item DataLoader (what `DataLoader(subset.to_torch())` did before `__getitems__`), 0 and
  2 workers; the plain DataLoader now (default collate over `__getitems__`);
- `to_torch().loader()` (whole batches passed through), 0 and 2 workers;
- `subset.batches()` (numpy) and `subset.batches(device="cpu", normalize=...)`;
- the floor written by hand: a numpy permutation and one fancy index per batch.

Each row is the median of `--runs` epochs, with images/s, the ratio to the floor, the peak growth
of this process's RssAnon during the epoch (anonymous memory, not the file's pages in the page
cache) and the peak Pss_Anon of its DataLoader workers (their share of anonymous memory).

With CUDA it adds the device rows: the device floor written by hand (uint8 tensor on the GPU
once; per epoch `randperm`, index, normalize), `batches(device="cuda", normalize=...)`,
`loader(pin_memory=True)` and the per-item DataLoader with 2 workers moved and normalized on the
GPU; then one epoch of the PyTorch examples' MNIST network (2 conv + 2 linear, Adadelta) fed by
each. `--million` adds an epoch of `batches()` over 1,000,000 memory-mapped images (a raw IDX
file written to a temporary folder on disk).

    python3 benchmarks/bench_batches.py [--runs 5] [--count 60000] [--synthetic] [--million]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from _common import MNIST_DATA

import engine
from engine.model import Subset

BATCH = 512
MEAN, STD = 0.1307, 0.3081  # the MNIST figures of the PyTorch examples


# -- measuring ----------------------------------------------------------------------------------


def status_kb(pid: int, field: str, file: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    return found


class PeakAnon:
    """Samples every 5 ms the RssAnon of this process and the Pss_Anon of its children (forked
    DataLoader workers share the parent's pages: their proportional share is what they add);
    `growth_mb` and `workers_mb` are the peaks over the values when sampling began."""

    def __init__(self) -> None:
        self.base = self.peak = status_kb(os.getpid(), "RssAnon")
        self.workers_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, status_kb(me, "RssAnon"))
            workers = sum(status_kb(c, "Pss_Anon", "smaps_rollup") for c in children(me))
            self.workers_peak = max(self.workers_peak, workers)

    def __enter__(self) -> PeakAnon:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 1024

    @property
    def workers_mb(self) -> float:
        return self.workers_peak / 1024


def measure(contenders: list[tuple[str, Callable[[], int]]], runs: int) -> list[tuple]:
    """(name, median seconds, best seconds, peak RssAnon growth MB, peak workers' Pss_Anon MB)
    per contender.

    The epochs are interleaved, one round after another, each round in a new random order: the
    shared machine's load drifts over all contenders alike, and no contender always runs right
    after the same heavy one (which measurably slows or speeds the next epoch).
    """
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    peaks: dict[str, list[float]] = {name: [] for name, _ in contenders}
    workers: dict[str, list[float]] = {name: [] for name, _ in contenders}
    shuffler = random.Random(0)
    for _ in range(runs):
        for name, epoch in shuffler.sample(contenders, len(contenders)):
            with PeakAnon() as peak:
                start = time.perf_counter()
                epoch()
                times[name].append(time.perf_counter() - start)
            peaks[name].append(peak.growth_mb)
            workers[name].append(peak.workers_mb)
    return [
        (
            name,
            statistics.median(times[name]),
            min(times[name]),
            max(peaks[name]),
            max(workers[name]),
        )
        for name, _ in contenders
    ]


def report(rows: list[tuple], count: int) -> dict[str, tuple[float, float]]:
    """Prints the rows against the first (the floor): median epoch, images/s, median ratio, best
    epoch and its ratio (on a loaded machine the best is the steadier figure), memory; returns
    name -> (median, best)."""
    floor, floor_best = rows[0][1], rows[0][2]
    print(
        f"  {'contender':<62} {'median':>8} {'images/s':>11} {'ratio':>7} {'best':>8} {'ratio':>7}"
        f" {'+RssAnon':>9} {'workers':>8}"
    )
    for name, seconds, best, peak_mb, workers_mb in rows:
        print(
            f"  {name:<62} {seconds:7.3f}s {count / seconds:11,.0f} {seconds / floor:6.2f}x "
            f"{best:7.3f}s {best / floor_best:6.2f}x {peak_mb:7.1f}MB {workers_mb:6.1f}MB"
        )
    return {name: (seconds, best) for name, seconds, best, _, _ in rows}


# -- the data -----------------------------------------------------------------------------------


def digits(count: int, synthetic: bool) -> tuple[np.ndarray, np.ndarray]:
    if synthetic:
        from engine.ops.synthetic import synthesize_digits

        base, labels = synthesize_digits(min(count, 10_000), seed=0)
    else:
        if not (MNIST_DATA / "t10k-images-idx3-ubyte.gz").is_file():
            sys.exit(f"bench_batches: {MNIST_DATA} is absent; run with --synthetic")
        test = engine.load("mnist", MNIST_DATA)["test"]
        base, labels = np.asarray(test.images), np.asarray(test.labels)
    reps = -(-count // len(base))
    return (
        np.concatenate([base] * reps)[:count],
        np.concatenate([labels] * reps)[:count].astype(np.int32),
    )


def mapped_subset(images: np.ndarray, labels: np.ndarray, folder: Path) -> Subset:
    """The digits as a raw IDX file, loaded back memory-mapped (how a cache or raw file is read)."""
    dataset = engine.Dataset([Subset("train", labels, images)], [str(d) for d in range(10)])
    engine.save(dataset, "mnist", folder, compression="", overwrite=True)
    return engine.load("mnist", folder)["train"]


def drain(batches: Iterable) -> int:
    count = 0
    for _, labels in batches:
        count += len(labels)
    return count


# -- CPU ----------------------------------------------------------------------------------------


def bench_cpu(subset: Subset, runs: int) -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    torch.set_num_threads(1)  # the machine is shared; no row uses torch's thread pool anyway
    dataset = subset.to_torch()

    class PerItem(Dataset):
        """The dataset without `__getitems__`: DataLoader fetches item by item, as it did."""

        def __len__(self) -> int:
            return len(dataset)

        def __getitem__(self, index: int):
            return dataset[index]

    images, labels = subset.images, subset.labels

    def floor() -> int:
        order = np.random.default_rng(0).permutation(len(labels))
        count = 0
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            pixels, targets = images[rows], labels[rows].astype(np.int64)
            count += min(len(pixels), len(targets))
        return count

    epoch = {"n": 0}

    def shuffled(make) -> Callable[[], int]:
        def run() -> int:
            epoch["n"] += 1
            return drain(make(epoch["n"]))

        return run

    def loader_of(data, workers: int, fast: bool = False):
        def make(n: int):
            kwargs = {
                "batch_size": BATCH,
                "shuffle": True,
                "num_workers": workers,
                "generator": torch.Generator().manual_seed(n),
            }
            return data.loader(**kwargs) if fast else DataLoader(data, **kwargs)

        return make

    contenders: list[tuple[str, Callable[[], int]]] = [
        ("floor: numpy permutation + fancy index per batch", floor),
        (
            "subset.batches(512, shuffle=True) (numpy)",
            shuffled(lambda n: subset.batches(BATCH, shuffle=True, epoch=n)),
        ),
        (
            'subset.batches(..., device="cpu", normalize=(m, s)) float32',
            shuffled(
                lambda n: subset.batches(
                    BATCH, shuffle=True, epoch=n, device="cpu", normalize=(MEAN, STD)
                )
            ),
        ),
        (
            "to_torch().loader(batch_size=512, shuffle=True), 0 workers",
            shuffled(loader_of(dataset, 0, fast=True)),
        ),
        ("to_torch().loader(...), 2 workers", shuffled(loader_of(dataset, 2, fast=True))),
        (
            "DataLoader(to_torch()) default collate over __getitems__, 0 w",
            shuffled(loader_of(dataset, 0)),
        ),
        ("per-item DataLoader (before __getitems__), 0 workers", shuffled(loader_of(PerItem(), 0))),
        ("per-item DataLoader (before __getitems__), 2 workers", shuffled(loader_of(PerItem(), 2))),
    ]
    for _, action in contenders:  # warm the page cache and the imports
        assert action() == len(subset)
    rows = measure(contenders, runs)
    print(
        f"One shuffled epoch, {len(subset):,} images (memory-mapped IDX), batch {BATCH}, "
        f"median of {runs}:"
    )
    times = report(rows, len(subset))
    per_item = times["per-item DataLoader (before __getitems__), 0 workers"]
    fast = times["to_torch().loader(batch_size=512, shuffle=True), 0 workers"]
    ours = times["subset.batches(512, shuffle=True) (numpy)"]
    floor = times["floor: numpy permutation + fancy index per batch"]
    print(
        f"  loader() at 0 workers is {per_item[0] / fast[0]:.1f}x (best: "
        f"{per_item[1] / fast[1]:.1f}x) the per-item DataLoader at 0 workers (target >= 6x)"
    )
    print(
        f"  batches() takes {ours[0] / floor[0]:.2f}x (best: {ours[1] / floor[1]:.2f}x) the numpy "
        f"floor (target <= 1.3x)"
    )


# -- CUDA ---------------------------------------------------------------------------------------


class ExamplesNet:
    """The PyTorch examples' MNIST network (examples/mnist/main.py) with its Adadelta."""

    def __init__(self, device) -> None:
        import torch
        from torch import nn

        torch.manual_seed(1)
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3, 1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, 1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Flatten(),
            nn.Linear(9216, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, 10),
            nn.LogSoftmax(dim=1),
        ).to(device)
        self.optimizer = torch.optim.Adadelta(self.model.parameters(), lr=1.0)

    def step(self, images, labels) -> None:
        import torch.nn.functional as F

        self.optimizer.zero_grad()
        F.nll_loss(self.model(images), labels).backward()
        self.optimizer.step()


def bench_device(subset: Subset, runs: int, device_name: str) -> None:
    """The device rows and training epochs (`--device cpu` runs them on the CPU, to check this
    script on a machine without a GPU; the figures mean something on a GPU only)."""
    import torch
    from torch.utils.data import DataLoader, Dataset

    device = torch.device(device_name)
    cuda = device.type == "cuda"

    def synchronize() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    dataset = subset.to_torch()
    resident = torch.from_numpy(np.array(subset.images)).unsqueeze(1).to(device)
    targets = torch.from_numpy(subset.labels.astype(np.int64)).to(device)

    class PerItem(Dataset):
        def __len__(self) -> int:
            return len(dataset)

        def __getitem__(self, index: int):
            return dataset[index]

    def on_gpu(x, y):
        x = x.to(device, non_blocking=True).float().div_(255).sub_(MEAN).div_(STD)
        return x, y.to(device, non_blocking=True)

    def floor_batches(n: int):
        generator = torch.Generator(device=device).manual_seed(n)
        order = torch.randperm(len(targets), device=device, generator=generator)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            yield resident[rows].float().div_(255).sub_(MEAN).div_(STD), targets[rows]

    def ours(n: int):
        return subset.batches(BATCH, shuffle=True, epoch=n, device=device, normalize=(MEAN, STD))

    def fast_loader(n: int):
        loader = dataset.loader(
            batch_size=BATCH,
            shuffle=True,
            pin_memory=cuda,
            generator=torch.Generator().manual_seed(n),
        )
        return (on_gpu(x, y) for x, y in loader)

    def per_item(n: int):
        loader = DataLoader(
            PerItem(),
            batch_size=BATCH,
            shuffle=True,
            num_workers=2,
            pin_memory=cuda,
            generator=torch.Generator().manual_seed(n),
        )
        return (on_gpu(x, y) for x, y in loader)

    feeds = [
        ("floor: uint8 tensor there once, randperm + index + normalize", floor_batches),
        (f'subset.batches(..., device="{device.type}", normalize=(m, s))', ours),
        ("to_torch().loader(pin_memory=True), 0 workers, normalized there", fast_loader),
        ("per-item DataLoader, 2 workers, pinned, normalized there", per_item),
    ]
    epoch = {"n": 0}

    def delivery(feed) -> Callable[[], int]:
        def run() -> int:
            epoch["n"] += 1
            count = drain(feed(epoch["n"]))
            synchronize()
            return count

        return run

    for _, feed in feeds:  # warm: CUDA context, kernels, our copy on the device
        assert delivery(feed)() == len(subset)
    rows = measure([(name, delivery(feed)) for name, feed in feeds], runs)
    where = torch.cuda.get_device_name(device) if cuda else str(device)
    print(f"{device.type.upper()} ({where}): normalized float batches on the device:")
    report(rows, len(subset))

    def training(feed) -> Callable[[], int]:
        net = ExamplesNet(device)

        def run() -> int:
            epoch["n"] += 1
            count = 0
            for x, y in feed(epoch["n"]):
                net.step(x, y)
                count += len(y)
            synchronize()
            return count

        return run

    trainers = [(name, training(feed)) for name, feed in feeds]
    for _, train in trainers:
        train()  # warm: cuDNN picks its algorithms
    rows = measure(trainers, runs)
    print("One training epoch of the PyTorch examples' MNIST network fed by each:")
    report(rows, len(subset))


# -- a million images ---------------------------------------------------------------------------


def bench_million(images: np.ndarray, labels: np.ndarray) -> None:
    count = 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="bench-batches-million-"))
    try:
        reps = -(-count // len(images))
        big = mapped_subset(
            np.concatenate([images] * reps)[:count],
            np.concatenate([labels] * reps)[:count],
            folder,
        )
        with PeakAnon() as peak:
            start = time.perf_counter()
            seen = drain(big.batches(BATCH, shuffle=True))
            seconds = time.perf_counter() - start
        assert seen == count
        print(
            f"batches() over {count:,} memory-mapped images ({big.images.nbytes / 1e6:.0f} MB): "
            f"{seconds:.2f} s, {count / seconds:,.0f} images/s, "
            f"peak RssAnon growth {peak.growth_mb:.1f} MB"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=60_000)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--million", action="store_true")
    parser.add_argument(
        "--device", help="run the device rows there (default: cuda when present; cpu to check)"
    )
    args = parser.parse_args()
    images, labels = digits(args.count, args.synthetic)
    scratch = Path(tempfile.mkdtemp(prefix="bench-batches-"))
    try:
        subset = mapped_subset(images, labels, scratch / "idx")
        bench_cpu(subset, args.runs)
        import torch

        device = args.device or ("cuda" if torch.cuda.is_available() else None)
        if device:
            bench_device(subset, args.runs, device)
        else:
            print("(no CUDA here: the device rows and the training epochs need a GPU)")
        if args.million:
            bench_million(images, labels)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
