"""`create`: makes an empty project (a folder with project.toml listing sources)."""

from __future__ import annotations

import argparse

from engine.cli.commands._common import no_extra
from engine.project import Project

NAME = "create"
HELP = "create a project: a folder whose project.toml lists datasets to merge and export"
EXAMPLE = "mnist-engine create -o my-project"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output-dir", default=".", metavar="DIR", help="project folder (default: here)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing project")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    project = Project.create(args.output_dir, overwrite=args.overwrite)
    if not args.quiet:
        print(f"created project {project.config_path}")
    return 0
