"""`export`: writes a project's merged sources in a format (exporter options after --)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    add_card_argument,
    add_filter_arguments,
    add_scheduler_argument,
    apply_filter,
    default_output,
    exporter_options,
    formats_help,
    summary,
    write_output,
)
from engine.project import Project

NAME = "export"
EXAMPLE = "mnist-engine export -p my-project -f mnist -o out -- --save-media"
EXPORTER_OPTIONS = True


def more_help() -> str:
    return formats_help() + "\n\nexporter options of a format: -f FMT -- -h"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--project", default=".", metavar="DIR", help="project folder (default: here)"
    )
    parser.add_argument("-f", "--format", required=True, metavar="FMT", help="format to write")
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="folder to write (default: <project-name>-<format>, then .1, .2 ...)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    add_filter_arguments(parser)
    add_card_argument(parser)
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    options = exporter_options(args.format, args.extra)
    project = Project.open(args.project)
    dataset = apply_filter(project.dataset(), args.filter, args.filter_mode)
    output = Path(args.output_dir) if args.output_dir else default_output(args.project, args.format)
    write_output(
        dataset,
        args.format,
        output,
        options,
        args.overwrite,
        project.source_paths(),
        card=args.card,
    )
    if not args.quiet:
        print(f"exported {summary(dataset)} as {args.format}: {output}")
    return 0
