"""`import`: adds a dataset to a project as a named source."""

from __future__ import annotations

import argparse

from engine.api import detect_one
from engine.cli.commands._common import no_extra, split_target
from engine.project import Project
from engine.registry import get_format

NAME = "import"
HELP = "add a dataset to a project as a source (name, format, path)"
EXAMPLE = "mnist-engine import -p my-project -f mnist -n digits ./mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--project", default=".", metavar="DIR", help="project folder (default: here)"
    )
    parser.add_argument(
        "-f", "--format", metavar="FMT", help="format of the dataset (detected when omitted)"
    )
    parser.add_argument("-n", "--name", help="source name (default: the dataset folder's name)")
    parser.add_argument(
        "path", help="dataset folder, or one file of a subset (PATH or PATH:FORMAT)"
    )


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    project = Project.open(args.project)
    path, named = split_target(args.path)
    given = args.format or named
    format_name = get_format(given).name if given else detect_one(path)
    source = project.add_source(path, format_name, args.name)
    if not args.quiet:
        print(f"imported {source.path} as source {source.name!r} ({source.format})")
    return 0
