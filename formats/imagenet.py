"""`imagenet`: one folder per class, `<class>/<id><ext>`; unlabeled items in `no_label/`.

Reading: the classes are the folder names, sorted (or the order of `dataset_meta.json` when
present); ids are `<class folder>:<path below it>` (`3:17`), as Datumaro 1.x makes them, so ids
compare and merge across the two tools. Writing follows Datumaro: a `<class>:` before an id is
dropped (the folder says it) and other `:` become `_`; an id in the older spelling `<class>/<id>`
whose first part is its class folder is not nested again either. With several subsets each gets
a folder (`<subset>/<class>/<id><ext>`, torchvision's ImageFolder per split); a tree whose images
all lie three levels down is read that way. Empty class folders are written, so classes without
items survive. An item with several labels is written once into each class folder. A class name
that cannot be a folder name (`T-shirt/top`) gets a safe distinct folder (`T-shirt_top`) and
`dataset_meta.json` keeps the exact names, so they read back unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path, PurePosixPath
from typing import ClassVar

import numpy as np

from engine.errors import (
    FormatError,
    FormatWarning,
    NotThisFormat,
    ValidationError,
    hint,
    warn_caller,
)
from engine.format import Detection, FolderLoadOptions, SaveOptions
from engine.io.categories import META_FILE
from engine.io.imagefolder import is_image_name, list_files, natural_key
from engine.io.images import check_encodable
from engine.io.paths import (
    NameUse,
    check_relative_names,
    check_unique_paths,
    folder_names,
    relative_path,
)
from engine.model import DEFAULT_SUBSET, NO_LABEL, Dataset, Subset, stack_images, subset_order
from formats._common import (
    FolderAdapter,
    check_subset_names,
    image_list,
    non_empty_subsets,
    read_files,
    read_meta,
    require_images,
    save_meta,
    strip_image_ext,
    write_items,
)

NO_LABEL_DIR = "no_label"
#: files beside the class folders that are not images of the dataset
SIDE_FILES = {META_FILE, "labels.txt"}


def class_folders(classes: tuple[str, ...]) -> list[str]:
    """The folder of each class: its name, or a safe distinct stand-in for a name that cannot be
    a folder name (`T-shirt/top` -> `T-shirt_top`; see engine.io.paths.folder_names)."""
    return folder_names(classes, reserved=(NO_LABEL_DIR,))


def plan_subset(subset: Subset, classes: Sequence[str], prefix: str, ext: str):
    """(paths, item ids, images) to write: one entry per (item, label) pair; `classes` are the
    class folders."""
    ids = subset.id_column()
    known = {*classes, NO_LABEL_DIR}
    stems = [without_class(item_id, known) for item_id in ids]
    check_relative_names(stems)
    stems = [stem.replace(":", "_") for stem in stems]  # ':' is not allowed in Windows names
    images = image_list(subset)
    paths, names, pixels = [], [], []
    for index, (item_id, name) in enumerate(zip(ids, stems, strict=True)):
        labels = subset.labels_at(index)
        if any(label >= len(classes) or label < 0 for label in labels):
            raise ValidationError(f"label indices beyond the {len(classes)} class names", [item_id])
        folders = [classes[label] for label in labels] or [NO_LABEL_DIR]
        for folder in folders:
            nested = name.split("/", 1)[0] == folder and "/" in name
            paths.append(relative_path(prefix, "" if nested else folder, name, suffix=ext))
            names.append(item_id)
            pixels.append(images[index])
    return paths, names, pixels


def without_class(item_id: str, folders: set[str]) -> str:
    """The id without the `<class>:` part Datumaro 1.x ids start with (the folder says it)."""
    head, colon, rest = item_id.partition(":")
    return rest if colon and head in folders and rest else item_id


class ImagenetFormat(FolderAdapter):
    """Class-per-folder image trees."""

    name = "imagenet"
    description = "one folder of images per class (ImageNet / torchvision ImageFolder layout)"
    class_names: ClassVar[NameUse] = (
        "text"  # written as safe folder names (engine.io.paths.folder_names)
    )
    #: `<class>:` dropped and ':' replaced first, then checked as paths (plan_subset)
    id_names: ClassVar[NameUse] = "text"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        if not path.is_dir():
            raise NotThisFormat("not a folder")
        entries = [e for e in os.scandir(path) if not e.name.startswith(".")]
        if any(e.is_file() and is_image_name(e.name) for e in entries):
            raise NotThisFormat("images beside the class folders")
        folders = [e for e in entries if e.is_dir()]
        holding = [f.name for f in folders if _holds_images(Path(f.path), depth=2)]
        if not holding:
            raise NotThisFormat("no class folder holding images")
        return Detection(self.name, 2.0, [f"{len(folders)} folders holding images"])

    def read(self, path: Path, subset: str | None, opts: FolderLoadOptions) -> Dataset:
        root = path
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such folder")
        names = [
            str(n)
            for n in list_files(root, follow_symlinks=opts.follow_symlinks)
            if str(n) not in SIDE_FILES
        ]
        depths = {len(PurePosixPath(n).parts) for n in names if is_image_name(n)}
        split = bool(depths) and min(depths) >= 3
        user = _user_folders(names, split)
        names = [n for n in names if "/".join(n.split("/")[: 2 if split else 1]) not in user]
        groups: dict[str, list[str]] = {}
        if split:
            _check_stray([n for n in names if "/" not in n], root, opts)
            names = [n for n in names if "/" in n]
        for name in names:
            key = name.split("/", 1)[0] if split else subset or DEFAULT_SUBSET
            groups.setdefault(key, []).append(name.split("/", 1)[1] if split else name)
        if split and subset is not None:
            groups = {k: v for k, v in groups.items() if k == subset}
        classes = read_meta(root) or _class_folders(root, split, user)
        parts = []
        for group, members in sorted(groups.items(), key=lambda g: subset_order(g[0])):
            base = root / group if split else root
            parts.append(_read_group(base, group, members, classes, opts))
        return Dataset(parts, classes)

    def plan(self, dataset: Dataset, opts: SaveOptions) -> None:
        paths, ids, images = self._planned(dataset, opts)
        check_unique_paths(paths, ids)
        check_encodable(images, ids, opts.image_ext)

    def write(self, dataset: Dataset, directory: Path, opts: SaveOptions) -> None:
        classes = class_folders(dataset.categories)
        subsets = non_empty_subsets(dataset)
        split = len(subsets) > 1
        paths, ids, images = self._planned(dataset, opts)
        for prefix in [s.name for s in subsets] if split else [""]:
            for name in classes:
                (directory / prefix / name).mkdir(parents=True, exist_ok=True)
        if opts.save_media:
            write_items(directory, paths, images, ids, opts)
        if opts.save_dataset_meta or classes != list(dataset.categories):
            save_meta(directory, dataset.categories)  # the exact names of stand-in folders

    def _planned(self, dataset: Dataset, opts: SaveOptions) -> tuple[list, list, list]:
        """(paths, ids, images) of the items to write; ValidationError for what cannot be."""
        classes = class_folders(dataset.categories)
        subsets = non_empty_subsets(dataset)
        check_subset_names(subsets)
        split = len(subsets) > 1
        paths, ids, images = [], [], []
        for subset in subsets:
            require_images(subset)
            prefix = subset.name if split else ""
            more = plan_subset(subset, classes, prefix, opts.image_ext)
            paths += more[0]
            ids += [f"{subset.name}:{i}" if split else i for i in more[1]]
            images += more[2]
        return paths, ids, images


def _holds_images(folder: Path, depth: int) -> bool:
    """True when an image file lies within `depth` levels of `folder` (looked at cheaply)."""
    for count, entry in enumerate(os.scandir(folder)):
        if count > 200:
            return False
        if entry.is_file() and is_image_name(entry.name):
            return True
        if entry.is_dir() and depth > 1 and _holds_images(Path(entry.path), depth - 1):
            return True
    return False


def _user_folders(names: list[str], split: bool) -> set[str]:
    """Class-level folders (`docs`, or `train/docs` when split) holding files but no image:
    the user's, as `owns` says (an overwrite keeps them), so never read as classes either."""
    depth = 2 if split else 1
    holds_images: dict[str, bool] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) > depth:
            folder = "/".join(parts[:depth])
            holds_images[folder] = holds_images.get(folder, False) or is_image_name(name)
    return {folder for folder, images in holds_images.items() if not images}


