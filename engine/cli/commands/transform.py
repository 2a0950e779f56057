"""`transform -t NAME`: applies a transform (Datumaro's names and options, after `--`) to a dataset,
in place (`--overwrite`, as Datumaro) or into -o DIR, or records it in a project (applied on
export)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    add_card_argument,
    add_input_format,
    exporter_options,
    in_place_output,
    input_paths,
    is_project,
    read_input,
    split_target,
    summary,
    write_output,
)
from engine.compute import progress
from engine.errors import UsageError
from engine.ops.transform_options import (
    check_transform_name,
    describe_transforms,
    parse_transform_options,
)
from engine.ops.transforms import transform
from engine.project import CONFIG_NAME, Project

NAME = "transform"
EXAMPLE = (
    "mnist-engine transform -t random_split -i ./mnist -o ./split -- "
    "--subset train:.8 --subset val:.2 --seed 1\n"
    "         mnist-engine transform -t reindex --overwrite ./mnist:mnist      (in place)\n"
    "         mnist-engine transform -t remap_labels -p my-project -- -l 1:7 --default keep\n"
    "         mnist-engine transform -t random_split -- -h      (a transform's options)\n\n"
    "transforms:\n  " + "\n  ".join(describe_transforms())
)
EXPORTER_OPTIONS = True  # the words after -- are the transform's options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t", "--transform", required=True, metavar="NAME", help="the transform to apply"
    )
    parser.add_argument(
        "target", nargs="?", help="the dataset to transform, PATH or PATH:FORMAT (or use -i)"
    )
    parser.add_argument("-i", "--input-path", metavar="PATH", help="the dataset to transform")
    add_input_format(parser)
    parser.add_argument(
        "-p",
        "--project",
        metavar="DIR",
        help="record the transform in this project instead (default: the current folder, when "
        "it is a project and no dataset is named)",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="folder to write (default: the dataset itself, in place, with --overwrite)",
    )
    parser.add_argument(
        "-f", "--output-format", metavar="FMT", help="format to write (default: the input's)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty folder; without -o: transform the dataset in place",
    )
    add_card_argument(parser)


def run(args: argparse.Namespace) -> int:
    name = check_transform_name(args.transform)
    options = parse_transform_options(name, args.extra)
    source = args.input_path or args.target
    if args.project and source:
        raise UsageError("give either a project (-p) or a dataset (-i PATH), not both")
    if source and not args.output_dir and is_project(source):
        args.project, source = split_target(source)[0], None  # a project folder as the target
    if not args.project and not source and (Path.cwd() / CONFIG_NAME).is_file():
        args.project = "."  # in a project folder, as Datumaro does
    if args.project and not args.output_dir:
        project = Project.open(args.project)
        project.add_transform(name, list(args.extra))
        if not args.quiet:
            print(f"recorded transform {name} in {project.config_path} (applied on export)")
        return 0
    if args.project:
        dataset, input_format = Project.open(args.project).dataset(), "project"
        source = args.project
    elif source:
        # without -o the dataset is changed in place, as Datumaro does (only with --overwrite)
        output = Path(args.output_dir) if args.output_dir else in_place_output(args, source)
        dataset, input_format = read_input(
            source,
            args.input_format,
            skip_broken=args.skip_broken,
            follow_symlinks=args.follow_symlinks,
        )
    else:
        raise UsageError("name the dataset to transform (PATH, -i PATH) or a project (-p DIR)")
    output_format = args.output_format or input_format
    if output_format == "project":
        raise UsageError("the input is a project: name the format to write with -f FMT")
    exporter_options(output_format, [])  # the output format exists
    with progress.task(f"applying {name}"):
        result = transform(dataset, name, **options)
    if args.project:
        output = Path(args.output_dir)
    write_output(
        result, output_format, output, {}, args.overwrite, input_paths(source), card=args.card
    )
    if not args.quiet:
        where = "" if args.output_dir else ", in place"
        print(f"{name}: {summary(result)} written as {output_format}: {output}{where}")
    return 0
