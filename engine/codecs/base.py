"""What every dataset codec shares: detection clues.

A codec (IDX, CSV, ...) offers `subset_files`, `load_subsets`, `prepare`, `write_subset` and
`probe`; `engine.registry.spec_format.SpecFormat` drives it from a spec's layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clue:
    """One piece of detection evidence and how much it counts."""

    weight: float
    text: str