def _class_folders(
    root: Path, split: bool, user: AbstractSet[str] = frozenset()
) -> tuple[str, ...]:
    """Class names: the folder names (below each subset folder when split), sorted; folders
    that are the user's (files but no image) are not classes."""
    bases = [p for p in root.iterdir() if p.is_dir()] if split else [root]
    names = {
        entry.name
        for base in bases
        for entry in base.iterdir()
        if entry.is_dir()
        and not entry.name.startswith(".")
        and entry.name != NO_LABEL_DIR
        and entry.relative_to(root).as_posix() not in user
    }
    return tuple(sorted(names, key=natural_key))


def _check_stray(stray: list[str], base: Path, opts) -> None:
    """Files outside any class folder: images are an error (or skipped with `skip_broken`);
    other files (notes, files an overwrite kept) are left out with a warning naming them."""
    if not stray:
        return
    images = [name for name in stray if is_image_name(name)]
    if images and not opts.skip_broken:
        raise FormatError(
            base / images[0],
            f"{images[0]}: an image outside any class folder; pass "
            f"{hint('skip_broken=True', '--skip-broken')} to skip such files",
        )
    warn_caller(
        f"{base}: left out {len(stray)} files outside any class folder: {', '.join(stray[:5])}",
        FormatWarning,
    )


def _read_group(base: Path, name: str, members: list[str], classes, opts) -> Subset:
    """One subset: files `<class>/<rest>` below `base`; the id is `<class>:<rest sans extension>`
    (Datumaro 1.x's ids)."""
    _check_stray([m for m in members if "/" not in m], base, opts)
    members = [m for m in members if "/" in m]
    found = read_files(members, [str(base / m) for m in members], base, opts)
    index = {folder: i for i, folder in enumerate(class_folders(classes))}
    labels = np.full(len(found.kept), NO_LABEL, dtype=np.int32)
    ids = []
    for row, member_index in enumerate(found.kept):
        member = members[member_index]
        folder = member.split("/", 1)[0]
        if folder != NO_LABEL_DIR:
            if folder not in index:
                raise FormatError(
                    base / member,
                    f"class folder {folder!r} is not among the classes of {META_FILE}",
                    field="class",
                    expected=list(classes)[:10],
                    actual=folder,
                )
            labels[row] = index[folder]
        ids.append(f"{folder}:{strip_image_ext(member.split('/', 1)[1])}")
    return Subset(
        name=name,
        labels=labels,
        images=stack_images(found.images) if found.images else None,
        ids=np.array(ids, dtype=object),
        image_paths=np.array([str(base / members[i]) for i in found.kept], dtype=object),
    )


FORMAT = ImagenetFormat()
