"""`sources`: lists a project's sources, or removes one."""

from __future__ import annotations

import argparse

from engine.cli.commands._common import no_extra
from engine.project import Project

NAME = "sources"
HELP = "list a project's sources (name, format, path), or remove one with --remove"
EXAMPLE = "mnist-engine sources -p my-project --remove digits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--project", default=".", metavar="DIR", help="project folder (default: here)"
    )
    parser.add_argument("--remove", metavar="NAME", help="remove the source of this name")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    project = Project.open(args.project)
    if args.remove:
        source = project.remove_source(args.remove)
        if not args.quiet:
            print(f"removed source {source.name!r} ({source.format}, {source.path})")
        return 0
    for source in project.sources:
        print(f"{source.name}\t{source.format}\t{source.path}")
    return 0
