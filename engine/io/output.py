"""Atomic output directories: a save is written beside the target, then swapped in with renames.

A failed save leaves nothing behind; an existing non-empty directory is only replaced (never mixed
with new files) when overwriting was asked for, and the old contents go only once the new are in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import OutputExistsError


def check_output_dir(path: str | Path, overwrite: bool) -> Path:
    """Raises when `path` is a file, or a non-empty directory and `overwrite` is false."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path}: exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{path}: directory is not empty; pass overwrite=True (--overwrite) to replace it"
        )
    return path


@contextmanager
def atomic_output_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yields a fresh temporary directory that replaces `path` when the block succeeds."""
    target = check_output_dir(path, overwrite).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rmdir(retired)
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
