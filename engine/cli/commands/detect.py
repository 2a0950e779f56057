"""`detect PATH`: the formats that recognise a dataset, best first, with the evidence."""

from __future__ import annotations

import argparse
import json

from engine.cli.commands._common import existing_path, no_extra, split_target
from engine.errors import UnknownFormatError
from engine.registry import detections, get_format
from engine.registry.loading import detect_best

NAME = "detect"
ALIASES = ["detect-format"]
HELP = "name the formats a dataset could be, best first, with the evidence seen"
EXAMPLE = "mnist-engine detect samples/mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        help="dataset folder, or one file of a subset; PATH:FORMAT shows only whether (and why) "
        "FORMAT recognises it",
    )
    parser.add_argument("--json", action="store_true", help="print the detections as JSON")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    given, named = split_target(args.path)
    path = existing_path(given)
    found = detections(path)
    if not found:
        detect_best(path)  # raises why: no format, or the files of the one the names point to
    if named:
        wanted = get_format(named).name
        others = [d.format for d in found]
        found = [d for d in found if d.format == wanted]
        if not found:
            raise UnknownFormatError(f"{path}: {wanted} does not recognise it (found: {others})")
    best = found[0].score
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "format": d.format,
                        "score": d.score,
                        "evidence": list(d.evidence),
                        "options": dict(d.options),
                    }
                    for d in found
                ],
                indent=2,
            )
        )
        return 0
    for rank, detection in enumerate(found):
        tie = " (tie)" if rank and detection.score == best else ""
        print(f"{detection.format}  score {detection.score:g}{tie}")
        for line in detection.evidence:
            print(f"    {line}")
    return 0
