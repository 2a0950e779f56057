"""The registry of formats: specs from the `specs` package (or registered by users), each wrapped
as a Format by the codec its layout names, plus hand-written adapters from `formats`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from engine.categories import load_categories, save_categories
from engine.convert import Conversion, convert_dataset
from engine.errors import NotThisFormat, UnknownFormatError
from engine.idx_codec import IdxCodec
from engine.model import Dataset
from engine.validate import check_class_names
from specs.schema import DatasetSpec


@dataclass
class Detection:
    """A format that recognised a path: a score (higher is surer) and the evidence seen."""

    format: str
    score: float
    evidence: list[str] = field(default_factory=list)


@runtime_checkable
class Format(Protocol):
    """What every format offers the engine: spec-driven ones and hand-written adapters alike."""

    name: str
    description: str

    def detect(self, path: Path) -> Detection:
        """Evidence that `path` is of this format; raises NotThisFormat when it is not."""

    def load(self, path: Path, *, subset: str | None = None) -> Dataset: ...

    def save(self, dataset: Dataset, directory: Path, **options: Any) -> None:
        """Writes into `directory`, an existing empty folder (the engine makes it atomic)."""


#: codec name (a spec layout's `codec`) -> codec class
CODECS: dict[str, type] = {"idx": IdxCodec}


class SpecFormat:
    """A format declared by a spec and read/written by the codec its layout names."""

    def __init__(self, spec: DatasetSpec) -> None:
        if spec.layout.codec not in CODECS:
            raise UnknownFormatError(f"{spec.name}: no codec {spec.layout.codec!r}")
        self.spec = spec
        self.name = spec.name
        self.description = spec.description
        self.codec = CODECS[spec.layout.codec](spec)

    def detect(self, path: Path) -> Detection:
        evidence = self.codec.probe(path)
        return Detection(self.name, float(len(evidence)), evidence)

    def load(self, path: Path, *, subset: str | None = None) -> Dataset:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        root, found = self.codec.subset_files(path)
        if subset is not None:
            found = [files for files in found if files.subset == subset]
        if not found:
            wanted = f" of subset {subset!r}" if subset else ""
            raise UnknownFormatError(f"{path}: no {self.name} files{wanted} found")
        subsets = [self.codec.read_subset(root, files) for files in found]
        return Dataset(subsets, load_categories(root, self.spec.classes))

    def save(
        self,
        dataset: Dataset,
        directory: Path,
        *,
        save_media: bool = True,
        save_dataset_meta: bool = False,
        image_ext: str | None = None,
        compression: str | None = None,
        compresslevel: int = 6,
        grayscale: bool = False,
        resize: str | int | tuple[int, int] | None = None,
        mnistify: bool = False,
        invert: bool = False,
        workers: int | None = None,
        progress: bool | None = None,
    ) -> None:
        conversion = Conversion.from_options(
            grayscale=grayscale, resize=resize, mnistify=mnistify, invert=invert
        )
        compression = self.spec.layout.compressions[0] if compression is None else compression
        if compression not in self.spec.layout.compressions:
            raise ValueError(
                f"{self.name}: compression {compression!r} is not one of "
                f"{list(self.spec.layout.compressions)}"
            )
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"compresslevel must be 0..9, not {compresslevel}")
        check_class_names(dataset.categories)
        dataset = convert_dataset(dataset, conversion, workers=workers, progress=progress)
        prepared = [
            self.codec.prepare(subset, save_media=save_media)
            for subset in dataset.subsets().values()
        ]
        for part in prepared:
            self.codec.write_subset(
                part, directory, compression=compression, compresslevel=compresslevel
            )
        save_categories(directory, dataset.categories, dataset_meta=save_dataset_meta)


_FORMATS: dict[str, Format] = {}
_LOADED = False


def register_spec(spec: DatasetSpec | ModuleType) -> Format:
    """Adds a spec (or a module defining `SPEC`) to the registry; returns its format."""
    if isinstance(spec, ModuleType):
        spec = spec.SPEC
    fmt = SpecFormat(spec)
    _FORMATS[fmt.name] = fmt
    return fmt


def register_format(fmt: Format) -> Format:
    """Adds a hand-written format adapter to the registry."""
    _FORMATS[fmt.name] = fmt
    return fmt


def _load_package(package_name: str, attribute: str) -> None:
    package = importlib.import_module(package_name)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package_name}.{info.name}")
        entry = getattr(module, attribute, None)
        if isinstance(entry, DatasetSpec):
            register_spec(entry)
        elif entry is not None:
            register_format(entry)


def _ensure_loaded() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        _load_package("specs", "SPEC")
        _load_package("formats", "FORMAT")


def formats() -> list[str]:
    """Names of every registered format."""
    _ensure_loaded()
    return sorted(_FORMATS)


def get_format(name: str) -> Format:
    """The format registered under `name`."""
    _ensure_loaded()
    try:
        return _FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(_FORMATS))
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {known}") from None


def all_formats() -> list[Format]:
    _ensure_loaded()
    return [_FORMATS[name] for name in sorted(_FORMATS)]


def detect(path: str | Path) -> list[Detection]:
    """Every format that recognises `path`, best first."""
    path = Path(path)
    found = []
    for fmt in all_formats():
        try:
            found.append(fmt.detect(path))
        except NotThisFormat:
            continue
    return sorted(found, key=lambda d: (-d.score, d.format))
