"""`dedup PATH`: exact and near-duplicate images within and across subsets (train/test leakage),
with counts per subset pair, the pairs, and a contact sheet of the closest pairs (--sheet)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.commands import info
from engine.cli.commands._common import (
    add_input_format,
    add_scheduler_argument,
    input_paths,
    no_extra,
    read_input_of,
)
from engine.compute import progress
from engine.errors import OutputExistsError, UsageError
from engine.io.atomic_file import write_file_atomically
from engine.ops.duplicate_flags import add_duplicate_flags, check_duplicate_flags
from engine.ops.duplicates import DuplicatePair, DuplicateReport, find_duplicates

NAME = "dedup"
EXAMPLE = (
    "mnist-engine dedup ./mnist --sheet pairs.png\n"
    "         mnist-engine dedup ./mnist:mnist --threshold 0.05 --json\n"
    "         mnist-engine dedup ./mnist --no-near      (identical images only)"
)
#: pairs printed as text (all of them go into --json)
SHOWN = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        help="dataset folder (PATH or PATH:FORMAT), one file of a subset, or a project folder",
    )
    add_input_format(parser)
    add_duplicate_flags(parser, optional_search=False)
    parser.add_argument(
        "-s", "--subset", action="append", metavar="NAME", help="only these subsets (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--sheet", metavar="FILE.png", help="draw the closest pairs side by side into this PNG"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --sheet file")
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    sheet = _sheet_path(args)
    check_duplicate_flags(args)
    dataset, format_name = read_input_of(args, args.path)
    for name in args.subset or []:
        if name not in dataset:
            raise UsageError(f"no subset {name!r}; subsets are {', '.join(dataset.subsets())}")
    with progress.task("looking for duplicates"):
        report = find_duplicates(
            dataset, near=args.near, threshold=args.threshold, subsets=args.subset
        )
    if sheet is not None:
        from engine.ops.duplicate_sheet import duplicate_sheet, sheet_png

        with progress.task("drawing the pairs"):
            title = f"{Path(args.path).name} ({format_name}, {len(dataset)} items)"
            picture = duplicate_sheet(dataset, report, title=title)
            write_file_atomically(sheet, sheet_png(picture))
    if args.json:
        print(json.dumps({"format": format_name, **report.to_dict()}, indent=2))
        return 0
    print(render(report))
    if sheet is not None and not args.quiet:
        print(f"wrote {sheet}")
    return 0


def _sheet_path(args: argparse.Namespace) -> Path | None:
    if not args.sheet:
        return None
    output = Path(args.sheet)
    if output.suffix.lower() != ".png":
        raise UsageError(f"{output}: the sheet is a PNG; name the file *.png")
    if output.exists() and not args.overwrite:
        raise UsageError(f"{output}: exists; pass --overwrite to replace it")
    for given in input_paths(args.path):  # a file written into a dataset would become its data
        folder = given.parent if given.is_file() else given
        if folder.resolve() in output.resolve().parents:
            raise OutputExistsError(f"{output}: lies inside the input {folder}; write it elsewhere")
    return output


def render(report: DuplicateReport) -> str:
    """Counts per subset pair, then the pairs (label-disagreeing ones apart), as text."""
    header = ["subsets", "exact", "near", "labels disagree"]
    rows = [
        [name, str(c["exact"]), str(c["near"]), str(c["disagree"])]
        for name, c in report.counts().items()
    ]
    totals = report.totals()
    search = f"near threshold {report.threshold:g}" if report.near else "identical images only"
    images = "" if report.with_images == report.items else f" ({report.with_images} with images)"
    lines = [
        f"{report.items} items{images} in {', '.join(report.subsets) or 'no subsets'}; {search}",
        f"method: {report.method}",
        *info.table(header, rows, left=1, total=False),
        f"{totals['exact']} exact and {totals['near']} near pairs; {totals['leaked']} across "
        f"subsets; {totals['disagree']} with labels that disagree",
    ]
    disagree = report.label_disagreements
    agree = [p for p in report.pairs if not p.label_disagrees]
    if disagree:
        lines += ["", "labels disagree (a label error or an ambiguous digit):"]
        lines += [_line(p) for p in disagree[:SHOWN]]
        lines += _more(len(disagree))
    if agree:
        lines += ["", "pairs (exact first, then closest):"]
        lines += [_line(p) for p in agree[:SHOWN]]
        lines += _more(len(agree))
    return "\n".join(lines)


def _line(pair: DuplicatePair) -> str:
    def side(subset: str, item: str, label: int | None) -> str:
        return f"{subset}:{item} [{'-' if label is None else label}]"

    return (
        f"  {pair.kind:5} {pair.distance:.3f}  {side(pair.subset_a, pair.id_a, pair.label_a)}"
        f"  =  {side(pair.subset_b, pair.id_b, pair.label_b)}"
    )


def _more(count: int) -> list[str]:
    return [f"  ... {count - SHOWN} more (--json lists all)"] if count > SHOWN else []
