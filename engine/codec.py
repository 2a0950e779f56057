"""What every dataset codec shares: detection clues and the order subsets are listed in.

A codec (IDX, CSV, ...) offers `subset_files`, `load_subsets`, `prepare`, `write_subset` and
`probe`; `engine.registry.SpecFormat` drives it from a spec's layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clue:
    """One piece of detection evidence and how much it counts."""

    weight: float
    text: str


def subset_order(name: str) -> tuple[int, str]:
    """Train, then validation, then test, then the rest by name: the order users expect."""
    known = ("train", "val", "validation", "test")
    return (known.index(name) if name in known else len(known), name)
