"""`verify PATH`: compares each file with the files the publishers released (MD5 of the file, and
of its uncompressed content when the spec knows it)."""

from __future__ import annotations

import argparse
import dataclasses
import json

from engine.api import verify
from engine.cli.commands._common import existing_path, no_extra, split_target
from engine.errors import UsageError
from engine.ops.verify import DIFFERS, MISSING, UNVERIFIABLE

NAME = "verify"
EXAMPLE = "mnist-engine verify samples/mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a dataset folder, or one file (PATH or PATH:FORMAT)")
    parser.add_argument("-f", "--format", help="compare only with this format's published files")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    path, named = split_target(args.path)  # Datumaro's PATH:FORMAT names the format, as -f does
    if named and args.format and named.lower() != args.format.lower():
        raise UsageError(f"{args.path}: names format {named}, but -f names {args.format}")
    checks = verify(existing_path(path), args.format or named)
    failed = [check for check in checks if check.status in (DIFFERS, UNVERIFIABLE, MISSING)]
    if args.json:
        entries = [
            {key: _plain(value) for key, value in dataclasses.asdict(check).items()}
            for check in checks
        ]
        print(json.dumps({"ok": not failed, "files": entries}, indent=2))
        return 1 if failed else 0
    for check in checks:
        print(check)
    if not checks:
        print(f"{args.path}: no files")
    return 1 if failed else 0


def _plain(value: object) -> object:
    """A JSON-ready value (paths as text)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
