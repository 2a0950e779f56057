"""`info PATH`: format, subsets, item counts, class names and per-class counts."""

from __future__ import annotations

import argparse
import json

import numpy as np

from engine.cli.commands._common import add_input_format, no_extra, read_input_of
from engine.model import NO_LABEL, Dataset
from engine.model.lineage import Lineage
from engine.ops.card import render_lineage

NAME = "info"
EXAMPLE = "mnist-engine info samples/mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        help="dataset folder (PATH or PATH:FORMAT), one file of a subset, or a project folder "
        "(default: here, as Datumaro's commands read the project they run in)",
    )
    add_input_format(parser, "-f", "--format")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    dataset, format_name = read_input_of(args, args.path)
    recorded = recorded_histories(dataset)
    if args.json:
        report = as_dict(dataset, format_name)
        if recorded:
            report["provenance"] = [history.to_dict() for history in recorded]
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(render(dataset, format_name))
        if recorded:
            print("\nProvenance (recorded in the dataset card)")
            for history in recorded:
                print("\n".join(render_lineage(history, "  ")))
    return 0


def recorded_histories(dataset: Dataset) -> list[Lineage]:
    """The provenance the dataset cards of the folders read recorded (none without a card)."""
    return [s.history for s in dataset.lineage.sources if s.history is not None]


def as_dict(dataset: Dataset, format_name: str) -> dict:
    """The info report as plain data: per subset its size and per-class counts."""
    counts = class_counts(dataset)
    names = list(dataset.categories)
    return {
        "format": format_name,
        "items": len(dataset),
        "classes": names,
        "info": {key: str(value) for key, value in dataset.info.items()},
        "subsets": {
            name: {
                "items": len(subset),
                "class_counts": {
                    (names[i] if i < len(names) else f"#{i}"): int(count)
                    for i, count in enumerate(counts[name][:-1])
                },
                "unlabeled": int(counts[name][-1]),
            }
            for name, subset in dataset.subsets().items()
        },
    }


def class_counts(dataset: Dataset) -> dict[str, np.ndarray]:
    """Per subset, the number of items of each class (last entry: items without a label)."""
    width = len(dataset.categories)
    counts = {}
    for name, subset in dataset.subsets().items():
        labels = np.asarray(subset.labels)
        labelled = labels[labels != NO_LABEL]
        width = max(width, int(labelled.max()) + 1 if len(labelled) else 0)
        counts[name] = labels
    return {
        name: np.append(
            np.bincount(labels[labels != NO_LABEL], minlength=width),
            np.count_nonzero(labels == NO_LABEL),
        )
        for name, labels in counts.items()
    }


def render(dataset: Dataset, format_name: str) -> str:
    """The info report as text: a summary, then a table of classes by subset."""
    subsets = dataset.subsets()
    lines = [
        f"format:  {format_name}",
        f"items:   {len(dataset)}",
        "subsets: " + ", ".join(f"{name} ({len(s)})" for name, s in subsets.items()),
        f"classes: {len(dataset.categories)}",
        "",
    ]
    counts = class_counts(dataset)
    names = list(dataset.categories)
    width = max((len(c) for c in counts.values()), default=1) - 1
    names += [f"#{i}" for i in range(len(names), width)]
    header = ["label", "class", *subsets]
    rows = []
    for index, name in enumerate(names):
        rows.append([str(index), name, *(str(counts[s][index]) for s in subsets)])
    unlabeled = [str(counts[s][-1]) for s in subsets]
    if any(value != "0" for value in unlabeled):
        rows.append(["-", "(no label)", *unlabeled])
    rows.append(["", "total", *(str(len(s)) for s in subsets.values())])
    lines += table(header, rows)
    return "\n".join(lines)


def table(
    header: list[str], rows: list[list[str]], left: int = 2, *, total: bool = True
) -> list[str]:
    """A text table: the first `left` columns left-aligned, the rest right-aligned; with `total`
    the last row is set apart as a total."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        cells = [
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    if not total:
        return [fmt(header), rule, *(fmt(r) for r in rows)]
    return [fmt(header), rule, *(fmt(r) for r in rows[:-1]), rule, fmt(rows[-1])]
