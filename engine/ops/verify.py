"""Verifying files (`engine.verify`): compares each file with the files the publishers released,
by MD5 of the file and of its uncompressed content, reading each file at most twice as a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.codecs.idx.container import HEAD_BYTES, declared_size_of
from engine.errors import FormatError
from engine.io.checksums import compare, stem_of
from engine.io.compression import compression_of, read_head
from specs.schema import DatasetSpec, IdxLayout, KnownFile

IDENTICAL = "identical"
SAME_CONTENT = "same_content"
DIFFERS = "differs"
UNVERIFIABLE = "unverifiable"
UNKNOWN = "unknown"


class Published(Protocol):
    """What verifying uses of a format: its name and its spec (None: nothing published)."""

    @property
    def name(self) -> str:
        """The format's name."""

    @property
    def spec(self) -> DatasetSpec | None:
        """The format's spec, None for a hand-written adapter."""


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file.

    status: `identical` (byte for byte the published file), `same_content` (recompressed or
    stored uncompressed, same content), `differs` (named like a published file, content differs),
    `unverifiable` (not byte-identical, and only the compressed file's MD5 is published, so a
    recompression cannot be told from a change), `unknown` (no published file has this name).
    """

    path: Path
    status: str
    formats: tuple[str, ...] = ()
    published: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f" ({', '.join(self.formats)}: {self.published})" if self.formats else ""
        return f"{self.path.name}: {self.status}{where}{' - ' + self.detail if self.detail else ''}"


def verify_files(path: str | Path, formats: Sequence[Published]) -> list[FileCheck]:
    """Checks a file, or every file in a folder, against the published files of `formats`
    (registry formats; those without a spec or published files are ignored)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    published = published_files(formats)
    idx = _idx_names(formats)
    return [
        _check(file, published.get(stem_of(file.name), []), stem_of(file.name) in idx)
        for file in files
    ]


def published_files(formats: Sequence[Published]) -> dict[str, list[tuple[str, KnownFile]]]:
    """Published files by uncompressed name stem: (format name, known file) pairs."""
    table: dict[str, list[tuple[str, KnownFile]]] = {}
    for fmt in formats:
        known_files = fmt.spec.known_files if fmt.spec is not None else ()
        for known in known_files:
            table.setdefault(stem_of(known.name), []).append((fmt.name, known))
    return table


def _idx_names(formats: Sequence[Published]) -> set[str]:
    """Stems of the published files that are IDX files (their headers declare their size)."""
    return {
        stem_of(known.name)
        for fmt in formats
        if fmt.spec is not None and isinstance(fmt.spec.layout, IdxLayout)
        for known in fmt.spec.known_files
    }


def _check(path: Path, candidates: list[tuple[str, KnownFile]], idx: bool = False) -> FileCheck:
    if not candidates:
        return FileCheck(path, UNKNOWN, detail="no published file has this name")
    owners = {id(known): name for name, known in candidates}
    limit = None
    if idx and compression_of(path):
        head = read_head(path, HEAD_BYTES)  # a damaged stream is reported as such
        try:
            limit = declared_size_of(head, path)
        except FormatError as error:
            names = tuple(owners.values())
            detail = f"not an IDX file, so not the published one ({error.reason})"
            return FileCheck(path, DIFFERS, names, candidates[0][1].name, detail)
    matches = compare(path, [known for _, known in candidates], limit)
    for status in (IDENTICAL, SAME_CONTENT):
        hits = [m for m in matches if m.status == status]
        if hits:
            detail = "" if status == IDENTICAL else _how_stored(path, hits[0].known)
            return FileCheck(
                path,
                status,
                tuple(owners[id(m.known)] for m in hits),
                hits[0].known.name,
                detail,
            )
    names = tuple(owners[id(m.known)] for m in matches)
    unprovable = [m.known for m in matches if not m.known.content_md5]
    if unprovable and not matches[0].detail:  # a content longer than declared is no published one
        return FileCheck(
            path,
            UNVERIFIABLE,
            names,
            matches[0].known.name,
            "not byte-identical; the publisher gives no content MD5, so a recompressed copy "
            "cannot be told from a changed one",
        )
    detail = matches[0].detail or "content differs from the published file"
    return FileCheck(path, DIFFERS, names, matches[0].known.name, detail)


def _how_stored(path: Path, known: KnownFile) -> str:
    if stem_of(path.name) == path.name.lower():
        return "stored uncompressed"
    return "recompressed"
