"""The options of each transform on the command line (the words after `--`), Datumaro's spelling:
`-- --subset train:.8 --subset val:.2 --seed 1`, `-- -l cat:animal --default delete` ...

They become the keyword arguments of `engine.ops.transforms`, so the CLI and Python share one
implementation. Projects store the words as given and parse them again on export.
"""

from __future__ import annotations

import argparse
import difflib
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import UsageError
from engine.ops.duplicate_flags import add_duplicate_flags, check_duplicate_flags
from engine.ops.item_transforms import NOT_OFFERED_TRANSFORMS
from engine.ops.transforms import SPLIT_TASKS, TRANSFORMS


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises UsageError instead of exiting (help still exits)."""

    def __init__(self, transform: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transform = transform

    def error(self, message: str) -> Any:
        raise UsageError(f"transform {self.transform}: {message}")


def _pair(text: str, what: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return name, value


def _split_pair(text: str) -> tuple[str, float]:
    name, value = _pair(text, "NAME:RATIO, e.g. train:.8")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: ratio {value!r} is not a number") from None


def _map_pair(text: str) -> tuple[str, str]:
    return _pair(text, "SRC:DST (an empty DST deletes)")


def _split_arguments(parser: argparse.ArgumentParser) -> None:
    """``-s/--subset NAME:RATIO`` and ``--seed``, shared by random_split and split."""
    parser.add_argument(
        "-s",
        "--subset",
        dest="splits",
        action="append",
        type=_split_pair,
        metavar="NAME:RATIO",
        help="a subset and its share, repeatable; the shares sum to 1 (default train:.67 test:.33)",
    )
    parser.add_argument("--seed", type=int, help="random seed (the same seed, the same split)")


def _random_split(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    _split_arguments(parser)
    parser.add_argument(
        "--no-stratify",
        dest="stratified",
        action="store_false",
        help="deal items regardless of their labels (default: each class split on its own)",
    )
    return lambda a: {
        "splits": a.splits or [("train", 0.67), ("test", 0.33)],
        "seed": a.seed,
        "stratified": a.stratified,
    }


def _split(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "-t",
        "--task",
        choices=SPLIT_TASKS,
        default="classification",
        help="Datumaro's split task; classification (the default) is the one with class labels: "
        "each class is split on its own, so every subset keeps the class distribution",
    )
    _split_arguments(parser)
    return lambda a: {
        "task": a.task,
        "splits": a.splits or [("train", 0.67), ("test", 0.33)],
        "seed": a.seed,
    }


def _remap_labels(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "-l",
        "--label",
        dest="mapping",
        action="append",
        type=_map_pair,
        default=[],
        metavar="SRC:DST",
        help="rename class SRC to DST, repeatable; two classes to one DST merge; 'SRC:' deletes",
    )
    parser.add_argument(
        "--default",
        choices=["keep", "delete"],
        default="keep",
        help="what happens to classes not named with -l (default keep)",
    )
    return lambda a: {"mapping": dict(a.mapping), "default": a.default}


def _map_subsets(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "-s",
        "--subset",
        dest="mapping",
        action="append",
        type=_map_pair,
        default=[],
        metavar="SRC:DST",
        help="rename subset SRC to DST, repeatable (two subsets to one DST are joined)",
    )

    def options(a: argparse.Namespace) -> dict:
        empty = [src for src, dst in a.mapping if not dst]
        if empty:
            raise UsageError(f"transform map_subsets: subset {empty[0]!r} needs a new name")
        return {"mapping": dict(a.mapping)}

    return options


def _reindex(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "-s", "--start", type=int, default=0, help="the first id (default 0); ids run on"
    )
    return lambda a: {"start": a.start}


def _remove_duplicates(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "--keep",
        choices=["first", "train"],
        default="first",
        help="first: keep the first item of each group of duplicates, within and across subsets "
        "(default); train: remove only the copies leaked into other subsets from train",
    )
    add_duplicate_flags(
        parser,
        optional_search=False,
        near_help="also remove near-duplicates (default); --no-near: identical images only",
    )
    parser.add_argument(
        "--train-subset",
        default="train",
        metavar="NAME",
        help="the subset --keep train keeps (default train)",
    )

    def options(a: argparse.Namespace) -> dict:
        check_duplicate_flags(a, "transform remove_duplicates: ")
        return {
            "keep": a.keep,
            "near": a.near,
            "threshold": a.threshold,
            "train_subset": a.train_subset,
        }

    return options


def _project_labels(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "-l",
        "--label",
        dest="dst_labels",
        action="append",
        required=True,
        metavar="NAME",
        help="a class of the new list, in order (repeatable); classes not named are dropped",
    )
    return lambda a: {"dst_labels": a.dst_labels}


def _item_ids(parser: argparse.ArgumentParser, *, required: bool, help: str) -> None:
    parser.add_argument(
        "--id",
        dest="ids",
        action="append",
        required=required,
        type=_id_pair,
        metavar="ID:SUBSET",
        help=help,
    )


def _remove_items(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    _item_ids(parser, required=True, help="an item to remove (repeatable)")
    return lambda a: {"ids": a.ids}


def _remove_annotations(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    _item_ids(
        parser, required=False, help="an item whose label to remove (repeatable; default all)"
    )
    return lambda a: {"ids": a.ids}


def _rename(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    parser.add_argument(
        "-e",
        "--regex",
        required=True,
        metavar="|PATTERN|REPLACEMENT|",
        help="rename ids with a regular expression, e.g. '|^|mnist_|' (the first character "
        "delimits the parts)",
    )
    return lambda a: {"regex": a.regex}


def _id_pair(text: str) -> tuple[str, str]:
    item_id, colon, subset = text.rpartition(":")
    if not colon or not item_id or not subset:
        raise argparse.ArgumentTypeError(f"{text!r}: give ID:SUBSET, e.g. 17:train")
    return item_id, subset


def _no_options(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], dict]:
    return lambda a: {}


_BUILDERS: dict[str, Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], dict]]] = {
    "random_split": _random_split,
    "split": _split,
    "remap_labels": _remap_labels,
    "map_subsets": _map_subsets,
    "reindex": _reindex,
    "id_from_image_name": _no_options,
    "remove_duplicates": _remove_duplicates,
    "project_labels": _project_labels,
    "remove_items": _remove_items,
    "remove_annotations": _remove_annotations,
    "rename": _rename,
}


def check_transform_name(name: str) -> str:
    """`name` when it is a transform; a UsageError suggesting the closest one otherwise."""
    if name in _BUILDERS:
        return name
    if name in NOT_OFFERED_TRANSFORMS:
        raise UsageError(
            f"transform {name!r} (Datumaro's) is not supported: {NOT_OFFERED_TRANSFORMS[name]}"
        )
    close = difflib.get_close_matches(name, list(_BUILDERS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(
        f"unknown transform {name!r}{hint} (transforms: {', '.join(sorted(_BUILDERS))})"
    )


def transform_parser(name: str) -> tuple[argparse.ArgumentParser, Callable[..., dict]]:
    """The parser of a transform's options and the function making its keyword arguments."""
    name = check_transform_name(name)
    parser = _Parser(
        name,
        prog=f"mnist-engine transform -t {name} --",
        description=(TRANSFORMS[name].__doc__ or "").split("\n\n")[0],
        add_help=True,
    )
    return parser, _BUILDERS[name](parser)


def parse_transform_options(name: str, words: Sequence[str]) -> dict[str, Any]:
    """The keyword arguments of transform `name` from its command-line words (`-h` prints the
    transform's help and exits)."""
    parser, make = transform_parser(name)
    return make(parser.parse_args(list(words)))


def describe_transforms() -> list[str]:
    """Per transform, the first sentence of its description, wrapped (never cut), for help
    texts."""
    lines = []
    for name, function in TRANSFORMS.items():
        docstring = (function.__doc__ or "").replace("``", "")  # RST literals read plain here
        paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
        sentence = re.split(r"(?<=[.;])\s+(?=[A-Z])", paragraph, maxsplit=1)[0].rstrip(";")
        wrapped = textwrap.wrap(sentence, width=76) or [""]
        lines.append(f"{name:20} {wrapped[0]}")
        lines += [f"{'':20} {more}" for more in wrapped[1:]]
    return lines
