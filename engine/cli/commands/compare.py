"""`compare A B` (alias `diff`): items only in one, label and pixel differences by id; a summary
table (or `--json`); exit 1 when the datasets differ."""

from __future__ import annotations

import argparse
import json

from engine.cli.commands._common import no_extra, read_input
from engine.cli.commands.info import table
from engine.ops.compare import Comparison, compare_datasets

NAME = "compare"
ALIASES = ["diff"]
HELP = "compare two datasets item by item (exit 1 when they differ)"
EXAMPLE = "mnist-engine compare ./mnist ./mnist-copy:mnist_csv --json"
EXIT_DIFFER = 1
#: differences listed per kind in the table when --limit is not given
TABLE_LIMIT = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", metavar="A", help="a dataset (PATH or PATH:FORMAT) or project")
    parser.add_argument("second", metavar="B", help="the dataset to compare it with")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="differences listed per kind (default: 10 in the table, all with --json; 0: all); "
        "the JSON's `counts` give the full numbers",
    )


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    a, format_a = read_input(args.first, None)
    b, format_b = read_input(args.second, None)
    result = compare_datasets(a, b)
    if args.json:
        report = result.to_dict(limit=args.limit or None)
        print(json.dumps({"a": format_a, "b": format_b, **report}, indent=2))
    else:
        limit = TABLE_LIMIT if args.limit is None else args.limit
        print(render(result, args.first, args.second, limit))
    return 0 if result.equal else EXIT_DIFFER


def render(result: Comparison, name_a: str, name_b: str, limit: int) -> str:
    """The summary table, then the first `limit` differences of each kind."""
    rows = [
        ["items in both", str(result.matched)],
        [f"only in A ({name_a})", str(len(result.only_in_a))],
        [f"only in B ({name_b})", str(len(result.only_in_b))],
        ["label differences", str(len(result.label_differences))],
        ["image differences", str(len(result.image_differences))],
        ["class lists", "differ" if result.classes_differ else "same"],
    ]
    lines = table(["", "count"], rows, left=1, total=False)
    if result.classes_differ:
        lines += [
            "",
            f"classes of A: {list(result.classes_a)}",
            f"classes of B: {list(result.classes_b)}",
        ]
    shown = limit if limit > 0 else None
    sections = [
        ("only in A", [f"{s}/{i}" for s, i in result.only_in_a]),
        ("only in B", [f"{s}/{i}" for s, i in result.only_in_b]),
        (
            "labels differ",
            [
                f"{s}/{i}: {a or '(none)'} vs {b or '(none)'}"
                for s, i, a, b in result.label_differences
            ],
        ),
        ("images differ", [f"{s}/{i}: {d}" for s, i, d in result.image_differences]),
    ]
    for title, entries in sections:
        if entries:
            more = len(entries) - len(entries[:shown])
            lines += ["", f"{title}:", *(f"  {e}" for e in entries[:shown])]
            if more:
                lines.append(f"  ... and {more} more")
    lines += ["", "equal" if result.equal else "the datasets differ"]
    return "\n".join(lines)


def _labels(names: list[str]) -> str:
    return ", ".join(names) if names else "(no label)"
