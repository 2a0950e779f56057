"""`stats PATH`: the info table, plus pixel mean/std per subset and the image size histogram."""

from __future__ import annotations

import argparse
import json
from collections import Counter

from engine.cli.commands import info
from engine.cli.commands._common import (
    add_input_format,
    add_scheduler_argument,
    no_extra,
    read_input_of,
)
from engine.compute.progress import Progress
from engine.ops.stats import PixelStats, size_histogram, subset_pixel_stats

NAME = "stats"
EXAMPLE = "mnist-engine stats samples/mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        help="dataset folder (PATH or PATH:FORMAT), one file of a subset, or a project folder "
        "(default: here, as Datumaro's commands read the project they run in)",
    )
    add_input_format(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    dataset, format_name = read_input_of(args, args.path)
    overall = PixelStats()
    figures = {}
    with Progress(len(dataset), "computing pixel statistics") as bar:
        for name, subset in dataset.subsets().items():
            stats = subset_pixel_stats(subset, [overall], progress=bar)
            figures[name] = _figures(stats, len(subset), size_histogram(subset))
    if len(figures) > 1:
        sizes: Counter[str] = Counter()
        for subset in dataset.subsets().values():
            sizes.update(size_histogram(subset))
        figures["all"] = _figures(overall, len(dataset), sizes)
    if args.json:
        print(json.dumps({"format": format_name, "subsets": figures}, indent=2))
        return 0
    print(info.render(dataset, format_name))
    print()
    print(_pixel_table(figures, overall))
    print()
    print(_size_table(figures))
    return 0


def _figures(stats: PixelStats, items: int, sizes) -> dict:
    pairs = stats.mean_std() if stats.count else []
    return {
        "items": items,
        "pixels": stats.count,
        "scale": stats.scale,
        "mean": [m for m, _ in pairs],
        "std": [s for _, s in pairs],
        "sizes": dict(sizes.most_common()),
    }


def _pixel_table(figures: dict, overall: PixelStats) -> str:
    scale = f" (pixels / {overall.scale:g})" if overall.scale and overall.scale != 1 else ""
    header = ["subset", "items", "mean", "std"]
    rows = []
    for name, entry in figures.items():
        mean = " ".join(f"{m:.4f}" for m in entry["mean"]) or "-"
        std = " ".join(f"{s:.4f}" for s in entry["std"]) or "-"
        rows.append([name, str(entry["items"]), mean, std])
    lines = [f"pixel mean and std{scale}", *info.table(header, rows, left=1, total=False)]
    return "\n".join(lines)


def _size_table(figures: dict) -> str:
    header = ["subset", "size", "items"]
    rows = [
        [name, size, str(count)]
        for name, entry in figures.items()
        for size, count in entry["sizes"].items()
    ]
    return "\n".join(["image sizes", *info.table(header, rows, left=1, total=False)])
