"""Out of core: a compressed file is decompressed once into a cache folder and memory-mapped, so
a dataset larger than memory is usable and its images are views on disk, as plain files are.

An entry is named by the file's absolute path and stamped with its size, mtime and a hash of its
first 64 KiB; a stale stamp rebuilds the entry. Entries are written beside their final name and
renamed into place, so a crash never leaves a half entry in use. The folder is `cache_dir=`, else
$MNIST_ENGINE_CACHE_DIR, else $XDG_CACHE_HOME/mnist-engine (~/.cache/mnist-engine).

Policy: `engine.load(..., cache=True)` caches every compressed IDX file; the CLI caches those whose
declared content is at least AUTO_THRESHOLD (256 MiB) and decompresses smaller ones in memory,
where they fit easily and load fastest; MNIST_ENGINE_CACHE=0 turns caching off everywhere.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import CacheWarning
from engine.io.inflate import InflateStream, too_much

AUTO_THRESHOLD = 256 << 20  # declared bytes from which the CLI caches by default
HEAD_BYTES = 1 << 16
PIECE = 1 << 22  # uncompressed bytes per write into the cache file


@dataclass(frozen=True)
class CachePolicy:
    """Whether to cache (`always`, or from `threshold` declared bytes) and where."""

    always: bool = False
    threshold: int | None = None
    directory: Path | None = None

    def wants(self, size: int | None) -> bool:
        if size is None or os.environ.get("MNIST_ENGINE_CACHE", "1") in ("0", "off", "no"):
            return False
        return self.always or (self.threshold is not None and size >= self.threshold)


NO_CACHE = CachePolicy()
_policy: contextvars.ContextVar[CachePolicy] = contextvars.ContextVar("cache", default=NO_CACHE)


def default_cache_dir() -> Path:
    """$MNIST_ENGINE_CACHE_DIR, else the user's cache folder (XDG) / mnist-engine."""
    named = os.environ.get("MNIST_ENGINE_CACHE_DIR")
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-engine"


def current_policy() -> CachePolicy:
    return _policy.get()


@contextmanager
def using_policy(policy: CachePolicy) -> Iterator[None]:
    """Within the block, `policy` is in force (the CLI's entry point uses the automatic one)."""
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


@contextmanager
def caching(cache: bool | None, cache_dir: str | Path | None = None) -> Iterator[None]:
    """Within the block, compressed files are cached (True), not (False), or as before (None)."""
    current = _policy.get()
    if cache is None and cache_dir is None:
        yield
        return
    directory = Path(cache_dir) if cache_dir is not None else current.directory
    if cache is None:
        policy = CachePolicy(current.always, current.threshold, directory)
    else:
        policy = CachePolicy(always=cache, directory=directory) if cache else NO_CACHE
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


def cached_content(path: Path, kind: str, size: int, directory: Path | None) -> np.ndarray | None:
    """The content of `path` memory-mapped from the cache (built if missing or stale); None if
    the cache folder cannot be written (a warning says why; the caller reads in memory)."""
    import json  # here: only cached loads pay for these imports

    folder = directory or default_cache_dir()
    source = path.resolve()
    entry = folder / hashlib.sha256(os.fsencode(source)).hexdigest()[:32]
    data, stamp_file = entry.with_suffix(".bin"), entry.with_suffix(".json")
    stamp = _stamp(source)
    try:
        if json.loads(stamp_file.read_text()) == {**stamp, "bytes": data.stat().st_size}:
            return _map(data)
    except (OSError, ValueError):
        pass  # missing, unreadable or stale: rebuild
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = _build(source, kind, size, data)
        stamp_text = json.dumps({**stamp, "bytes": written})
        _replace_with(stamp_file, stamp_text.encode())
    except OSError as error:
        warnings.warn(
            f"{path.name}: cannot cache in {folder} ({error}); decompressing in memory",
            CacheWarning,
            stacklevel=3,
        )
        return None
    return _map(data)


def _stamp(path: Path) -> dict[str, object]:
    info = path.stat()
    with open(path, "rb") as handle:
        head = hashlib.sha256(handle.read(HEAD_BYTES)).hexdigest()
    return {"source": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns, "head": head}


def _build(source: Path, kind: str, size: int, target: Path) -> int:
    """Streams the decompressed content into a temporary file beside `target`, then renames it;
    stops past `size` (bomb-safe on disk too). Returns the bytes written."""
    import tempfile

    buffer = np.empty(min(PIECE, size + 1), dtype=np.uint8)
    view = buffer.data
    written = 0
    fd, temporary = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=target.parent)
    try:
        with open(source, "rb", buffering=0) as handle, os.fdopen(fd, "wb") as out:
            stream = InflateStream(handle, kind, source)
            while count := stream.readinto(view):
                written += count
                if written > size:
                    raise too_much(source, size, stream.compressed_read)
                out.write(view[:count])
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


def _replace_with(target: Path, content: bytes) -> None:
    import tempfile

    fd, temporary = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _map(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")
