"""`verify PATH`: compares each file with the files the publishers released (MD5 of the file, and
of its uncompressed content when the spec knows it)."""

from __future__ import annotations

import argparse

from engine.api import verify
from engine.cli.commands._common import no_extra
from engine.ops.verify import DIFFERS, UNVERIFIABLE

NAME = "verify"
HELP = "check files against the published ones (exit 1 when one differs or cannot be verified)"
EXAMPLE = "mnist-engine verify path/to/mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a dataset folder, or one file")
    parser.add_argument("-f", "--format", help="compare only with this format's published files")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    checks = verify(args.path, args.format)
    for check in checks:
        print(check)
    if not checks:
        print(f"{args.path}: no files")
    failed = [check for check in checks if check.status in (DIFFERS, UNVERIFIABLE)]
    return 1 if failed else 0
