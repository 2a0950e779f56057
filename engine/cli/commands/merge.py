"""`merge TARGET ...`: several datasets (or projects) into one output; classes united by name,
subsets joined by name, clashing ids renumbered with a warning (or refused: --no-renumber)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    PROJECT,
    add_card_argument,
    exporter_options,
    input_paths,
    read_input,
    summary,
    write_output,
)
from engine.compute import progress
from engine.errors import UsageError
from engine.ops.merge import MERGE_POLICIES, merge_by_policy
from engine.project import Project

NAME = "merge"
EXAMPLE = "mnist-engine merge ./mnist ./more:mnist_csv -o ./merged -f mnist -- --save-dataset-meta"
EXPORTER_OPTIONS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="a dataset (PATH or PATH:FORMAT) or a project folder; two or more in all",
    )
    parser.add_argument(
        "-p", "--project", metavar="DIR", help="a project whose dataset is merged first"
    )
    parser.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="folder to write")
    parser.add_argument(
        "-f", "--format", metavar="FMT", help="format to write (default: the first target's)"
    )
    parser.add_argument(
        "-m",
        "--merge-policy",
        choices=MERGE_POLICIES,
        default="union",
        help="union (default): every item of every target, classes united by name; exact: the "
        "class lists must match and no id may repeat; intersect: only the items every target "
        "holds, labels kept where all agree",
    )
    parser.add_argument(
        "--no-renumber",
        dest="renumber",
        action="store_false",
        help="refuse ids two targets share in one subset instead of renumbering them",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    add_card_argument(parser)


def run(args: argparse.Namespace) -> int:
    sources = []
    if args.project:
        sources.append((args.project, Project.open(args.project).dataset(), PROJECT))
    for target in args.targets:
        dataset, found = read_input(target, None)  # PATH, PATH:FORMAT or a project
        sources.append((target, dataset, found))
    if len(sources) < 2:
        raise UsageError("merge needs two or more targets (datasets or projects)")
    output_format = args.format or sources[0][2]
    if output_format == PROJECT:
        raise UsageError("the first target is a project: name the format to write with -f FMT")
    options = exporter_options(output_format, args.extra)
    with progress.task("merging"):  # renumbered ids are reported as a warning line
        merged = merge_by_policy(
            [(name, data) for name, data, _ in sources], args.merge_policy, renumber=args.renumber
        )
    inputs = [
        p
        for target in [*([args.project] if args.project else []), *args.targets]
        for p in input_paths(target)
    ]
    write_output(
        merged,
        output_format,
        Path(args.output_dir),
        options,
        args.overwrite,
        inputs,
        card=args.card,
    )
    if not args.quiet:
        print(
            f"merged {len(sources)} datasets: {summary(merged)}, {output_format}: {args.output_dir}"
        )
    return 0
