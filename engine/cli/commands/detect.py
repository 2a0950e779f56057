"""`detect PATH`: the formats that recognise a dataset, best first, with the evidence."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.commands._common import no_extra
from engine.errors import UnknownFormatError
from engine.registry import detections

NAME = "detect"
ALIASES = ["detect-format"]
HELP = "name the formats a dataset could be, best first, with the evidence seen"
EXAMPLE = "mnist-engine detect samples/mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="dataset folder, or one file of a subset")
    parser.add_argument("--json", action="store_true", help="print the detections as JSON")


def run(args: argparse.Namespace) -> int:
    no_extra(args)
    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    found = detections(path)
    if not found:
        raise UnknownFormatError(f"{path}: no known format recognises it")
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
