"""`formats`: the formats the registry holds, with each spec's one-line description."""

from __future__ import annotations

import argparse

from engine.cli.commands._common import no_extra
from engine.cli.exporter_options import describe_options
from engine.registry import all_formats

NAME = "formats"
HELP = "list the formats this installation reads and writes"
EXAMPLE = "mnist-engine formats --options"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--options", action="store_true", help="also list each format's exporter options"
    )


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    known = all_formats()
    width = max((len(fmt.name) for fmt in known), default=0)
    for fmt in known:
        print(f"{fmt.name.ljust(width)}  {fmt.description}")
        if args.options:
            for line in describe_options(fmt):
                print(f"{'':{width}}    {line}")
    return 0
