"""Filter speed over 70,000 items: vectorised XPath predicates against a Python lambda and the
lxml per-item fallback, measured side by side in one run (median of N runs).

Builds the items from the real MNIST test set in ../shared/data/mnist: 10,000 images tiled 7x,
as subsets train (60,000) and test (10,000). Target: each vectorised predicate <= 0.1 s.

    python3 benchmarks/bench_filter.py [--runs 5] [--data ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import MNIST_DATA, median_time, require_real_data

import engine
from engine import Dataset
from engine.model import Subset
from engine.ops.filters import Filter

TARGET = 0.1
EXPRESSIONS = [
    '/item[annotation/label="3"]',
    "/item[annotation/label_id >= 5]",
    '/item[subset="train"]',
    "/item[id < 2]",
    "/item[not(annotation)]",
    "/item[image/width < image/height]",
    '/item[annotation/label="3" and subset="test"]',
    '/item/annotation[label="3"]',
]


def build(data: Path) -> Dataset:
    """70,000 items: the real test set tiled 7x, split 60,000 / 10,000 like MNIST."""
    test = engine.load("mnist", data, subset="test")["test"]
    images = np.concatenate([test.images] * 7)
    labels = np.concatenate([test.labels] * 7)
    return Dataset(
        [
            Subset("train", labels[:60000], images[:60000]),
            Subset("test", labels[60000:], images[60000:]),
        ],
        [str(d) for d in range(10)],
    )


def select_all(compiled: Filter, dataset: Dataset) -> int:
    return sum(
        int(compiled.select(s, dataset.categories)[0].sum()) for s in dataset.subsets().values()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=MNIST_DATA)
    args = parser.parse_args()
    require_real_data("bench_filter", args.data / "t10k-images-idx3-ubyte.gz")
    dataset = build(args.data)
    print(f"{len(dataset)} items, median of {args.runs} runs\n")
    print(f"{'expression':48} {'select':>9} {'filter()':>9} {'kept':>7}  vectorised")
    worst = 0.0
    for expression in EXPRESSIONS:
        compiled = Filter(expression)
        kept = select_all(compiled, dataset)
        select = median_time(lambda c=compiled: select_all(c, dataset), args.runs)
        mode = "annotations" if "/annotation[" in expression else "items"
        whole = median_time(lambda e=expression, m=mode: dataset.clone().filter(e, m), args.runs)
        worst = max(worst, select)
        print(f"{expression:48} {select:8.4f}s {whole:8.4f}s {kept:7}  {compiled.vectorised}")

    expression = '/item[annotation/label="3"]'
    vectorised = median_time(lambda: dataset.clone().filter(expression), args.runs)
    by_lambda = median_time(
        lambda: dataset.clone().filter(lambda item: item.label == 3), max(1, args.runs // 2)
    )
    reference = Filter(expression)
    reference.tree = None  # force the lxml per-item path on the 10,000 test items
    test = dataset["test"]
    start = time.perf_counter()
    lxml_kept = int(reference.select(test, dataset.categories)[0].sum())
    by_lxml = (time.perf_counter() - start) * len(dataset) / len(test)
    assert lxml_kept == int((test.labels == 3).sum())
    print(f"\n{expression} over {len(dataset)} items, whole Dataset.filter (on a clone):")
    print(f"  vectorised            {vectorised:8.4f}s")
    print(f"  Python lambda         {by_lambda:8.4f}s   ({by_lambda / vectorised:6.0f}x slower)")
    print(f"  lxml per item (est.)  {by_lxml:8.4f}s   ({by_lxml / vectorised:6.0f}x slower)")
    verdict = "met" if worst <= TARGET else "MISSED"
    print(f"\nslowest vectorised select {worst:.4f}s, target <= {TARGET} s: {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
