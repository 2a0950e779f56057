"""Where users' own specs come from: Python modules, spec files (`.py` defining `SPEC`/`SPECS`,
or `.json` holding one DatasetSpec), folders of them, the `MNIST_ENGINE_SPEC_PATH` environment
variable and the `mnist_engine.specs` entry-point group of installed plugin packages.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from pydantic import ValidationError as PydanticValidationError

from engine.errors import FormatError, SpecError
from engine.io.jsonfile import load_json_file
from engine.io.regular import read_regular
from specs.schema import SCHEMA_VERSION, DatasetSpec

ENV_VAR = "MNIST_ENGINE_SPEC_PATH"
ENTRY_POINT_GROUP = "mnist_engine.specs"
SPEC_SUFFIXES = (".py", ".json")
#: a JSON spec larger than this is refused before it is read
MAX_SPEC_BYTES = 16 << 20


def specs_in_module(module: ModuleType) -> list[DatasetSpec]:
    """The specs a module of the `specs` package declares (`SPEC`, `SPECS`); none is fine."""
    found = [module.SPEC] if isinstance(module.__dict__.get("SPEC"), DatasetSpec) else []
    return [*found, *module.__dict__.get("SPECS", ())]


def specs_in(source: object, origin: str = "") -> list[DatasetSpec]:
    """The specs a spec, a module (`SPEC` and/or `SPECS`) or a sequence of specs holds, each
    checked to be written for a schema version this engine reads."""
    if isinstance(source, DatasetSpec):
        return [checked_version(source, origin)]
    if isinstance(source, ModuleType):
        found = []
        if isinstance(getattr(source, "SPEC", None), DatasetSpec):
            found.append(checked_version(source.SPEC, origin or source.__name__))
        found.extend(specs_in(getattr(source, "SPECS", ()), origin))
        if not found:
            raise SpecError(f"{origin or source.__name__}: defines neither SPEC nor SPECS")
        return found
    if isinstance(source, list | tuple):
        bad = [entry for entry in source if not isinstance(entry, DatasetSpec)]
        if bad:
            raise SpecError(f"{origin}: SPECS holds {type(bad[0]).__name__}, not DatasetSpec")
        return [checked_version(spec, origin) for spec in source]
    raise SpecError(f"{origin}: {type(source).__name__} is not a DatasetSpec or a spec module")


def checked_version(spec: DatasetSpec, origin: str = "") -> DatasetSpec:
    """`spec`, or SpecError when it is written for a newer schema than this engine reads."""
    if spec.schema_version > SCHEMA_VERSION:
        where = f"{origin}: " if origin else ""
        raise SpecError(
            f"{where}spec {spec.name!r} is written for schema version {spec.schema_version}; "
            f"this mnist-engine reads versions up to {SCHEMA_VERSION} (upgrade mnist-engine)"
        )
    return spec


def load_spec_file(path: str | Path) -> list[DatasetSpec]:
    """The specs in one file: a `.py` module defining SPEC/SPECS or a `.json` DatasetSpec."""
    path = Path(path)
    if path.suffix == ".json":
        _check_declared_version(path)
        try:
            spec = DatasetSpec.model_validate_json(read_regular(path, MAX_SPEC_BYTES))
            return [checked_version(spec, str(path))]
        except PydanticValidationError as error:
            raise SpecError(f"{path}: not a valid spec: {_first_problem(error)}") from None
    if path.suffix != ".py":
        raise SpecError(f"{path}: spec files end in .py or .json")
    module_name = f"_mnist_engine_user_specs.{path.stem}_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except PydanticValidationError as error:
        del sys.modules[module_name]
        raise SpecError(f"{path}: not a valid spec: {_first_problem(error)}") from None
    except (Exception, SystemExit) as error:  # a spec file calling exit() stops no command
        del sys.modules[module_name]
        raise SpecError(f"{path}: failed to import: {type(error).__name__}: {error}") from error
    return specs_in(module, str(path))


def load_spec_dir(path: str | Path) -> list[DatasetSpec]:
    """The specs in every `.py`/`.json` file of a folder (names starting with `_` skipped)."""
    path = Path(path)
    if not path.is_dir():
        raise SpecError(f"{path}: not a folder of spec files")
    found = []
    for file in sorted(path.iterdir()):
        if file.suffix in SPEC_SUFFIXES and not file.name.startswith(("_", ".")):
            found.extend(load_spec_file(file))
    return found


def _check_declared_version(path: Path) -> None:
    """A JSON spec for a newer schema is refused by its version before its fields are read (a
    newer schema may have fields this one does not know)."""
    try:
        document = load_json_file(path, expect=dict)
    except FormatError as error:  # deep, huge, not an object, not a regular file: said here
        raise SpecError(f"{path}: not a valid spec: {error.reason}") from None
    declared = document.get("schema_version", SCHEMA_VERSION)
    if isinstance(declared, int) and declared > SCHEMA_VERSION:
        raise SpecError(
            f"{path}: written for spec schema version {declared}; this mnist-engine reads "
            f"versions up to {SCHEMA_VERSION} (upgrade mnist-engine)"
        )


def env_spec_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    """The folders `MNIST_ENGINE_SPEC_PATH` names (separated like PATH), in order."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def entry_point_specs() -> list[DatasetSpec]:
    """The specs installed plugin packages declare in the `mnist_engine.specs` group."""
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = point.load()
        except Exception as error:
            raise SpecError(
                f"entry point {point.name!r} ({point.value}) failed to load: "
                f"{type(error).__name__}: {error}"
            ) from error
        found.extend(specs_in(target, f"entry point {point.name!r} ({point.value})"))
    return found


def user_specs(problems: list[tuple[str, SpecError]] | None = None) -> Iterable[DatasetSpec]:
    """Specs from the environment variable's folders, then from entry points.

    Without `problems` the first broken file raises its SpecError; with it, each broken file
    (or entry point) is recorded there as (the format name it stands for, error) and the others
    are still read.
    """
    if problems is None:
        for folder in env_spec_dirs():
            yield from load_spec_dir(folder)
        yield from entry_point_specs()
        return
    for folder in env_spec_dirs():
        if not folder.is_dir():
            problems.append((folder.stem, SpecError(f"{folder} (in {ENV_VAR}): not a folder")))
            continue
        for file in sorted(folder.iterdir()):
            if file.suffix not in SPEC_SUFFIXES or file.name.startswith(("_", ".")):
                continue
            try:
                yield from load_spec_file(file)
            except SpecError as error:
                problems.append((file.stem, error))
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = point.load()
            found = specs_in(target, f"entry point {point.name!r} ({point.value})")
        except SpecError as error:
            problems.append((point.name, error))
            continue
        except Exception as error:
            problems.append(
                (
                    point.name,
                    SpecError(
                        f"entry point {point.name!r} ({point.value}) failed to load: "
                        f"{type(error).__name__}: {error}"
                    ),
                )
            )
            continue
        yield from found


def _first_problem(error: PydanticValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
