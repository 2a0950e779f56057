"""Loading a dataset by format name (or by detection): the path checks, the cache, the executor
and the format's typed load options, shared by `engine.load` and projects' sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.compute import executors
from engine.errors import UnknownFormatError
from engine.format import Detection
from engine.io.cache import caching
from engine.io.output import recover
from engine.model import Dataset
from engine.registry.catalog import detections, get_format


def load_dataset(
    format: str | None,
    path: Path,
    *,
    subset: str | None = None,
    cache: bool | None = None,
    cache_dir: str | Path | None = None,
    executor: Any = None,
    **options: Any,
) -> Dataset:
    """The dataset at `path` in `format` (detected when None); see `engine.load`."""
    if not path.is_file():
        recover(path)  # a save killed mid-swap leaves its leftovers beside the folder
    with caching(cache, cache_dir):
        if format is None:
            found = detect_best(path)
            format, options = found.format, {**found.options, **options}
        fmt = get_format(format)
        checked = fmt.load_options.of(fmt.name, options)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        with executors.using(executor) as running:
            if running is not None:
                path = path.absolute()
                running.check_paths([path])
            return fmt.load(path, checked, subset=subset)


def detect_best(path: str | Path) -> Detection:
    """The single best detection for `path` (format, score, evidence, load options); raises
    UnknownFormatError when no format recognises it or several tie."""
    found = detections(path)
    if not found:
        raise UnknownFormatError(f"{path}: no known format recognises it")
    if len(found) > 1 and found[0].score == found[1].score:
        tied = [d.format for d in found if d.score == found[0].score]
        raise UnknownFormatError(f"{path}: ambiguous, could be any of {tied}; name the format")
    return found[0]
