"""Provenance: where a dataset's items came from and what was done to them, so an export can be
reproduced. A small typed record the dataset carries from load through its verbs to a save, where
the dataset card writes it (``README.md`` and ``croissant.json``, see engine.ops.card).

A ``Lineage`` is a tree: its sources (the files read, each with its SHA-256 once known; a source
read from a carded folder carries that folder's recorded lineage as its ``history``), then the
steps applied in order (transforms with their options and seed, filters, edits, the save); a merge
step holds the lineages of the datasets it merged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: the JSON values a step's options hold (options are turned into these when recorded)
JSON = Any


@dataclass(frozen=True)
class SourceFile:
    """One file a load read: its path relative to the source, size, SHA-256 (None until hashed,
    or when it changed after it was read), the published file it equals and how (``identical``
    byte for byte, or ``same content`` when recompressed or stored uncompressed)."""

    path: str
    size: int
    sha256: str | None = None
    published: str | None = None
    match: str | None = None
    #: the modification time seen when it was read (not written out: tells a later change)
    mtime_ns: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Source:
    """A dataset read from ``path`` in ``format``: the files read, the known dataset they are
    (a spec's name) and, for a folder with a card of ours, the lineage recorded there."""

    path: str
    format: str
    dataset: str | None = None
    subset: str | None = None
    files: tuple[SourceFile, ...] = ()
    history: Lineage | None = None
    #: False until the files are listed (a folder's files are listed when a card needs them;
    #: ``seen`` then tells which top-level entries changed since the read)
    listed: bool = field(default=True, compare=False)
    seen: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)
    #: the absolute path at the read (``path`` is kept as given), for hashing after a chdir
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class Step:
    """One thing done to the dataset: ``kind`` is transform, filter, merge, edit or save; its
    ``name`` (the transform, the format saved ...), options as plain JSON values, the seed of a
    random step, and for a merge the lineages of its inputs."""

    kind: str
    name: str
    options: Mapping[str, JSON] = field(default_factory=dict)
    seed: int | None = None
    inputs: tuple[Lineage, ...] = ()


@dataclass(frozen=True)
class Lineage:
    """Sources, then steps in the order applied; ``engine`` names the version that recorded it
    (set when a card is written)."""

    sources: tuple[Source, ...] = ()
    steps: tuple[Step, ...] = ()
    engine: str | None = None

    def __bool__(self) -> bool:
        return bool(self.sources or self.steps)

    def then(self, step: Step) -> Lineage:
        """This lineage with ``step`` applied after the others."""
        return replace(self, steps=(*self.steps, step))

    @classmethod
    def merged(cls, inputs: tuple[Lineage, ...], step: Step) -> Lineage:
        """The lineage of a merge: one step holding each input's lineage."""
        return cls(steps=(replace(step, inputs=inputs),))

    def all_sources(self) -> Iterator[Source]:
        """Every source in the tree (merge inputs and recorded histories included)."""
        for source in self.sources:
            yield source
            if source.history is not None:
                yield from source.history.all_sources()
        for step in self.steps:
            for part in step.inputs:
                yield from part.all_sources()

    def map_sources(self, change: Any) -> Lineage:
        """The same tree with each direct source (merge inputs too) passed through ``change``."""
        return replace(
            self,
            sources=tuple(change(s) for s in self.sources),
            steps=tuple(
                replace(s, inputs=tuple(p.map_sources(change) for p in s.inputs))
                for s in self.steps
            ),
        )

    # -- plain data (JSON), as the card stores it --------------------------------------------
    def to_dict(self) -> dict[str, JSON]:
        """The lineage as JSON-ready data (sorted keys where order carries no meaning)."""
        out: dict[str, JSON] = {}
        if self.engine:
            out["engine"] = self.engine
        out["sources"] = [_source_dict(s) for s in self.sources]
        out["steps"] = [_step_dict(s) for s in self.steps]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Lineage:
        """A lineage from ``to_dict``'s data; ValueError when it is not shaped so."""
        if not isinstance(data, Mapping):
            raise ValueError("provenance is not an object")
        engine = data.get("engine")
        return cls(
            sources=tuple(_source_of(s) for s in _list(data.get("sources"), "sources")),
            steps=tuple(_step_of(s) for s in _list(data.get("steps"), "steps")),
            engine=str(engine) if engine is not None else None,
        )


