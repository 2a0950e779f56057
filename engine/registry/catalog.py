"""The registry of formats: specs from the `specs` package (or registered by users), each wrapped
as a SpecFormat by the codec its layout names, plus hand-written adapters from `formats/`, named in
`ADAPTERS` and imported when first needed.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import warnings
from pathlib import Path
from types import ModuleType

from engine.errors import NotThisFormat, SpecError, SpecWarning, UnknownFormatError
from engine.format import Detection, Format, SpecFormat
from engine.registry import spec_sources
from specs.schema import DatasetSpec

#: the hand-written adapters shipped: format name -> the module whose `FORMAT` it is
ADAPTERS: dict[str, str] = {
    "cifar": "formats.cifar",
    "image_dir": "formats.image_dir",
    "image_zip": "formats.image_zip",
    "imagenet": "formats.imagenet",
    "imagenet_txt": "formats.imagenet_txt",
    "parquet": "formats.parquet",
    "webdataset": "formats.webdataset",
}

_FORMATS: dict[str, Format] = {}
_LOADED = False
#: format name (the spec file's stem, or the entry point's name) -> why its user spec failed
_BROKEN_SPECS: dict[str, SpecError] = {}


def register_spec(spec: DatasetSpec | ModuleType | str | Path) -> Format:
    """Adds a spec (or a module or spec file defining `SPEC`) to the registry; returns its format.

    A spec named like a registered format replaces it.
    """
    if isinstance(spec, str | Path):
        found = spec_sources.load_spec_file(spec)
    elif isinstance(spec, ModuleType):
        found = spec_sources.specs_in(spec, spec.__name__)
    else:
        found = spec_sources.specs_in(spec)
    if len(found) != 1:
        raise SpecError(f"{spec}: defines {len(found)} specs; use register_specs")
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
    """Adds a hand-written format (an `engine.Adapter`, or any object offering the `Format`
    protocol) to the registry; TypeError names what an incomplete one lacks."""
    if not isinstance(fmt, Format):
        raise TypeError(
            f"{type(fmt).__name__} does not offer the Format protocol (name, description, "
            "options, load_options, spec, detect, load, save, check, owns); subclass "
            "engine.Adapter to get them"
        )
    _ensure_loaded()
    _FORMATS[fmt.name] = fmt
    return fmt


def _load_specs() -> None:
    package = importlib.import_module("specs")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"specs.{info.name}")
        for spec in spec_sources.specs_in_module(module):
            _FORMATS[spec.name] = SpecFormat(spec)


def _adapter(name: str) -> Format:
    """The shipped adapter `name`, imported now (and registered unless replaced meanwhile)."""
    fmt: Format = importlib.import_module(ADAPTERS[name]).FORMAT
    _FORMATS.setdefault(name, fmt)
    return _FORMATS[name]


def _ensure_loaded() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        _load_specs()
        problems: list[tuple[str, SpecError]] = []
        for spec in spec_sources.user_specs(problems):
            _FORMATS[spec.name] = SpecFormat(spec)
        for name, error in problems:  # warned once; the other specs and formats work on
            _BROKEN_SPECS[name.casefold()] = error
            warnings.warn(
                f"{error}; its format {name!r} is not available, the other formats are",
                SpecWarning,
                stacklevel=3,
            )


def reload_user_specs() -> list[str]:
    """Registers the specs of MNIST_ENGINE_SPEC_PATH and entry points again (after a change)."""
    _ensure_loaded()
    return [register_spec(spec).name for spec in spec_sources.user_specs()]


def formats() -> list[str]:
    """Names of every registered format."""
    _ensure_loaded()
    return sorted({*_FORMATS, *ADAPTERS})


def get_format(name: str) -> Format:
    """The format registered under `name` (any letter case: `MNIST` is `mnist`). A name whose
    user spec file failed to load raises that file's SpecError."""
    _ensure_loaded()
    if name in _FORMATS:
        return _FORMATS[name]
    if name in ADAPTERS:
        return _adapter(name)
    folded = str(name).casefold()  # any letter case: `MNIST` is `mnist`
    for known_name in formats():
        if known_name.casefold() == folded:
            return get_format(known_name)
    broken = _BROKEN_SPECS.get(folded)
    if broken is not None:
        raise broken
    known = formats()
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownFormatError(f"unknown format {name!r}{hint} (known formats: {', '.join(known)})")


def all_formats() -> list[Format]:
    """Every registered format, by name (imports every adapter)."""
    return [get_format(name) for name in formats()]


def detections(path: str | Path) -> list[Detection]:
    """Every format that recognises `path`, best first."""
    path = Path(path)
    found = []
    for fmt in all_formats():
        try:
            found.append(fmt.detect(path))
        except NotThisFormat:
            continue
    return sorted(found, key=lambda d: (-d.score, d.format))
