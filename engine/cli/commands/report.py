"""`report PATH -o report.html`: one self-contained HTML page about a dataset (info, classes per
subset, mean image and samples per class, quality findings, duplicate pairs); open it in any
browser, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    add_input_format,
    add_scheduler_argument,
    input_paths,
    no_extra,
    read_input_of,
)
from engine.compute import progress
from engine.errors import OutputExistsError, UsageError
from engine.inspection import report
from engine.ops.duplicate_flags import add_duplicate_flags, check_duplicate_flags

NAME = "report"
EXAMPLE = "mnist-engine report ./mnist -o mnist-report.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        help="dataset folder (PATH or PATH:FORMAT), one file of a subset, or a project folder",
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE.html", help="the page to write"
    )
    add_input_format(parser)
    parser.add_argument("--title", help="the page's title (default: the dataset folder's name)")
    add_duplicate_flags(parser, optional_search=True)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    output = Path(args.output)
    if output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"{output}: the report is an HTML page; name the file *.html")
    if output.exists() and not args.overwrite:
        raise UsageError(f"{output}: exists; pass --overwrite to replace it")
    check_duplicate_flags(args)
    for given in input_paths(args.path):  # a file written into a dataset would become its data
        folder = given.parent if given.is_file() else given
        if folder.resolve() in output.resolve().parents:
            raise OutputExistsError(f"{output}: lies inside the input {folder}; write it elsewhere")
    dataset, format_name = read_input_of(args, args.path)
    title = args.title or f"{Path(args.path.split(':')[0]).resolve().name} ({format_name})"
    with progress.task("writing the report"):
        report(
            dataset,
            output,
            title=title,
            format=None if format_name == "project" else format_name,
            duplicates=args.duplicates,
            near=args.near,
            threshold=args.threshold,
        )
    if not args.quiet:
        print(f"wrote {output} ({len(dataset)} items)")
    return 0
