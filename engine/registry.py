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

from engine import spec_detection, spec_sources
from engine.categories import load_categories, save_categories
from engine.convert import Conversion, convert_dataset
from engine.csv_codec import CsvCodec
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


#: codec name (a spec layout's `codec`) -> codec class
CODECS: dict[str, type] = {"idx": IdxCodec, "csv": CsvCodec}


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
        score, evidence, options = spec_detection.score(self.spec, self.codec, Path(path))
        return Detection(self.name, score, evidence, options)

    def load(self, path: Path, *, subset: str | None = None, **options: Any) -> Dataset:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        variant = self._variant(options, required=False)
        root, subsets, variant = self.codec.load_subsets(path, subset=subset, variant=variant)
        if not subsets:
            wanted = f" of subset {subset!r}" if subset else ""
            raise UnknownFormatError(f"{path}: no {self.name} files{wanted} found")
        classes = self.spec.variant(variant).classes if variant else self.spec.classes
        return Dataset(subsets, load_categories(root, classes))

    def _default_compression(self, subset: str) -> str:
        return self.spec.subset_compressions.get(subset, self.spec.layout.compressions[0])

    def _variant(self, options: dict[str, Any], *, required: bool) -> str | None:
        """The variant the options select (validated); options the spec does not take fail."""
        key = self.spec.variant_option
        unknown = sorted(set(options) - ({key} if self.spec.variants else set()))
        if unknown:
            raise TypeError(f"{self.name}: unexpected option(s) {', '.join(unknown)}")
        chosen = options.get(key)
        if chosen is None:
            if required and self.spec.variants:
                choices = ", ".join(v.name for v in self.spec.variants)
                raise ValueError(f"{self.name}: pass {key}=... (one of {choices})")
            return None
        return self.spec.variant(chosen).name

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
        **options: Any,
    ) -> None:
        variant = self._variant(options, required=True)
        conversion = Conversion.from_options(
            grayscale=grayscale, resize=resize, mnistify=mnistify, invert=invert
        )
        if compression is not None and compression not in self.spec.layout.compressions:
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
                part,
                directory,
                compression=self._default_compression(part.name)
                if compression is None
                else compression,
                compresslevel=compresslevel,
                variant=variant,
            )
        save_categories(directory, dataset.categories, dataset_meta=save_dataset_meta)


_FORMATS: dict[str, Format] = {}
_LOADED = False


def register_spec(spec: DatasetSpec | ModuleType | str | Path) -> Format:
    """Adds a spec (or a module or spec file defining `SPEC`) to the registry; returns its format.

    A spec named like a registered format replaces it.
    """
    if isinstance(spec, str | Path):
        found = spec_sources.load_spec_file(spec)
    else:
        found = spec_sources.specs_in(spec, getattr(spec, "__name__", ""))
    if len(found) != 1:
        raise spec_sources.SpecError(f"{spec}: defines {len(found)} specs; use register_specs")
    _ensure_loaded()
    fmt = SpecFormat(found[0])
    _FORMATS[fmt.name] = fmt
    return fmt


def register_specs(source: ModuleType | str | Path) -> list[Format]:
    """Adds every spec of a module, a spec file or a folder of spec files; returns the formats."""
    if isinstance(source, ModuleType):
        found = spec_sources.specs_in(source, source.__name__)
    elif Path(source).is_dir():
        found = spec_sources.load_spec_dir(source)
    else:
        found = spec_sources.load_spec_file(source)
    _ensure_loaded()
    return [register_spec(spec) for spec in found]


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
        for spec in getattr(module, "SPECS", ()):
            register_spec(spec)


def _ensure_loaded() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        _load_package("specs", "SPEC")
        _load_package("formats", "FORMAT")
        for spec in spec_sources.user_specs():
            register_spec(spec)


def reload_user_specs() -> list[str]:
    """Registers the specs of MNIST_ENGINE_SPEC_PATH and entry points again (after a change)."""
    _ensure_loaded()
    return [register_spec(spec).name for spec in spec_sources.user_specs()]


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
