"""A local check with the real MNIST files (../shared/data, never committed) served on loopback:
the test files fetched with the declared mirrors' hashes, verified, loaded; then the Parquet
fallback: every declared mirror dead, a Hub-style Parquet copy of the real test set rebuilt
into IDX files by our writers and accepted only because their content MD5s equal the published.

Run: `python benchmarks/check_fetch_real.py` (stops with a message when the data is absent).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _common

import engine
from engine import fetching
from specs.mnist import SPEC
from specs.schema import ConvertedCopy, Mirror

DATA = _common.MNIST_DATA if _common.MNIST_DATA.exists() else Path("/work/shared/data/mnist")
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def main() -> None:
    files = [DATA / "t10k-images-idx3-ubyte.gz", DATA / "t10k-labels-idx1-ubyte.gz"]
    _common.require_real_data("check_fetch_real", *files)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    os.environ.clear()
    os.environ.update(env)
    work = Path(tempfile.mkdtemp(prefix="fetch-real-"))
    hub = work / "hub"
    served = work / "served"
    served.mkdir()
    for name in (
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ):
        if (DATA / name).exists():
            shutil.copyfile(DATA / name, served / name)
    bench = Path(__file__).with_name("bench_fetch.py")
    server = subprocess.Popen(
        [sys.executable, str(bench), "--serve", str(served)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/"  # type: ignore[union-attr]
        # 1. the declared hashes, a loopback mirror first (the declared ones are never reached)
        root, done = fetching.fetch_report("mnist", work / "mnist", subsets=["test"], mirrors=[url])
        for file in done:
            print(f"fetched {file.name}: {file.how}, {file.verdict} (from {file.source})")
        test = engine.load("mnist", root, subset="test").subsets()["test"]
        counts = [int(c) for c in __import__("numpy").bincount(test.labels, minlength=10)]
        assert counts == TEST_COUNTS, counts
        print(f"loaded {len(test)} test items; class counts as published: {counts}")
        if (served / "train-labels-idx1-ubyte.gz").exists():
            from engine.ops.fetch import judge

            known = [k for k in SPEC.known_files if k.name == "train-labels-idx1-ubyte.gz"]
            verdict = judge(served / "train-labels-idx1-ubyte.gz", known)[0]
            print(f"train-labels-idx1-ubyte.gz against the declared size + SHA-256: {verdict}")
        # 2. every mirror dead: the Hub-style Parquet copy, rebuilt, proven by content MD5
        engine.save(engine.load("mnist", root, subset="test"), "parquet", hub)
        parquet = next(hub.glob("test-*.parquet"))
        shutil.copyfile(parquet, served / parquet.name)
        assert SPEC.sources is not None
        copy = ConvertedCopy(format="parquet", subsets={"test": url + parquet.name}, note="hub")
        dead = SPEC.model_copy(
            update={
                "sources": SPEC.sources.model_copy(
                    update={"mirrors": (Mirror(url=url + "gone/"),), "converted": (copy,)}
                )
            }
        )
        fetching.spec_of = lambda name: dead  # type: ignore[assignment]
        root, done = fetching.fetch_report("mnist", work / "rebuilt", subsets=["test"])
        for file in done:
            print(f"parquet fallback {file.name}: {file.how}, {file.verdict}")
        assert all(f.how == "rebuilt" and f.verdict == "same_content" for f in done)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
