"""Start-up of the command line: `mnist-engine --version`, `detect` and `info` on the real MNIST
test set (10k), each paired with the floor (benchmarks/floor_count_labels.py: gunzip the two files
and count the labels in plain Python), A B A B ..., median of the pairs' ratios and of each side's
wall and CPU seconds. Byte code is cached first (a user's install has it).

    python3 benchmarks/bench_cli.py [--pairs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import MNIST_DATA, ROOT, require_real_data

FLOOR = [sys.executable, str(ROOT / "benchmarks" / "floor_count_labels.py")]
ENGINE = [sys.executable, "-m", "engine"]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `command` as a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def paired(a: list[str], b: list[str], pairs: int, env: dict[str, str]) -> dict[str, float]:
    timed(a, env), timed(b, env)  # warm-up: byte code written, files in the page cache
    runs = [(timed(a, env), timed(b, env)) for _ in range(pairs)]
    return {
        "wall": statistics.median(x[0] for x, _ in runs),
        "cpu": statistics.median(x[1] for x, _ in runs),
        "floor wall": statistics.median(y[0] for _, y in runs),
        "ratio wall": statistics.median(x[0] / y[0] for x, y in runs),
        "ratio cpu": statistics.median(x[1] / y[1] for x, y in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    images = MNIST_DATA / "t10k-images-idx3-ubyte.gz"
    labels = MNIST_DATA / "t10k-labels-idx1-ubyte.gz"
    require_real_data("bench_cli", images, labels)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for file in (images, labels):
            (folder / file.name).symlink_to(file)
        floor = [*FLOOR, str(folder)]
        print(
            f"{'command':28} {'wall s':>7} {'cpu s':>7} {'floor s':>8} {'wall x':>7} {'cpu x':>6}"
        )
        for words in (["--version"], ["detect", str(folder)], ["info", str(folder)]):
            got = paired([*ENGINE, *words], floor, args.pairs, env)
            name = " ".join(words[:1])
            print(
                f"mnist-engine {name:15} {got['wall']:7.3f} {got['cpu']:7.3f} "
                f"{got['floor wall']:8.3f} {got['ratio wall']:7.2f} {got['ratio cpu']:6.2f}"
            )


if __name__ == "__main__":
    main()
