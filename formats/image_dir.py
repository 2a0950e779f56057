"""`image_dir`: a flat or nested folder of images, no labels; ids are relative paths sans extension.

With several subsets each goes into a folder named after it (`<subset>/<id><ext>`); reading gives
one subset whose ids keep that folder, so ids never clash and no image is lost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import NotThisFormat
from engine.format import Detection, FolderLoadOptions, SaveOptions
from engine.io.imagefolder import is_image_name, list_files
from engine.io.images import check_encodable
from engine.io.paths import check_unique_paths
from engine.model import DEFAULT_SUBSET, Dataset
from engine.ops.card import is_our_card
from formats._common import (
    FolderAdapter,
    ids_from_names,
    image_list,
    plan_unlabeled,
    read_files,
    unlabeled_subset,
    write_items,
)


class ImageDirFormat(FolderAdapter):
    """A folder of image files, read and written through the shared image pool."""

    name = "image_dir"
    description = "a flat or nested folder of images (no labels); ids are relative paths"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        if not path.is_dir():
            raise NotThisFormat("not a folder")
        seen = 0
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.startswith(".") or (root == str(path) and is_our_card(path / name)):
                    continue  # hidden files, and a dataset card this engine wrote beside them
                if not is_image_name(name):
                    raise NotThisFormat(f"{name}: not an image file")
                seen += 1
            if seen >= 50:
                break
        if not seen:
            raise NotThisFormat("no image files")
        return Detection(self.name, 1.0, [f"{path.name}: holds only image files"])

    def read(self, path: Path, subset: str | None, opts: FolderLoadOptions) -> Dataset:
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such folder")
        names = [str(name) for name in list_files(path, follow_symlinks=opts.follow_symlinks)]
        ids = ids_from_names(names, path)
        found = read_files(names, [str(path / name) for name in names], path, opts)
        kept_ids = [ids[i] for i in found.kept]
        paths = [str(path / names[i]) for i in found.kept]
        return Dataset([unlabeled_subset(subset or DEFAULT_SUBSET, kept_ids, found.images, paths)])

    def plan(self, dataset: Dataset, opts: SaveOptions) -> None:
        paths, ids, images = self._planned(dataset, opts)
        check_unique_paths(paths, ids)
        check_encodable(images, ids, opts.image_ext)

    def write(self, dataset: Dataset, directory: Path, opts: SaveOptions) -> None:
        paths, ids, images = self._planned(dataset, opts)
        if opts.save_media:
            write_items(directory, paths, images, ids, opts)

    def _planned(self, dataset: Dataset, opts: SaveOptions) -> tuple[list[str], list[str], Any]:
        """(paths, ids, images) of the items to write; ValidationError for what cannot be."""
        planned = plan_unlabeled(self.name, dataset, opts.image_ext)
        paths = [p for _, ps in planned for p in ps]
        ids = [
            f"{s.name}:{i}" if len(planned) > 1 else i for s, _ in planned for i in s.id_column()
        ]
        only = planned[0][0].images if len(planned) == 1 else None
        images = (
            only
            if isinstance(only, np.ndarray)
            else [image for s, _ in planned for image in image_list(s) if image is not None]
        )
        return paths, ids, images


FORMAT = ImageDirFormat()
