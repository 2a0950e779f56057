"""`image_dir`: a flat or nested folder of images, no labels; ids are relative paths sans extension.

With several subsets each goes into a folder named after it (`<subset>/<id><ext>`); reading gives
one subset whose ids keep that folder, so ids never clash and no image is lost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import FormatError, NotThisFormat
from engine.io.imagefolder import is_image_name, list_files, read_images
from engine.io.paths import check_relative_names, relative_path
from engine.model import DEFAULT_SUBSET, NO_LABEL, Dataset, Subset, stack_images
from engine.registry import Detection
from formats._common import (
    LOAD_OPTIONS,
    SAVE_OPTIONS,
    ImageFilesFormat,
    check_options,
    check_subset_names,
    converted,
    image_list,
    non_empty_subsets,
    require_images,
    strip_image_ext,
    warn_labels_dropped,
    write_items,
)


def item_paths(dataset: Dataset, ext: str) -> list[tuple[Subset, list[str]]]:
    """Where each item's image goes: `<id><ext>`, under `<subset>/` when there are several."""
    subsets = non_empty_subsets(dataset)
    check_subset_names(subsets)
    nested = len(subsets) > 1
    out = []
    for subset in subsets:
        ids = subset.id_column()
        check_relative_names(ids)
        prefix = subset.name if nested else ""
        out.append((subset, [relative_path(prefix, str(i), suffix=ext) for i in ids]))
    return out


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


def unlabeled_subset(name: str, ids: list[str], images: list[np.ndarray]) -> Subset:
    return Subset(
        name=name,
        labels=np.full(len(ids), NO_LABEL, dtype=np.int32),
        images=stack_images(images) if images else None,
        ids=np.array(ids, dtype=object),
    )


class ImageDirFormat(ImageFilesFormat):
    """A folder of image files, read and written through the shared image pool."""

    name = "image_dir"
    description = "a flat or nested folder of images (no labels); ids are relative paths"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        if not path.is_dir():
            raise NotThisFormat("not a folder")
        seen = 0
        for _root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.startswith("."):
                    continue
                if not is_image_name(name):
                    raise NotThisFormat(f"{name}: not an image file")
                seen += 1
            if seen >= 50:
                break
        if not seen:
            raise NotThisFormat("no image files")
        return Detection(self.name, 1.0, [f"{path.name}: holds only image files"])

    def load(self, path: Path, *, subset: str | None = None, **options: Any) -> Dataset:
        opts = check_options(self.name, options, LOAD_OPTIONS)
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such folder")
        names = [str(name) for name in list_files(path)]
        ids = ids_from_names(names, path)
        found = read_images(
            names,
            [str(path / name) for name in names],
            container=path,
            skip_broken=opts["skip_broken"],
            workers=opts["workers"],
            progress=opts["progress"],
        )
        kept_ids = [ids[i] for i in found.kept]
        return Dataset([unlabeled_subset(subset or DEFAULT_SUBSET, kept_ids, found.images)])

    def save(self, dataset: Dataset, directory: Path, **options: Any) -> None:
        opts = check_options(self.name, options, SAVE_OPTIONS)
        dataset = converted(dataset, opts)
        planned = item_paths(dataset, opts["image_ext"])
        for subset, _ in planned:
            require_images(subset)
        warn_labels_dropped(self.name, dataset)
        if not opts["save_media"]:
            return
        paths = [p for _, ps in planned for p in ps]
        ids = [
            f"{s.name}:{i}" if len(planned) > 1 else i for s, _ in planned for i in s.id_column()
        ]
        images = [image for subset, _ in planned for image in image_list(subset)]
        if len(planned) == 1 and planned[0][0].has_uniform_images:
            images = planned[0][0].images
        write_items(directory, paths, images, ids, opts)


FORMAT = ImageDirFormat()
