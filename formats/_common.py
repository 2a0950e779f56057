"""What the image-file adapters share: planning subsets, writing items as files, class lists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from engine.errors import FormatError, LabelsNotStoredWarning, ValidationError, warn_caller
from engine.format import Adapter
from engine.format.options import FolderLoadOptions, LoadOptions, SaveOptions
from engine.io.categories import META_FILE, parse_dataset_meta
from engine.io.imagefolder import ReadImages, is_image_name, read_images
from engine.io.images import check_encodable, write_image_files
from engine.io.paths import (
    check_relative_names,
    check_unique_paths,
    relative_path,
)
from engine.model import NO_LABEL, Dataset, Subset, stack_images


class FolderAdapter(Adapter[SaveOptions, FolderLoadOptions]):
    """Base of the adapters that read folders of image files (they take `follow_symlinks`)."""

    load_options = FolderLoadOptions


def non_empty_subsets(dataset: Dataset) -> list[Subset]:
    return [subset for subset in dataset.subsets().values() if len(subset)]


def check_subset_names(subsets: Sequence[Subset], *, flat: bool = False) -> None:
    """Subset names become folder or file names: they must be safe (and one name when `flat`)."""
    names = [subset.name for subset in subsets]
    check_relative_names(names, "subset names")
    if flat:
        nested = [name for name in names if "/" in name]
        if nested:
            raise ValidationError("subset names with '/' cannot be file names here", nested)


def image_list(subset: Subset) -> list[np.ndarray | None]:
    """One image (or None) per item, whatever the subset's storage."""
    if subset.images is None:
        return [None] * len(subset)
    if isinstance(subset.images, np.ndarray):
        return list(subset.images)
    return list(subset.images)


def require_images(subset: Subset) -> None:
    """Formats made only of image files cannot hold an item without an image."""
    images = image_list(subset)
    missing = [subset.id_at(i) for i, image in enumerate(images) if image is None]
    if missing:
        raise ValidationError(
            f"items without an image cannot be stored in this format (subset {subset.name!r})",
            missing,
        )


def warn_labels_dropped(format_name: str, dataset: Dataset) -> None:
    """Says (once) how many labelled items lose their labels in a format without labels."""
    labelled = sum(
        int(np.count_nonzero(subset.labels != NO_LABEL)) for subset in dataset.subsets().values()
    )
    if labelled:
        warn_caller(
            f"{format_name} stores images only: the labels of {labelled} items are not written",
            LabelsNotStoredWarning,
        )


def write_items(
    directory: Path,
    paths: Sequence[str],
    images: Sequence[np.ndarray] | np.ndarray,
    ids: Sequence[str],
    options: SaveOptions,
) -> None:
    """Checks and writes image i to `directory / paths[i]`: unique paths, encodable pixels."""
    check_unique_paths(paths, ids)
    check_encodable(images, ids, options.image_ext)
    write_image_files(directory, list(paths), images, ids, **options.image_args())


def save_meta(directory: Path, categories: Sequence[str]) -> None:
    """Datumaro's `dataset_meta.json` with the class names in label order."""
    text = json.dumps({"labels": list(categories)}, ensure_ascii=False, indent=2)
    (directory / META_FILE).write_text(text + "\n", encoding="utf-8")


def read_meta(directory: Path) -> tuple[str, ...] | None:
    """Class names from `dataset_meta.json` in `directory`, or None when there is none."""
    path = directory / META_FILE
    return parse_dataset_meta(path) if path.exists() else None


def strip_image_ext(name: str) -> str:
    """The id of an image file name: its relative path without the extension."""
    path = PurePosixPath(name)
    return str(path.with_suffix("")) if path.suffix else str(path)


def read_files(
    names: Sequence[str], sources: Sequence[str | bytes], container: Path, opts: LoadOptions
) -> ReadImages:
    """Decodes image files (paths or bytes) with the load options (skip_broken, workers)."""
    return read_images(
        list(names),
        list(sources),
        container=container,
        skip_broken=opts.skip_broken,
        workers=opts.workers,
        progress=opts.progress,
    )


def ids_from_names(names: list[str], container: Path) -> list[str]:
    """Ids of image files: relative paths without extension; two files for one id are an error."""
    ids = [strip_image_ext(name) for name in names]
    seen: dict[str, str] = {}
    for name, item_id in zip(names, ids, strict=True):
        if item_id in seen and is_image_name(name) and is_image_name(seen[item_id]):
            raise FormatError(
                container,
                f"{seen[item_id]} and {name} are two images for the one item id {item_id!r}",
                field="id",
                expected="one image file per id",
                actual=f"{seen[item_id]}, {name}",
            )
        seen[item_id] = name
    return ids


def unlabeled_subset(
    name: str, ids: list[str], images: list[np.ndarray], paths: Sequence[str] | None = None
) -> Subset:
    """A subset of images without labels, ids as given (and the images' file paths, if known)."""
    return Subset(
        name=name,
        labels=np.full(len(ids), NO_LABEL, dtype=np.int32),
        images=stack_images(images) if images else None,
        ids=np.array(ids, dtype=object),
        image_paths=None if paths is None else np.array(list(paths), dtype=object),
    )


def plan_unlabeled(format_name: str, dataset: Dataset, ext: str) -> list[tuple[Subset, list[str]]]:
    """Each non-empty subset with the paths of its items' images, `<id><ext>` (under `<subset>/`
    when there are several), for formats that store images only; warns once about labels."""
    subsets = non_empty_subsets(dataset)
    check_subset_names(subsets)
    nested = len(subsets) > 1
    planned = []
    for subset in subsets:
        ids = subset.id_column()
        check_relative_names(ids)
        require_images(subset)
        prefix = subset.name if nested else ""
        planned.append((subset, [relative_path(prefix, str(i), suffix=ext) for i in ids]))
    warn_labels_dropped(format_name, dataset)
    return planned
