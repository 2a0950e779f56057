"""`Adapter`: the base of hand-written formats (those in `formats/`, and plugins). It fills in
the `Format` protocol around four methods a subclass writes: `detect`, `read`, `plan` and `write`.

`plan` raises ValidationError for what the format cannot hold, without writing anything; `check`
and `save` both run it, so `validate` and a save refuse the same datasets.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from engine.codecs.prepare import check_label_range
from engine.errors import ValidationError
from engine.format.options import LoadOptions, Options, SaveOptions
from engine.format.protocol import Detection
from engine.io.categories import META_FILE
from engine.io.imagefolder import is_image_name
from engine.io.paths import NameUse, check_dataset_names
from engine.model import Dataset
from engine.ops.pixels import edit_pixels
from specs.schema import DatasetSpec

S = TypeVar("S", bound=SaveOptions)
L = TypeVar("L", bound=Options)
T = TypeVar("T", bound=Options)


class Adapter(Generic[S, L]):
    """A hand-written format: a subclass sets `name`, `description`, `options` (its save options
    model) and `load_options`, and writes `detect`, `read`, `plan` and `write`."""

    name: str
    description: str
    options: type[S] = SaveOptions  # type: ignore[assignment]
    load_options: type[L] = LoadOptions  # type: ignore[assignment]
    spec: DatasetSpec | None = None
    #: how the format stores ids and class names (see engine.io.paths.check_dataset_names)
    id_names: ClassVar[NameUse] = "path"
    class_names: ClassVar[NameUse] = "text"

    # -- the Format protocol ----------------------------------------------------------------------
    def load(self, path: Path, options: Options, *, subset: str | None = None) -> Dataset:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        return self.read(path, subset, self._own(self.load_options, options))

    def save(self, dataset: Dataset, directory: Path, options: SaveOptions) -> None:
        opts = self._own(self.options, options)
        self._check_names(dataset)
        converted = edit_pixels(
            dataset, opts.pixel_edit(), workers=opts.workers, progress=opts.progress
        )
        self.write(converted, Path(directory), opts)

    def check(self, dataset: Dataset, options: SaveOptions | None = None) -> list[str]:
        chosen = self.options() if options is None else self._own(self.options, options)
        try:
            self._check_names(dataset)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # what a save would warn about is no problem
                self.plan(dataset, chosen)
        except ValidationError as error:
            return [str(error)]
        return []

    def owns(self, entry: Path) -> bool:
        """Image files, folders holding only images (at any depth), and `dataset_meta.json`.

        A folder mixing images with other files is the user's: an overwrite keeps it whole.
        """
        return entry.name == META_FILE or is_image_tree(entry)

    def named_like(self, entry: Path) -> bool:
        """The files this adapter owns; an adapter whose ownership reads content (a zip's
        members) widens it to the names alone."""
        return self.owns(entry)

    # -- what a subclass writes -------------------------------------------------------------------
    def detect(self, path: Path) -> Detection:
        """Evidence that `path` is of this format; raises NotThisFormat when it is not."""
        raise NotImplementedError

    def read(self, path: Path, subset: str | None, opts: L) -> Dataset:
        """Reads the dataset at `path` (which exists) with checked load options."""
        raise NotImplementedError

    def plan(self, dataset: Dataset, opts: S) -> None:
        """Raises ValidationError for what the format cannot hold; writes nothing."""

    def write(self, dataset: Dataset, directory: Path, opts: S) -> None:
        """Writes the converted dataset into `directory` with checked save options."""
        raise NotImplementedError

    def _own(self, model: type[T], options: Options) -> T:
        """`options` as this format's own model (the engine validated them with it; a caller
        passing another model's options has them checked again)."""
        if isinstance(options, model):
            return options
        return model.of(self.name, options.model_dump(exclude_unset=True))

    def _check_names(self, dataset: Dataset) -> None:
        check_dataset_names(dataset, ids=self.id_names, classes=self.class_names)
        check_label_range(dataset)


def is_image_tree(entry: Path) -> bool:
    """An image file, or a folder whose files (hidden ones aside) are all images, one at least."""
    if entry.is_symlink():
        return False
    if entry.is_file():
        return is_image_name(entry.name)
    if not entry.is_dir():
        return False
    images = 0
    for path in entry.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            continue
        if path.name.startswith(".") and path.is_file():
            continue
        if path.is_symlink() or not is_image_name(path.name):
            return False
        images += 1
    return images > 0