def plain(value: Any) -> JSON:
    """``value`` as JSON data: tuples become lists, numpy scalars numbers, mappings objects with
    text keys, paths text; anything else its ``repr`` (recorded, though not replayable)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):  # in a stable order, whatever the hash seed
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return plain(item())
    if callable(value):
        return f"<function {getattr(value, '__qualname__', repr(value))}>"
    return repr(value)


def files_of(root: Path, entries: list[Path]) -> tuple[SourceFile, ...]:
    """The files among ``entries`` (folders walked, symbolic links skipped), relative to
    ``root``, with their size and modification time (hashed later, when a card needs them)."""
    found: list[SourceFile] = []
    for entry in entries:
        walked = (
            sorted(p for p in entry.rglob("*") if p.is_file() and not p.is_symlink())
            if entry.is_dir() and not entry.is_symlink()
            else [entry]
        )
        for path in walked:
            try:
                stat = path.stat()
            except OSError:
                continue
            name = path.name if path == root else path.relative_to(root).as_posix()
            found.append(SourceFile(name, stat.st_size, mtime_ns=stat.st_mtime_ns))
    return tuple(sorted(found, key=lambda f: f.path))


def _source_dict(source: Source) -> dict[str, JSON]:
    out: dict[str, JSON] = {"path": source.path, "format": source.format}
    if source.dataset:
        out["dataset"] = source.dataset
    if source.subset:
        out["subset"] = source.subset
    out["files"] = [
        {
            "path": f.path,
            "size": f.size,
            "sha256": f.sha256,
            **({"published": f.published, "match": f.match} if f.published else {}),
        }
        for f in source.files
    ]
    if source.history is not None:
        out["history"] = source.history.to_dict()
    return out


def _step_dict(step: Step) -> dict[str, JSON]:
    out: dict[str, JSON] = {"kind": step.kind, "name": step.name, "options": plain(step.options)}
    if step.seed is not None:
        out["seed"] = step.seed
    if step.inputs:
        out["inputs"] = [part.to_dict() for part in step.inputs]
    return out


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"provenance {what} is not a list")
    return value


def _text(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"provenance: {key!r} is not text")
    return value


def _source_of(data: Any) -> Source:
    if not isinstance(data, Mapping):
        raise ValueError("provenance source is not an object")
    files = []
    for entry in _list(data.get("files"), "files"):
        if not isinstance(entry, Mapping):
            raise ValueError("provenance file is not an object")
        size = entry.get("size")
        digest = entry.get("sha256")
        published, match = entry.get("published"), entry.get("match")
        files.append(
            SourceFile(
                _text(entry, "path"),
                size if isinstance(size, int) and not isinstance(size, bool) else 0,
                digest if isinstance(digest, str) else None,
                published if isinstance(published, str) else None,
                match if isinstance(match, str) else None,
            )
        )
    history = data.get("history")
    dataset, subset = data.get("dataset"), data.get("subset")
    return Source(
        _text(data, "path"),
        _text(data, "format", ""),
        dataset if isinstance(dataset, str) else None,
        subset if isinstance(subset, str) else None,
        tuple(files),
        Lineage.from_dict(history) if history is not None else None,
    )


def _step_of(data: Any) -> Step:
    if not isinstance(data, Mapping):
        raise ValueError("provenance step is not an object")
    options = data.get("options") or {}
    if not isinstance(options, Mapping):
        raise ValueError("provenance step options are not an object")
    seed = data.get("seed")
    return Step(
        _text(data, "kind"),
        _text(data, "name"),
        dict(options),
        seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        tuple(Lineage.from_dict(part) for part in _list(data.get("inputs"), "inputs")),
    )
