"""What the image-file adapters share: option checking, conversions, writing items as files."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import numpy as np

from engine.errors import FormatError, ValidationError
from engine.io.categories import META_FILE, parse_dataset_meta
from engine.io.imagefolder import ReadImages, is_image_name, read_images
from engine.io.images import check_encodable, normalize_ext, write_image_files
from engine.io.paths import check_relative_names, check_unique_paths, relative_path
from engine.model import NO_LABEL, Dataset, Subset, stack_images
from engine.ops.convert import Conversion, convert_dataset
from engine.registry.export_options import options_from_defaults

#: save options every adapter accepts, with their defaults
SAVE_OPTIONS: dict[str, Any] = {
    "save_media": True,
    "image_ext": ".png",
    "save_dataset_meta": False,
    "compresslevel": 6,
    "grayscale": False,
    "resize": None,
    "mnistify": False,
    "invert": False,
    "workers": None,
    "progress": None,
}
#: load options every image-reading adapter accepts
LOAD_OPTIONS: dict[str, Any] = {"skip_broken": False, "workers": None, "progress": None}


class ImageFilesFormat:
    """Base of the adapters whose items are image files.

    It owns what they share: the load and exporter options (the CLI reads `options` for
    `-- --flags` and `load_options` for `--skip-broken`), checking them, and the conversions a
    save asks for. A subclass writes `read` and `write` (and `detect`) only.
    """

    name: str
    load_options: dict[str, Any] = LOAD_OPTIONS
    save_defaults: ClassVar[dict[str, Any]] = SAVE_OPTIONS
    options = options_from_defaults(SAVE_OPTIONS)

    def load(self, path: Path, *, subset: str | None = None, **options: Any) -> Dataset:
        opts = check_options(self.name, options, self.load_options)
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        return self.read(path, subset, opts)

    def save(self, dataset: Dataset, directory: Path, **options: Any) -> None:
        opts = check_options(self.name, options, self.save_defaults)
        self.check_save_options(opts)
        self.write(converted(dataset, opts), Path(directory), opts)

    def read(self, path: Path, subset: str | None, opts: dict[str, Any]) -> Dataset:
        """Reads the dataset at `path` (which exists) with checked load options."""
        raise NotImplementedError

    def write(self, dataset: Dataset, directory: Path, opts: dict[str, Any]) -> None:
        """Writes the converted dataset into `directory` with checked save options."""
        raise NotImplementedError

    def check_save_options(self, opts: dict[str, Any]) -> None:
        """Refuses option values of this format's own before any work is done."""


class LabelsNotStoredWarning(UserWarning):
    """The target format has no place for labels; the images were written without them."""


def check_options(
    format_name: str, given: Mapping[str, Any], accepted: Mapping[str, Any]
) -> dict[str, Any]:
    """`accepted` defaults updated with `given`; ValueError naming any option not accepted."""
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ValueError(
            f"{format_name}: unknown option(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(sorted(accepted))}"
        )
    options = dict(accepted)
    options.update({k: v for k, v in given.items() if v is not None or accepted[k] is None})
    if "image_ext" in options:
        options["image_ext"] = normalize_ext(options["image_ext"] or ".png")
    if "compresslevel" in options and not 0 <= int(options["compresslevel"]) <= 9:
        raise ValueError(f"compresslevel must be 0..9, not {options['compresslevel']}")
    return options


def converted(dataset: Dataset, options: Mapping[str, Any]) -> Dataset:
    """The dataset with the conversions the options ask for (grayscale, resize, mnistify)."""
    conversion = Conversion.from_options(
        grayscale=options["grayscale"],
        resize=options["resize"],
        mnistify=options["mnistify"],
        invert=options["invert"],
    )
    return convert_dataset(
        dataset, conversion, workers=options["workers"], progress=options["progress"]
    )


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
        warnings.warn(
            f"{format_name} stores images only: the labels of {labelled} items are not written",
            LabelsNotStoredWarning,
            stacklevel=6,
        )


def write_items(
    directory: Path,
    paths: Sequence[str],
    images: Sequence[np.ndarray] | np.ndarray,
    ids: Sequence[str],
    options: Mapping[str, Any],
) -> None:
    """Checks and writes image i to `directory / paths[i]`: unique paths, encodable pixels."""
    check_unique_paths(paths, ids)
    check_encodable(images, ids, options["image_ext"])
    write_image_files(
        directory,
        list(paths),
        images,
        ids,
        ext=options["image_ext"],
        compresslevel=int(options["compresslevel"]),
        workers=options["workers"],
        progress=options["progress"],
    )


def save_meta(directory: Path, categories: Sequence[str]) -> None:
    """Datumaro's `dataset_meta.json` with the class names in label order."""
    text = json.dumps({"labels": list(categories)}, ensure_ascii=False, indent=2)
    (directory / META_FILE).write_text(text + "\n", encoding="utf-8")


def read_meta(directory: Path) -> tuple[str, ...] | None:
    """Class names from `dataset_meta.json` in `directory`, or None when there is none."""
    path = directory / META_FILE
    return parse_dataset_meta(path) if path.is_file() else None


def strip_image_ext(name: str) -> str:
    """The id of an image file name: its relative path without the extension."""
    path = PurePosixPath(name)
    return str(path.with_suffix("")) if path.suffix else str(path)


def read_files(
    names: Sequence[str], sources: Sequence[str | bytes], container: Path, opts: Mapping[str, Any]
) -> ReadImages:
    """Decodes image files (paths or bytes) with the load options (skip_broken, workers)."""
    return read_images(
        list(names),
        list(sources),
        container=container,
        skip_broken=opts["skip_broken"],
        workers=opts["workers"],
        progress=opts["progress"],
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
