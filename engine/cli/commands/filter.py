"""`filter`: filters a dataset in place (Datumaro's `--overwrite DATASET`) or into -o DIR, or
records a filter in a project (applied on export)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    PROJECT,
    add_card_argument,
    add_input_format,
    add_scheduler_argument,
    apply_filter,
    exporter_options,
    in_place_output,
    input_paths,
    is_project,
    read_input_of,
    summary,
    write_output,
)
from engine.errors import UsageError
from engine.ops.filters import MODES, Filter
from engine.project import CONFIG_NAME, Project, ProjectFilter

NAME = "filter"
EXAMPLE = (
    "mnist-engine filter -e '/item[annotation/label=\"3\"]' --overwrite ./mnist:mnist   "
    "(in place, as Datumaro)\n"
    "         mnist-engine filter ./mnist -e '/item/annotation[label=\"3\"]' -m i+a -o threes\n"
    "         mnist-engine filter -p my-project -e '/item[subset=\"test\"]'   (recorded)"
)
EXPORTER_OPTIONS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        help="the dataset to filter (PATH or PATH:FORMAT), a project folder, or with -p a "
        "source name (default: all sources)",
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
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="write the filtered dataset here (default for a dataset: in place, with --overwrite)",
    )
    add_input_format(parser)
    parser.add_argument("-f", "--output-format", metavar="FMT", help="format to write")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty folder; without -o: filter the dataset in place",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="only report how many items would be kept"
    )
    add_card_argument(parser)
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    if args.output_dir or (args.target and not args.project and _names_a_dataset(args.target)):
        return _filter_dataset(args)
    if args.extra:
        raise UsageError("exporter options after '--' go with -o DIR (or to `export`)")
    project_dir = args.project or "."
    source = args.target or ""
    if args.target and not args.project and is_project(args.target):
        project_dir, source = args.target, ""  # a project folder named as the target
    project = Project.open(project_dir)
    Filter(args.filter)
    if args.dry_run:
        project.filters.append(ProjectFilter(args.filter, MODES[args.filter_mode], source))
        dataset = project.dataset()
        print(f"the project would keep {summary(dataset)}")
        return 0
    entry = project.add_filter(args.filter, args.filter_mode, source)
    if not args.quiet:
        scope = f"source {entry.source!r}" if entry.source else "all sources"
        print(f"recorded filter {entry.expression} ({entry.mode}) for {scope}")
    return 0


def _names_a_dataset(target: str) -> bool:
    """Whether `target` is a dataset (a path that is not a project, or a source name of the
    project here): Datumaro's `filter ... DATASET` filters that dataset."""
    if is_project(target):
        return False
    here = Path.cwd() / CONFIG_NAME  # a source name of the project here names that source
    return not (here.is_file() and target in {s.name for s in Project.open(".").sources})


def _filter_dataset(args: argparse.Namespace) -> int:
    if not args.target:
        raise UsageError("name the dataset to filter: mnist-engine filter PATH -e EXPR -o DIR")
    if args.project:
        raise UsageError("-p and -o do not go together: -o filters a dataset, -p a project")
    output = None
    if not args.dry_run:  # an in-place edit without --overwrite is refused before reading
        output = Path(args.output_dir) if args.output_dir else in_place_output(args)
    dataset, input_format = read_input_of(args, args.target)
    output_format = args.output_format or input_format
    if output_format == PROJECT:
        raise UsageError("filtering a project into -o DIR needs -f FMT, the format to write")
    options = exporter_options(output_format, args.extra)
    kept = apply_filter(dataset, args.filter, args.filter_mode)
    if output is None:
        print(f"would keep {summary(kept)} of {len(dataset)}")
        return 0
    write_output(
        kept,
        output_format,
        output,
        options,
        args.overwrite,
        input_paths(args.target),
        card=args.card,
    )
    if not args.quiet:
        where = ", in place" if not args.output_dir else ""
        print(f"kept {summary(kept)} of {len(dataset)}: {output} ({output_format}{where})")
    return 0
