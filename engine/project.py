"""Projects, as Datumaro users know them without the version control: a directory whose
`project.toml` lists sources (name, format, path) and filters; exporting merges the sources.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import EngineError, FormatError, ProjectError
from engine.io.regular import read_regular
from engine.io.toml_writer import dumps
from engine.model import Dataset
from engine.registry import get_format
from engine.registry.loading import load_dataset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAME = "project.toml"
#: a project file larger than this is refused before it is read
MAX_CONFIG_BYTES = 16 << 20
FORMAT_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class Source:
    """A dataset the project reads: where it lives and in which format."""

    name: str
    format: str
    path: str


@dataclass
class ProjectFilter:
    """A filter recorded in the project, applied on export to one source or all (`source=""`)."""

    expression: str
    mode: str = "items"
    source: str = ""


@dataclass
class ProjectTransform:
    """A transform recorded in the project (its name and command-line options), applied on
    export to the merged, filtered sources, in the order recorded."""

    name: str
    options: list[str] = field(default_factory=list)


@dataclass
class Project:
    """A project directory and its configuration."""

    root: Path
    sources: list[Source] = field(default_factory=list)
    filters: list[ProjectFilter] = field(default_factory=list)
    transforms: list[ProjectTransform] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    # -- life cycle
    @classmethod
    def create(cls, root: str | Path, *, overwrite: bool = False) -> Project:
        """Makes a new empty project in `root` (created if needed)."""
        root = Path(root)
        if (root / CONFIG_NAME).exists() and not overwrite:
            raise ProjectError(
                f"{root / CONFIG_NAME}: a project already exists; pass --overwrite to replace it"
            )
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root)
        project.save()
        return project

    @classmethod
    def open(cls, root: str | Path) -> Project:
        """Reads the project in `root`; ProjectError naming the file when it is missing or bad."""
        root = Path(root)
        path = root / CONFIG_NAME
        if not path.exists():
            raise ProjectError(
                f"{root}: not a project (no {CONFIG_NAME}); make one with `mnist-engine create`"
            )
        try:  # a FIFO or a device is refused, not waited on
            document = tomllib.loads(read_regular(path, MAX_CONFIG_BYTES).decode("utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise FormatError(path, f"not valid TOML: {error}") from None
        except UnicodeDecodeError as error:
            raise FormatError(path, "not UTF-8 text", offset=error.start) from None
        except RecursionError:
            raise FormatError(path, "TOML nested too deeply to read", field="nesting") from None
        return cls(
            root, _sources(path, document), _filters(path, document), _transforms(path, document)
        )

    def save(self) -> None:
        """Writes the configuration (via a temporary file, so a crash leaves the old one)."""
        document = {
            "format_version": FORMAT_VERSION,
            "source": [vars(source) for source in self.sources],
            "filter": [vars(entry) for entry in self.filters],
            "transform": [vars(entry) for entry in self.transforms],
        }
        header = (
            "mnist-engine project: the sources it reads, and filters and transforms applied on\n"
            "export. Edit by hand or with `mnist-engine import` / `filter` / `transform`."
        )
        temporary = self.config_path.with_suffix(".toml.tmp")
        temporary.write_text(dumps(document, header=header), encoding="utf-8")
        temporary.replace(self.config_path)

    # -- editing
    def add_source(self, path: str | Path, format: str, name: str | None = None) -> Source:
        """Adds a dataset as a source after checking it loads and its classes agree."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        get_format(format)
        name = name or _default_name(path, {s.name for s in self.sources})
        if not _NAME.fullmatch(name):
            raise ProjectError(f"source name {name!r}: use letters, digits, '_', '.', '-'")
        if any(s.name == name for s in self.sources):
            raise ProjectError(f"{self.config_path}: a source named {name!r} exists already")
        twin = [
            s
            for s, p in zip(self.sources, self.source_paths(), strict=True)
            if p.resolve() == path.resolve()
        ]
        if twin:
            raise ProjectError(
                f"{self.config_path}: {path} is already the source {twin[0].name!r}; "
                "a source is imported once"
            )
        source = Source(name, format, str(path.resolve()))
        dataset = load_dataset(format, Path(path))
        from engine.ops.merge import merge_datasets

        merge_datasets([*self._loaded(), (name, dataset)])
        self.sources.append(source)
        self.save()
        return source

    def add_filter(self, expression: str, mode: str = "items", source: str = "") -> ProjectFilter:
        """Records a filter (checked now, applied on export)."""
        from engine.ops.filters import Filter, normalize_mode

        Filter(expression)
        if source and source not in {s.name for s in self.sources}:
            raise ProjectError(f"{self.config_path}: no source named {source!r}")
        entry = ProjectFilter(expression, normalize_mode(mode), source)
        self.filters.append(entry)
        self.save()
        return entry

    def add_transform(self, name: str, options: list[str]) -> ProjectTransform:
        """Records a transform (its options checked now, applied on export)."""
        from engine.ops.transform_options import parse_transform_options

        parse_transform_options(name, options)
        entry = ProjectTransform(name, list(options))
        self.transforms.append(entry)
        self.save()
        return entry

    # -- reading
    def _loaded(self) -> list[tuple[str, Dataset]]:
        loaded: list[tuple[str, Dataset]] = []
        for source in self.sources:
            dataset: Dataset = load_dataset(source.format, self._resolve(source.path))
            for entry in self.filters:
                if entry.source in ("", source.name):
                    dataset = _filtered(dataset, entry.expression, entry.mode)
            loaded.append((source.name, dataset))
        return loaded

    def source_paths(self) -> list[Path]:
        """Where the project's sources live (an export never writes over them)."""
        return [
            Path(s.path) if Path(s.path).is_absolute() else self.root / s.path for s in self.sources
        ]

    def _resolve(self, path: str) -> Path:
        resolved = Path(path) if Path(path).is_absolute() else self.root / path
        shown = path if len(path) <= 200 else f"{path[:100]}...({len(path)} characters)"
        try:
            os.stat(resolved)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:
                raise ProjectError(
                    f"{self.config_path}: source path {shown} is too long for this system"
                ) from None
            raise ProjectError(
                f"{self.config_path}: source path {shown} does not exist or cannot be read "
                f"({error.strerror})"
            ) from None
        except ValueError:  # a NUL in the path
            raise ProjectError(f"{self.config_path}: source path {shown!r} is not a path") from None
        return resolved

    def dataset(self) -> Dataset:
        """The merged dataset of every source, with the project's filters applied."""
        if not self.sources:
            raise ProjectError(
                f"{self.root}: the project has no sources; add one with `mnist-engine import`"
            )
        from engine.ops.merge import merge_datasets
        from engine.ops.transform_options import parse_transform_options
        from engine.ops.transforms import transform

        dataset = merge_datasets(_distinct_ids(self._loaded()))
        for number, entry in enumerate(self.transforms, start=1):
            try:
                dataset = transform(
                    dataset, entry.name, **parse_transform_options(entry.name, entry.options)
                )
            except EngineError:
                raise
            except (ValueError, TypeError, KeyError) as error:  # e.g. a subset that is gone
                raise ProjectError(
                    f"{self.config_path}: transform #{number} ({entry.name}) cannot run on the "
                    f"project's dataset: {error}"
                ) from None
        return dataset

    def remove_source(self, name: str) -> Source:
        """Removes the source named `name` (and the filters that name it); saves the project."""
        found = [s for s in self.sources if s.name == name]
        if not found:
            names = ", ".join(s.name for s in self.sources) or "none"
            raise ProjectError(f"{self.config_path}: no source named {name!r} (sources: {names})")
        self.sources.remove(found[0])
        self.filters = [f for f in self.filters if f.source != name]
        self.save()
        return found[0]


