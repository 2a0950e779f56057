"""The registry of formats: specs from the `specs` package (or registered by users), each wrapped
as a SpecFormat by the codec its layout names, plus hand-written adapters from `formats`.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import warnings
from pathlib import Path
from types import ModuleType

from engine.errors import NotThisFormat, SpecWarning, UnknownFormatError
from engine.registry import spec_sources
from engine.registry.format import Detection, Format
from engine.registry.spec_format import SpecFormat
from specs.schema import DatasetSpec

_FORMATS: dict[str, Format] = {}
_LOADED = False
#: format name (the spec file's stem, or the entry point's name) -> why its user spec failed
_BROKEN_SPECS: dict[str, spec_sources.SpecError] = {}


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
        problems: list[tuple[str, spec_sources.SpecError]] = []
        for spec in spec_sources.user_specs(problems):
            register_spec(spec)
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
    return sorted(_FORMATS)


def get_format(name: str) -> Format:
    """The format registered under `name` (any letter case: `MNIST` is `mnist`). A name whose
    user spec file failed to load raises that file's SpecError."""
    _ensure_loaded()
    found = _FORMATS.get(name)
    if found is None:
        folded = {key.casefold(): key for key in _FORMATS}.get(str(name).casefold())
        found = _FORMATS.get(folded) if folded else None
    if found is not None:
        return found
    broken = _BROKEN_SPECS.get(str(name)) or _BROKEN_SPECS.get(str(name).casefold())
    if broken is not None:
        raise broken
    known = ", ".join(sorted(_FORMATS))
    close = difflib.get_close_matches(str(name), list(_FORMATS), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownFormatError(f"unknown format {name!r}{hint} (known formats: {known})")


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
