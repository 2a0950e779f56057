"""The public verbs: load, save, detect, formats. Thin: they pick a format from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import UnknownFormatError
from engine.model import Dataset
from engine.output import atomic_output_dir
from engine.registry import Detection, get_format
from engine.registry import detect as _detect_all


def load(
    format: str | None, path: str | Path, *, subset: str | None = None, **options: Any
) -> Dataset:
    """Loads the dataset at `path` (a folder, or one file of a subset) in `format`.

    With `format=None` the format is detected; detection must give one clear answer, and the
    options it detected (a spec's variant, e.g. `split=...`) apply unless given. `options` are
    the format's own (e.g. `split=` for EMNIST, `skip_broken=True`,
    `workers=2` for formats made of image files).
    """
    path = Path(path)
    if format is None:
        found = detect_best(path)
        format, options = found.format, {**found.options, **options}
    return get_format(format).load(path, subset=subset, **options)


def save(
    dataset: Dataset,
    format: str,
    path: str | Path,
    *,
    save_media: bool = True,
    image_ext: str = ".png",
    save_dataset_meta: bool = False,
    overwrite: bool = False,
    compresslevel: int = 6,
    **options: Any,
) -> None:
    """Writes `dataset` in `format` into the directory `path`, atomically.

    A non-empty `path` is refused unless `overwrite`; then it is replaced whole. Data the format
    cannot hold raises ValidationError before anything is written.
    """
    fmt = get_format(format)
    with atomic_output_dir(path, overwrite=overwrite) as staging:
        fmt.save(
            dataset,
            staging,
            save_media=save_media,
            image_ext=image_ext,
            save_dataset_meta=save_dataset_meta,
            compresslevel=compresslevel,
            **options,
        )


def detect(path: str | Path) -> list[str]:
    """Names of the formats that recognise `path`, best first."""
    return [found.format for found in _detect_all(path)]


def detect_one(path: str | Path) -> str:
    """The single best format for `path`; raises when none or several tie."""
    return detect_best(path).format


def detect_best(path: str | Path) -> Detection:
    """The single best detection for `path` (format, score, evidence, load options)."""
    found = _detect_all(path)
    if not found:
        raise UnknownFormatError(f"{path}: no known format recognises it")
    if len(found) > 1 and found[0].score == found[1].score:
        tied = [d.format for d in found if d.score == found[0].score]
        raise UnknownFormatError(f"{path}: ambiguous, could be any of {tied}; name the format")
    return found[0]