def _filtered(dataset: Dataset, expression: str, mode: str) -> Dataset:
    from engine.ops.filters import filter_dataset

    return filter_dataset(dataset, expression, mode)


def _mode(text: str) -> str:
    from engine.ops.filters import normalize_mode

    return normalize_mode(text)


def _distinct_ids(loaded: list[tuple[str, Dataset]]) -> list[tuple[str, Dataset]]:
    """Sources whose items share ids in one subset (row numbers, once a filter made them explicit)
    get their ids qualified as `<source>/<id>` in that subset, so merging never refuses or drops."""
    seen: dict[str, set[str]] = {}
    clashing: set[str] = set()
    for _, dataset in loaded:
        for subset_name, part in dataset.subsets().items():
            ids = set(part.id_column().astype(str).tolist())
            if ids & seen.setdefault(subset_name, set()):
                clashing.add(subset_name)
            seen[subset_name] |= ids
    if not clashing:
        return loaded
    result = []
    for source, dataset in loaded:
        parts = []
        for subset_name, part in dataset.subsets().items():
            if subset_name in clashing:
                qualified = [f"{source}/{i}" for i in part.id_column()]
                part = dataclasses.replace(part, ids=np.array(qualified, dtype=object))
            parts.append(part)
        result.append((source, type(dataset)(parts, dataset.categories)))
    return result


def _default_name(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.resolve().name).strip("-.") or "source"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def _tables(path: Path, document: dict, key: str) -> list[dict]:
    """The array of tables `[[key]]`; anything else under `key` is a FormatError."""
    entries = document.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise FormatError(
            path,
            f"{key!r} must be an array of tables ([[{key}]] sections), not "
            f"{type(entries).__name__ if not isinstance(entries, list) else 'a plain array'}",
            field=key,
        )
    return entries


def _sources(path: Path, document: dict) -> list[Source]:
    sources = []
    for index, entry in enumerate(_tables(path, document, "source")):
        missing = [key for key in ("name", "format", "path") if not isinstance(entry.get(key), str)]
        if missing:
            raise FormatError(
                path, f"source #{index + 1} lacks text for {', '.join(missing)}", field="source"
            )
        sources.append(Source(entry["name"], entry["format"], entry["path"]))
    return sources


def _filters(path: Path, document: dict) -> list[ProjectFilter]:
    filters = []
    for index, entry in enumerate(_tables(path, document, "filter")):
        if not isinstance(entry.get("expression"), str):
            raise FormatError(path, f"filter #{index + 1} lacks an expression", field="filter")
        wrong = [k for k in ("mode", "source") if k in entry and not isinstance(entry[k], str)]
        if wrong:
            raise FormatError(
                path, f"filter #{index + 1}: {', '.join(wrong)} must be text", field="filter"
            )
        filters.append(
            ProjectFilter(
                entry["expression"],
                _mode(str(entry.get("mode", "items"))),
                str(entry.get("source", "")),
            )
        )
    return filters


def _transforms(path: Path, document: dict) -> list[ProjectTransform]:
    transforms = []
    for index, entry in enumerate(document.get("transform", [])):
        options = entry.get("options", [])
        if not isinstance(entry.get("name"), str) or not (
            isinstance(options, list) and all(isinstance(word, str) for word in options)
        ):
            raise FormatError(
                path,
                f"transform #{index + 1} needs a name and a list of option words",
                field="transform",
            )
        transforms.append(ProjectTransform(entry["name"], list(options)))
    return transforms
