"""`validate PATH`: every constraint of the format, the dataset's own consistency and the
published checksums; prints each problem and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import json

from engine.api import load
from engine.cli.commands._common import (
    add_input_format,
    existing_path,
    no_extra,
    split_target,
    summary,
)
from engine.compute import progress
from engine.errors import FormatError, UsageError
from engine.ops.checks import Report, dataset_consistency, format_constraints, published_checksums
from engine.registry import formats, get_format
from engine.registry.loading import detect_best

NAME = "validate"
HELP = "check a dataset against its format (and others), its classes and published checksums"
EXAMPLE = "mnist-engine validate ./mnist -t classification --official --as mnist_csv"
EXIT_FAILED = 1
#: Datumaro's task types; every MNIST-family dataset is a classification dataset
TASKS = ("classification",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", help="dataset folder, or one file of a subset (PATH or PATH:FORMAT)"
    )
    add_input_format(parser, skip_broken=False)
    parser.add_argument(
        "-t",
        "--task-type",
        metavar="TASK",
        help="Datumaro's task flag: classification (the task of every format here). "
        "A format name is still taken as --as FMT, as before",
    )
    parser.add_argument(
        "--as",
        "--target-format",
        dest="target_format",
        action="append",
        default=[],
        metavar="FMT",
        help="also check the dataset could be written in FMT (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--official",
        action="store_true",
        help="the files must be the published ones: checksum mismatches and missing files fail",
    )


def _task_or_format(args: argparse.Namespace) -> None:
    """`-t classification` is Datumaro's task; `-t FMT` (our former flag) adds a target format."""
    task = args.task_type
    if task is None or task in TASKS:
        return
    if task in formats():
        args.target_format.append(task)
        args.task_type = None
        return
    raise UsageError(
        f"-t {task}: not a task type ({', '.join(TASKS)}) nor a format; "
        "formats to check against go with --as FMT"
    )


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    _task_or_format(args)
    given, named = split_target(args.path)
    path = existing_path(given)
    options = {}
    chosen = args.input_format or named
    if chosen:
        format_name = get_format(chosen).name
    else:
        best = detect_best(path)
        format_name, options = best.format, dict(best.options)  # e.g. a detected split
    fmt = get_format(format_name)
    targets = [get_format(name) for name in args.target_format]
    report = Report()
    dataset = None
    try:
        with progress.task(f"reading {format_name} from {path}"):
            dataset = load(format_name, path, **options)
    except FormatError as error:
        report.problems.append(str(error))
    if dataset is not None:
        with progress.task("checking"):
            report.extend(format_constraints(dataset, fmt))
            for target in targets:
                found = format_constraints(dataset, target)
                report.problems += [f"as {target.name}: {p}" for p in found.problems]
            report.extend(dataset_consistency(dataset))
    with progress.task("comparing checksums"):
        report.extend(published_checksums(path, fmt, required=args.official))
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(path),
                    "format": format_name,
                    "task": args.task_type or "classification",
                    "valid": not report.problems,
                    "problems": report.problems,
                    "notes": report.notes,
                    "items": len(dataset) if dataset is not None else None,
                },
                indent=2,
            )
        )
        return EXIT_FAILED if report.problems else 0
    for problem in report.problems:
        print(f"problem: {problem}")
    if not args.quiet:
        for note in report.notes:
            print(f"note: {note}")
    if report.problems:
        count = len(report.problems)
        print(f"{path}: {count} problem{'s' if count > 1 else ''} ({format_name})")
        return EXIT_FAILED
    assert dataset is not None  # a failed load is one of the problems above
    if not args.quiet:
        print(f"{path}: valid {format_name}, {summary(dataset)}")
    return 0
