"""`filter`: records a filter in a project, or writes a filtered copy of a dataset with -o."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    PROJECT,
    add_input_format,
    add_scheduler_argument,
    apply_filter,
    exporter_options,
    read_input_of,
    summary,
    write_output,
)
from engine.errors import UsageError
from engine.ops.filters import MODES, Filter
from engine.project import Project

NAME = "filter"
HELP = (
    "filter a project's sources (recorded in project.toml, applied on export), "
    "or a dataset into -o DIR"
)
EXAMPLE = (
    "mnist-engine filter -p my-project -e '/item[subset=\"test\"]'   |   "
    "mnist-engine filter ./mnist -e '/item/annotation[label=\"3\"]' -m i+a -o threes"
)
EXPORTER_OPTIONS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        help="with -p: a source name (default: all sources); with -o: the dataset to filter",
    )
    parser.add_argument("-e", "--filter", required=True, metavar="EXPR", help="XPath filter")
    parser.add_argument(
        "-m",
        "--mode",
        "--filter-mode",
        dest="filter_mode",
        default="items",
        choices=list(MODES),
        metavar="MODE",
        help="items, annotations or items+annotations (i, a, i+a); default items",
    )
    parser.add_argument(
        "-p", "--project", metavar="DIR", help="project folder (default: here, without -o)"
    )
    parser.add_argument("-o", "--output-dir", metavar="DIR", help="write the filtered dataset here")
    add_input_format(parser)
    parser.add_argument("-f", "--output-format", metavar="FMT", help="format to write (with -o)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    parser.add_argument(
        "--dry-run", action="store_true", help="only report how many items would be kept"
    )
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    if args.output_dir or (args.dry_run and args.target and not args.project):
        return _filter_dataset(args)
    if args.extra:
        raise UsageError("exporter options after '--' go with -o DIR (or to `export`)")
    project = Project.open(args.project or ".")
    Filter(args.filter)
    if args.dry_run:
        project.filters.append(_entry(args))
        dataset = project.dataset()
        print(f"the project would keep {summary(dataset)}")
        return 0
    entry = project.add_filter(args.filter, args.filter_mode, args.target or "")
    if not args.quiet:
        scope = f"source {entry.source!r}" if entry.source else "all sources"
        print(f"recorded filter {entry.expression} ({entry.mode}) for {scope}")
    return 0


def _entry(args):
    from engine.project import ProjectFilter

    return ProjectFilter(args.filter, MODES[args.filter_mode], args.target or "")


def _filter_dataset(args: argparse.Namespace) -> int:
    if not args.target:
        raise UsageError("name the dataset to filter: mnist-engine filter PATH -e EXPR -o DIR")
    if args.project:
        raise UsageError("-p and -o do not go together: -o filters a dataset, -p a project")
    dataset, input_format = read_input_of(args, args.target)
    output_format = args.output_format or input_format
    if output_format == PROJECT:
        raise UsageError("filtering a project into -o DIR needs -f FMT, the format to write")
    options = exporter_options(output_format, args.extra)
    kept = apply_filter(dataset, args.filter, args.filter_mode)
    if args.dry_run:
        print(f"would keep {summary(kept)} of {len(dataset)}")
        return 0
    write_output(kept, output_format, Path(args.output_dir), options, args.overwrite, [args.target])
    if not args.quiet:
        print(f"kept {summary(kept)} of {len(dataset)}: {args.output_dir} ({output_format})")
    return 0
