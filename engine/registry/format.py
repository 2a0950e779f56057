"""What a format is to the engine: the `Format` protocol every spec-driven format and hand-written
adapter offers, and the `Detection` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.model import Dataset


@dataclass
class Detection:
    """A format that recognised a path: a score (higher is surer) and the evidence seen."""

    format: str
    score: float
    evidence: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)  # load options detected (e.g. split)


@runtime_checkable
class Format(Protocol):
    """What every format offers the engine: spec-driven ones and hand-written adapters alike."""

    name: str
    description: str

    def detect(self, path: Path) -> Detection:
        """Evidence that `path` is of this format; raises NotThisFormat when it is not."""

    def load(self, path: Path, *, subset: str | None = None, **options: Any) -> Dataset:
        """Reads the dataset; `options` are the format's own (none for most formats)."""

    def save(self, dataset: Dataset, directory: Path, **options: Any) -> None:
        """Writes into `directory`, an existing empty folder (the engine makes it atomic)."""

    def owns(self, entry: Path) -> bool:
        """Whether `entry`, a top-level file or folder of an output folder, belongs to a dataset
        of this format (an overwrite replaces it) rather than to the user (it survives)."""
