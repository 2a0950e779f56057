"""MD5 of a file and of its uncompressed content, streamed in chunks (never the whole file in
memory), and how a file compares with the published files a spec knows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.io.compression import compression_of, stream_reader
from specs.schema import KnownFile

CHUNK = 1 << 20


def _digest(handle: BinaryIO) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    while chunk := handle.read(CHUNK):
        md5.update(chunk)
    return md5.hexdigest()


def file_md5(path: str | Path) -> str:
    """MD5 of the bytes on disk."""
    with open(path, "rb") as handle:
        return _digest(handle)


def content_md5(path: str | Path, limit: int | None = None) -> str | None:
    """MD5 of the uncompressed content (decompressed as a stream, with the fast codecs when
    installed; plain files as they are). A damaged stream is a FormatError with its offset.

    With ``limit`` (what the file's header declares), None as soon as the content holds more:
    such a content is no published one, and a 4 GiB stream of zeros is not hashed to say so.
    """
    path = Path(path)
    if not compression_of(path):
        return file_md5(path)
    md5 = hashlib.md5(usedforsecurity=False)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    with stream_reader(path) as fill:
        while count := fill(view):
            total += count
            if limit is not None and total > limit:
                return None
            md5.update(view[:count])
    return md5.hexdigest()


def stem_of(name: str) -> str:
    """A file name without its compression suffix, lower-cased, for matching published names."""
    kind = compression_of(name)
    return (name[: -len(kind)] if kind else name).lower()


@dataclass(frozen=True)
class Match:
    """How a file compares with one published file: `identical`, `same_content` or `differs`."""

    status: str
    known: KnownFile
    detail: str = ""


def compare(
    path: Path, candidates: Iterable[KnownFile], content_limit: int | None = None
) -> list[Match]:
    """Compares `path` with each published file of the same name, hashing as little as needed.

    The file's own MD5 is computed once; its content MD5 only when no candidate is identical and
    some candidate publishes a content MD5, and no further than ``content_limit`` uncompressed
    bytes (what the file declares). `differs` also covers "not provably the same".
    """
    candidates = list(candidates)
    own = file_md5(path)
    identical = [k for k in candidates if k.md5 == own and k.name.lower() == path.name.lower()]
    if identical:
        return [Match("identical", k) for k in identical]
    with_content = [k for k in candidates if k.content_md5]
    content = None
    if with_content:
        content = own if not compression_of(path) else content_md5(path, content_limit)
        if content is None:
            detail = (
                f"the content holds more than the {content_limit} bytes its header declares "
                "(hashing stopped there)"
            )
            return [Match("differs", known, detail) for known in candidates]
    matches = []
    for known in candidates:
        same = content is not None and known.content_md5 == content
        matches.append(Match("same_content" if same else "differs", known))
    return matches
