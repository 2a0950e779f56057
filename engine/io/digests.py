"""Several hashes (MD5, SHA-256) of a file and of its uncompressed content in one streamed pass."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from engine.io.compression import compression_of, stream_reader
from engine.io.transfer import chunks_of

CHUNK = 1 << 20


def file_digests(path: Path, names: Sequence[str]) -> dict[str, str]:
    """The digests `names` (hashlib names) of the bytes on disk."""
    hashers = {n: hashlib.new(n, usedforsecurity=False) for n in names}
    for chunk in chunks_of(path):
        for hasher in hashers.values():
            hasher.update(chunk)
    return {n: h.hexdigest() for n, h in hashers.items()}


def content_digests(path: Path, names: Sequence[str]) -> dict[str, str]:
    """The digests `names` of the uncompressed content (the file itself when not compressed);
    a damaged stream is a FormatError naming the file and offset."""
    if not compression_of(path):
        return file_digests(path, names)
    hashers = {n: hashlib.new(n, usedforsecurity=False) for n in names}
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with stream_reader(path) as fill:
        while count := fill(view):
            for hasher in hashers.values():
                hasher.update(view[:count])
    return {n: h.hexdigest() for n, h in hashers.items()}
