"""`convert`: reads a dataset in one format and writes it in another, optionally filtered."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import (
    add_card_argument,
    add_filter_arguments,
    add_input_format,
    add_scheduler_argument,
    apply_filter,
    default_output,
    exporter_options,
    formats_help,
    input_paths,
    read_input_of,
    split_target,
    summary,
    write_output,
)

NAME = "convert"
EXAMPLE = (
    "mnist-engine convert -if mnist -i ./mnist -f mnist -o ./threes "
    "--filter '/item[annotation/label=\"3\"]' -- --save-dataset-meta"
)
EXPORTER_OPTIONS = True


def more_help() -> str:
    return formats_help() + "\n\nexporter options of a format: -f FMT -- -h"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_format(parser)
    parser.add_argument(
        "-i",
        "--input-path",
        required=True,
        metavar="PATH",
        help="dataset to read (PATH or PATH:FORMAT)",
    )
    parser.add_argument(
        "-f", "--output-format", required=True, metavar="FMT", help="format to write"
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="folder to write (default: <input-name>-<format>, then .1, .2 ...)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    add_filter_arguments(parser)
    add_card_argument(parser)
    add_scheduler_argument(parser)


def run(args: argparse.Namespace) -> int:
    options = exporter_options(args.output_format, args.extra)
    dataset, input_format = read_input_of(args, args.input_path)
    dataset = apply_filter(dataset, args.filter, args.filter_mode)
    output = (
        Path(args.output_dir)
        if args.output_dir
        else default_output(split_target(args.input_path)[0], args.output_format)
    )
    inputs = input_paths(args.input_path)
    write_output(
        dataset, args.output_format, output, options, args.overwrite, inputs, card=args.card
    )
    if not args.quiet:
        print(f"converted {summary(dataset)} from {input_format} to {args.output_format}: {output}")
    return 0
