"""`validate PATH`: every constraint of the format, the dataset's own consistency and the
published checksums (exit 1 on any problem), and the data's quality: class balance, unlabeled,
blank, faint or inverted images, values out of range, repeated ids, duplicates and leakage
(exit 1 when a rule of ``--fail-on`` fails). A shell over ``engine.validate``.
"""

from __future__ import annotations

import argparse
import json

from engine.api import load
from engine.cli.commands import info
from engine.cli.commands._common import (
    add_input_format,
    existing_path,
    is_project,
    no_extra,
    read_input,
    split_target,
    summary,
)
from engine.compute import progress
from engine.errors import FormatError, UsageError
from engine.format.protocol import Format
from engine.inspection import validate
from engine.model import Dataset
from engine.ops.checks import published_checksums
from engine.ops.duplicate_flags import add_duplicate_flags, check_duplicate_flags
from engine.ops.quality import RULES, QualityReport, Rule, parse_rules
from engine.registry import formats, get_format
from engine.registry.loading import detect_best

NAME = "validate"
EXAMPLE = (
    "mnist-engine validate ./mnist -t classification --official --as mnist_csv\n"
    "         mnist-engine validate ./mnist --fail-on 'leakage,imbalance>3,unlabeled'\n\n"
    "rules of --fail-on (NAME fails above 0, NAME>NUMBER above NUMBER):\n  "
    + "\n  ".join(f"{name:10} {meaning}" for name, meaning in RULES.items())
)
EXIT_FAILED = 1
#: Datumaro's task types; every MNIST-family dataset is a classification dataset
TASKS = ("classification",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        help="dataset folder, one file of a subset (PATH or PATH:FORMAT), or a project folder "
        "(default: here, as Datumaro's validate reads the project it runs in)",
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
    parser.add_argument(
        "--fail-on",
        metavar="RULES",
        help="exit 1 when one of these quality rules fails, e.g. leakage,imbalance>3 (see below)",
    )
    add_duplicate_flags(parser, optional_search=True)


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
    if args.input_format is None and is_project(args.path):
        return _validate_project(args)
    given, named = split_target(args.path)
    path = existing_path(given)
    options = {}
    chosen = args.input_format or named
    if chosen:
        format_name = get_format(chosen).name
    else:
        best = detect_best(path)
        format_name, options = best.format, dict(best.options)  # e.g. a detected split
    rules = parse_rules(args.fail_on) if args.fail_on else []
    _check_duplicate_flags(args, rules)
    fmt = get_format(format_name)
    targets = [get_format(name) for name in args.target_format]
    report = QualityReport()
    dataset = None
    try:
        with progress.task(f"reading {format_name} from {path}"):
            dataset = load(format_name, path, **options)
    except FormatError as error:
        report.problems.append(str(error))
    if dataset is not None:
        report = _check_quality(args, dataset, fmt, targets)
    with progress.task("comparing checksums"):
        checksums = published_checksums(path, fmt, required=args.official)
        report.problems += checksums.problems
        report.notes += checksums.notes
    return _answer(args, str(path), format_name, dataset, report, rules)


def _validate_project(args: argparse.Namespace) -> int:
    """A project's dataset (its sources with its filters and transforms) checked for quality;
    the published checksums belong to each source's folder, where ``validate SOURCE`` compares
    them."""
    rules = parse_rules(args.fail_on) if args.fail_on else []
    _check_duplicate_flags(args, rules)
    if args.official:
        raise UsageError("--official compares a dataset folder's files: give a source's folder")
    dataset, format_name = read_input(args.path, None)
    targets = [get_format(name) for name in args.target_format]
    report = _check_quality(args, dataset, None, targets)
    return _answer(args, str(args.path), format_name, dataset, report, rules)


def _check_quality(
    args: argparse.Namespace, dataset: Dataset, fmt: Format | None, targets: list[Format]
) -> QualityReport:
    """The library's checks with the command line's duplicate-search flags."""
    with progress.task("checking"):
        return validate(
            dataset,
            fmt,
            targets=targets,
            duplicates=args.duplicates,
            near=args.near,
            threshold=args.threshold,
        )


def _answer(
    args: argparse.Namespace,
    path: str,
    format_name: str,
    dataset: Dataset | None,
    report: QualityReport,
    rules: list[Rule],
) -> int:
    """Print the report (a table or ``--json``) and give the exit code: 1 when a problem was
    found or a rule the user marked fails."""
    failed = report.failed(rules) if dataset is not None else []
    code = EXIT_FAILED if report.problems or failed else 0
    if args.json:
        _print_json(args, path, format_name, dataset, report, rules, failed)
        return code
    for problem in report.problems:
        print(f"problem: {problem}")
    if not args.quiet:
        for note in report.notes:
            print(f"note: {note}")
    if dataset is not None and not args.quiet:
        print(render(report))
    for rule in failed:
        print(f"failed: {rule}")
    if report.problems:
        count = len(report.problems)
        print(f"{path}: {count} problem{'s' if count > 1 else ''} ({format_name})")
    elif failed:
        print(f"{path}: {len(failed)} rule{'s' if len(failed) > 1 else ''} failed")
    elif dataset is not None and not args.quiet:
        print(f"{path}: valid {format_name}, {summary(dataset)}")
    return code


def _print_json(
    args: argparse.Namespace,
    path: str,
    format_name: str,
    dataset: Dataset | None,
    report: QualityReport,
    rules: list[Rule],
    failed: list[str],
) -> None:
    """The report as one JSON document (``quality`` is null when the dataset did not load)."""
    document = {
        "path": path,
        "format": format_name,
        "task": args.task_type or "classification",
        "valid": not report.problems,
        "problems": report.problems,
        "notes": report.notes,
        "items": len(dataset) if dataset is not None else None,
        "rules": [str(rule) for rule in rules],
        "failed_rules": failed,
        "quality": report.to_dict() if dataset is not None else None,
    }
    print(json.dumps(document, indent=2))


def _check_duplicate_flags(args: argparse.Namespace, rules: list[Rule]) -> None:
    check_duplicate_flags(args)
    needs = [r for r in rules if r.name in ("leakage", "duplicates", "exact", "near", "disagree")]
    if needs and not args.duplicates:
        raise UsageError(f"--fail-on {needs[0]}: needs the duplicate search; drop --no-duplicates")


def render(report: QualityReport) -> str:
    """The quality findings as one screen: a row per subset, then duplicates and ids."""
    header = ["subset", "items", "unlabeled", "imbalance", "blank", "faint", "inverted", "range"]
    header += ["ids"]
    rows = []
    for name, q in report.subsets.items():
        ratio = "-" if not q.items else ("inf" if q.imbalance is None else f"{q.imbalance:.2f}")
        rows.append(
            [
                name,
                str(q.items),
                str(q.unlabeled),
                ratio,
                str(q.blank + q.near_blank),
                str(q.faint),
                str(q.inverted),
                str(q.out_of_range),
                str(q.repeated_ids),
            ]
        )
    lines = ["quality", *info.table(header, rows, left=1, total=False)]
    for name, q in report.subsets.items():
        if q.items and q.classes:
            counts = " ".join(f"{c}:{n}" for c, n in q.classes.items())
            lines.append(f"{name} per class: {counts}")
    if report.ids_in_several_subsets:
        lines.append(f"{report.ids_in_several_subsets} ids are in several subsets")
    if report.duplicates is not None:
        totals = report.duplicates.totals()
        by_pair = ", ".join(
            f"{pair} {c['exact']}+{c['near']}"
            for pair, c in report.duplicates.counts().items()
            if c["exact"] or c["near"]
        )
        lines.append(
            f"duplicates: {totals['exact']} exact, {totals['near']} near "
            f"(threshold {report.duplicates.threshold:g}); {totals['leaked']} across subsets; "
            f"{totals['disagree']} with labels that disagree" + (f" [{by_pair}]" if by_pair else "")
        )
    return "\n".join(lines)
