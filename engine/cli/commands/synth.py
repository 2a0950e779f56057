"""`synth -o DIR`: writes a synthetic MNIST-like dataset rendered by our own code (no download)."""

from __future__ import annotations

import argparse

from engine.cli.sample import write_synthetic_dataset

NAME = "synth"
EXAMPLE = "mnist-engine synth -o my-digits --train 600 --test 200 --seed 1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output-dir", required=True, help="folder to write")
    parser.add_argument("-f", "--format", default="mnist", help="format to write (default mnist)")
    parser.add_argument("--train", type=int, default=500, help="train items (default 500)")
    parser.add_argument("--test", type=int, default=200, help="test items (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")


def run(args: argparse.Namespace) -> int:
    dataset = write_synthetic_dataset(
        args.output_dir,
        train=args.train,
        test=args.test,
        seed=args.seed,
        format=args.format,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        print(f"wrote {len(dataset)} synthetic items in {args.format} format to {args.output_dir}")
    return 0
