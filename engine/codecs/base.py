"""What every dataset codec shares: detection clues.

A codec (IDX, CSV, ...) offers `subset_files`, `load_subsets`, `prepare`, `write_subset` and
`probe`; `engine.registry.spec_format.SpecFormat` drives it from a spec's layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from specs.schema import DatasetSpec, Layout

L = TypeVar("L")


@dataclass(frozen=True)
class Clue:
    """One piece of detection evidence and how much it counts."""

    weight: float
    text: str


def chosen_layout(spec: DatasetSpec, layout: Layout | None, kind: type[L], codec: str) -> L:
    """`layout` (or the spec's main layout) when it is of `kind`; a codec built for a layout of
    another kind is a programming error, so it raises TypeError."""
    chosen = layout or spec.layout
    if not isinstance(chosen, kind):
        raise TypeError(f"{spec.name}: not {codec} layout")
    return chosen
