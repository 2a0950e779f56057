"""What every dataset codec is: the `Codec` protocol that `SpecFormat` drives, the `SubsetFiles`
a codec finds, and the detection `Clue`s it reports.

A codec (IDX, CSV, NPZ) reads and writes the subsets of a spec whose layout names it; the spec's
facts (names, headers, shapes) come from the layout, so a codec knows no format by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from engine.codecs.prepare import PreparedSubset
from engine.model import Subset
from specs.schema import DatasetSpec, Layout, Tensor

L = TypeVar("L")


@dataclass(frozen=True)
class Clue:
    """One piece of detection evidence and how much it counts."""

    weight: float
    text: str


@dataclass(frozen=True)
class SubsetFiles:
    """The files a subset is stored in; either may be missing (labels-only, images-only), and
    both are the one file of a layout that keeps labels and pixels together (CSV).

    `labels_tensor` is the kind of labels file found (the layout's main one or an alternative);
    `variant` is the variant named in the file names, for specs that have variants; `prefix` is
    the subset's name as the files spell it.
    """

    subset: str
    labels: Path | None
    images: Path | None
    labels_tensor: Tensor | None = None
    variant: str | None = None
    prefix: str = ""

    @property
    def path(self) -> Path:
        """The subset's one file (labels or images), for messages and one-file layouts."""
        found = self.labels or self.images
        if found is None:
            raise ValueError(f"subset {self.subset!r}: no files")
        return found


class Codec(Protocol):
    """Reads and writes the subsets of a dataset laid out as a spec's layout says."""

    @property
    def spec(self) -> DatasetSpec:
        """The spec whose dataset this codec reads and writes."""

    @property
    def layout(self) -> Layout:
        """The layout (of the spec's layouts) this codec follows."""

    def subset_files(self, path: Path) -> tuple[Path, list[SubsetFiles]]:
        """(dataset root, the subsets found); `path` is the folder or one file of a subset."""

    def load_subsets(
        self, path: Path, *, subset: str | None, variant: str | None
    ) -> tuple[Path, list[Subset], str | None]:
        """(root, the subsets read, the variant they belong to) for `load`."""

    def prepare(self, subset: Subset, *, save_media: bool) -> PreparedSubset:
        """The subset checked and laid out for writing; ValidationError for what cannot be."""

    def write_subset(
        self,
        prepared: PreparedSubset,
        root: Path,
        *,
        compression: str,
        compresslevel: int,
        variant: str | None = None,
    ) -> list[Path]:
        """Writes one prepared subset into `root`; returns the files written."""

    def probe(self, path: Path) -> tuple[list[Clue], list[SubsetFiles]]:
        """Detection clues for `path` and the subsets seen; NotThisFormat when none fits."""


def chosen_layout(spec: DatasetSpec, layout: Layout | None, kind: type[L], codec: str) -> L:
    """`layout` (or the spec's main layout) when it is of `kind`; a codec built for a layout of
    another kind is a programming error, so it raises TypeError."""
    chosen = layout or spec.layout
    if not isinstance(chosen, kind):
        raise TypeError(f"{spec.name}: not {codec} layout")
    return chosen
