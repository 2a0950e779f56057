"""MD5 of a file and of its uncompressed content, streamed in chunks (never the whole file in
memory), and how a file compares with the published files a spec knows.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import FormatError
from engine.io.compression import compression_of
from specs.schema import KnownFile

CHUNK = 1 << 20

_OPENERS: dict[str, Callable[..., io.BufferedIOBase]] = {
    ".gz": gzip.open,
    ".xz": lzma.open,
    ".bz2": bz2.open,
}


def _digest(handle: io.BufferedIOBase) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    while chunk := handle.read(CHUNK):
        md5.update(chunk)
    return md5.hexdigest()


def file_md5(path: str | Path) -> str:
    """MD5 of the bytes on disk."""
    with open(path, "rb") as handle:
        return _digest(handle)


def content_md5(path: str | Path) -> str:
    """MD5 of the uncompressed content (decompressed as a stream; plain files as they are)."""
    path = Path(path)
    kind = compression_of(path)
    if not kind:
        return file_md5(path)
    try:
        with _OPENERS[kind](path, "rb") as handle:
            return _digest(handle)
    except EOFError:
        raise FormatError(
            path, f"the {kind[1:]} stream ends early: the file is truncated"
        ) from None
    except (OSError, zlib.error, lzma.LZMAError, ValueError) as error:
        raise FormatError(path, f"not a valid {kind[1:]} file: {error}") from None


def stem_of(name: str) -> str:
    """A file name without its compression suffix, lower-cased, for matching published names."""
    kind = compression_of(name)
    return (name[: -len(kind)] if kind else name).lower()


@dataclass(frozen=True)
class Match:
    """How a file compares with one published file: `identical`, `same_content` or `differs`."""

    status: str
    known: KnownFile


def compare(path: Path, candidates: Iterable[KnownFile]) -> list[Match]:
    """Compares `path` with each published file of the same name, hashing as little as needed.

    The file's own MD5 is computed once; its content MD5 only when no candidate is identical and
    some candidate publishes a content MD5. `differs` also covers "not provably the same".
    """
    candidates = list(candidates)
    own = file_md5(path)
    identical = [k for k in candidates if k.md5 == own and k.name.lower() == path.name.lower()]
    if identical:
        return [Match("identical", k) for k in identical]
    with_content = [k for k in candidates if k.content_md5]
    content = None
    if with_content:
        content = own if not compression_of(path) else content_md5(path)
    matches = []
    for known in candidates:
        same = content is not None and known.content_md5 == content
        matches.append(Match("same_content" if same else "differs", known))
    return matches
