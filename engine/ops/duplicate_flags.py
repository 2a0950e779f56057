"""The duplicate-search flags shared by ``dedup``, ``validate``, ``report`` and the
``remove_duplicates`` transform, and their checks: one place for their names, defaults, help
and messages."""

from __future__ import annotations

import argparse

from engine.errors import UsageError
from engine.ops.near_pairs import DEFAULT_THRESHOLD


def add_duplicate_flags(
    parser: argparse.ArgumentParser,
    *,
    optional_search: bool,
    near_help: str = "near-duplicates too (default); --no-near: identical images only (faster)",
) -> None:
    """``--near/--no-near`` and ``--threshold``; with ``optional_search`` also
    ``--duplicates/--no-duplicates`` (for the commands where the search is one check of
    several)."""
    if optional_search:
        parser.add_argument(
            "--duplicates",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="look for duplicates and leakage (default); --no-duplicates skips it",
        )
    parser.add_argument(
        "--near", action=argparse.BooleanOptionalAction, default=True, help=near_help
    )
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help=f"largest share of ink pixels that may differ (default {DEFAULT_THRESHOLD:g}; "
        "see docs: duplicates)",
    )


def check_duplicate_flags(args: argparse.Namespace, context: str = "") -> None:
    """A threshold is a share between 0 and 1 and goes with the near search only; ``context``
    starts the message (the transform's name)."""
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise UsageError(f"{context}--threshold {args.threshold:g}: give a share between 0 and 1")
    if args.threshold is not None and not getattr(args, "duplicates", True):
        raise UsageError(f"{context}--threshold cannot go with --no-duplicates")
    if args.threshold is not None and not args.near:
        raise UsageError(f"{context}--threshold cannot go with --no-near")
