"""`preview PATH -o FILE.png`: a contact sheet, one labelled row of samples per class."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.commands._common import add_input_format, input_paths, no_extra, read_input_of
from engine.compute import progress
from engine.errors import OutputExistsError, UsageError
from engine.ops.preview import contact_sheet

NAME = "preview"
HELP = "draw a contact sheet (PNG): one labelled row of sample images per class"
EXAMPLE = "mnist-engine preview samples/mnist -o sheet.png --per-class 16 --by-subset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        help="dataset folder (PATH or PATH:FORMAT), one file of a subset, or a project folder",
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE.png", help="image to write")
    add_input_format(parser)
    parser.add_argument(
        "-n", "--per-class", type=int, default=12, help="images per row (default 12)"
    )
    parser.add_argument(
        "--scale", type=int, default=3, help="magnification of each image (default 3)"
    )
    parser.add_argument("--by-subset", action="store_true", help="one block of rows per subset")
    parser.add_argument(
        "-s", "--subset", action="append", metavar="NAME", help="only these subsets (repeatable)"
    )
    parser.add_argument("--seed", type=int, help="pick random samples with this seed")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise UsageError(f"{output}: the contact sheet is a PNG; name the file *.png")
    if output.exists() and not args.overwrite:
        raise FileExistsError(f"{output}: exists; pass --overwrite to replace it")
    if not 1 <= args.per_class <= 200 or not 1 <= args.scale <= 32:
        raise UsageError("--per-class must be 1..200 and --scale 1..32")
    for given in input_paths(args.path):  # a file written into a dataset would become its data
        folder = given.parent if given.is_file() else given
        if folder.resolve() in output.resolve().parents:
            raise OutputExistsError(
                f"{output}: lies inside the input {folder}; write the contact sheet elsewhere"
            )
    dataset, format_name = read_input_of(args, args.path)
    for name in args.subset or []:
        if name not in dataset:
            raise UsageError(f"no subset {name!r}; subsets are {', '.join(dataset.subsets())}")
    if all(s.images is None for s in dataset.subsets().values()):
        raise UsageError(f"{args.path}: the dataset holds no images to preview")
    with progress.task("drawing the contact sheet"):
        sheet = contact_sheet(
            dataset,
            title=f"{Path(args.path).name} ({format_name}, {len(dataset)} items)",
            per_class=args.per_class,
            scale=args.scale,
            by_subset=args.by_subset,
            subsets=args.subset,
            seed=args.seed,
        )
        temporary = output.with_name(f".{output.name}.tmp")
        sheet.save(temporary, format="PNG")
        temporary.replace(output)
    if not args.quiet:
        print(f"wrote {output} ({sheet.width}x{sheet.height})")
    return 0
