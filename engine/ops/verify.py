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
from engine.io.checksums import Match, compare, stem_of
from engine.io.compression import compression_of, read_head
from specs.schema import DatasetSpec, IdxLayout, KnownFile

IDENTICAL = "identical"
SAME_CONTENT = "same_content"
DIFFERS = "differs"
UNVERIFIABLE = "unverifiable"
UNKNOWN = "unknown"
RECORDED = "recorded"
CARD = "card"
MISSING = "missing"


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
    In a folder with a dataset card of ours: `card` (README.md or croissant.json, the card
    itself), `recorded` (not published, but byte for byte the file croissant.json lists: same
    SHA-256), `differs` too when the SHA-256 is not the card's, and `missing` (listed by the
    card, not in the folder).
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
            path, UNVERIFIABLE, names, matches[0].known.name, _unprovable(matches, owners)
        )
    detail = matches[0].detail or "content differs from the published file"
    return FileCheck(path, DIFFERS, names, matches[0].known.name, detail)


def _unprovable(matches: list[Match], owners: dict[int, str]) -> str:
    """Why a file is neither proven published nor proven changed, naming the datasets whose
    content hash it fails where others publish none (several datasets share MNIST's names)."""
    reason = (
        "not byte-identical; the publisher gives no content MD5, so a recompressed copy "
        "cannot be told from a changed one"
    )
    refuted = sorted({owners[id(m.known)] for m in matches if m.known.content_md5})
    if not refuted:
        return reason
    silent = sorted({owners[id(m.known)] for m in matches if not m.known.content_md5})
    files, give, copy = (
        ("files", "publishers give", "them")
        if len(silent) > 1
        else ("file", "publisher gives", "it")
    )
    return (
        f"content differs from the published {' and '.join(refuted)} file; not byte-identical "
        f"to the {' and '.join(silent)} {files} either, whose {give} no content MD5, so a "
        f"recompressed copy of {copy} cannot be told from a changed one"
    )


def _how_stored(path: Path, known: KnownFile) -> str:
    if stem_of(path.name) == path.name.lower():
        return "stored uncompressed"
    return "recompressed"


def against_card(path: str | Path, checks: list[FileCheck]) -> list[FileCheck]:
    """The checks of ``path`` (a folder, or a file in one) read against a dataset card of ours
    there: the card's own files named ``card``, each file it lists compared with the SHA-256 it
    records, and listed files that are gone reported ``missing``. Unchanged without a card."""
    from engine.ops.card import CROISSANT, recorded_files

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    try:
        recorded = recorded_files(folder)
    except ValueError as error:
        card = folder / CROISSANT
        return [
            c if c.path != card else FileCheck(card, DIFFERS, detail=str(error)) for c in checks
        ]
    if recorded is None:
        return checks
    return _against_card(folder, checks, recorded, whole=path.is_dir())


def _against_card(
    folder: Path,
    checks: list[FileCheck],
    recorded: dict[str, tuple[str, int | None]],
    *,
    whole: bool,
) -> list[FileCheck]:
    """The checks with the card's own files named, each file the card lists compared with its
    SHA-256 there (a published match stays the verdict), and listed files that are gone."""
    from engine.io.digests import file_digests
    from engine.ops.card import CARD_FILES, CROISSANT, is_our_card

    out = []
    for check in checks:
        name = check.path.relative_to(folder).as_posix()
        if name in CARD_FILES and is_our_card(check.path):
            out.append(FileCheck(check.path, CARD, detail="the dataset card (mnist-engine)"))
            continue
        if name not in recorded or check.status in (IDENTICAL, SAME_CONTENT):
            out.append(check)
            continue
        digest = file_digests(check.path, ["sha256"])["sha256"]
        if digest == recorded[name][0]:
            out.append(FileCheck(check.path, RECORDED, detail=f"SHA-256 as {CROISSANT} records"))
        else:
            out.append(
                FileCheck(
                    check.path,
                    DIFFERS,
                    detail=f"SHA-256 {digest[:12]}... is not the {recorded[name][0][:12]}... "
                    f"{CROISSANT} records: the file changed since the export",
                )
            )
    seen = {c.path.relative_to(folder).as_posix() for c in checks}
    inside = folder.resolve()
    for name in sorted(recorded):
        if not _resolves_inside(folder / name, inside):
            continue  # through a symbolic link out of the folder: not a file of this export
        nested = "/" in name and (folder / name).is_file()
        if nested and whole:
            out.append(_against_card(folder, [_check(folder / name, [])], recorded, whole=False)[0])
        elif name not in seen and whole and not (folder / name).is_file():
            out.append(FileCheck(folder / name, MISSING, detail=f"listed in {CROISSANT}"))
    return out


def _resolves_inside(path: Path, inside: Path) -> bool:
    """Whether ``path`` resolves to a place inside the folder ``inside``; a name the OS refuses
    or a loop of symbolic links (RuntimeError from pathlib) resolves nowhere."""
    try:
        return inside in path.resolve().parents
    except (OSError, ValueError, RuntimeError):
        return False
