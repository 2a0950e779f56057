"""What a format is to the engine: the `Format` protocol every spec-driven format and hand-written
adapter offers (plugin authors implement it, most simply by subclassing `engine.Adapter`), and the
`Detection` its `detect` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.format.options import Options, SaveOptions
from engine.model import Dataset
from specs.schema import DatasetSpec


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

    @property
    def name(self) -> str:
        """The name the registry, `engine.load` and the CLI know it by."""

    @property
    def description(self) -> str:
        """One line for `mnist-engine formats`."""

    @property
    def options(self) -> type[SaveOptions]:
        """The typed save options: one model per format (engine.save, the CLI, the docs)."""

    @property
    def load_options(self) -> type[Options]:
        """The typed load options."""

    @property
    def spec(self) -> DatasetSpec | None:
        """The spec that declares the format; None for a hand-written adapter."""

    def detect(self, path: Path) -> Detection:
        """Evidence that `path` is of this format; raises NotThisFormat when it is not."""

    def load(self, path: Path, options: Options, *, subset: str | None = None) -> Dataset:
        """Reads the dataset at `path` (which exists) with checked load options."""

    def save(self, dataset: Dataset, directory: Path, options: SaveOptions) -> None:
        """Writes into `directory`, an existing empty folder (the engine makes it atomic)."""

    def check(self, dataset: Dataset, options: SaveOptions | None = None) -> list[str]:
        """What this format cannot hold of `dataset`, one problem per line; writes nothing."""

    def owns(self, entry: Path) -> bool:
        """Whether `entry`, a top-level file or folder of an output folder, belongs to a dataset
        of this format (an overwrite replaces it) rather than to the user (it survives)."""

    def named_like(self, entry: Path) -> bool:
        """Whether `entry`'s name is one this format writes, its content unread: how detection
        names the format a folder it cannot recognise points to (never a reason to delete)."""
