"""`image_zip`: the images of `image_dir` inside one zip archive (default name `default.zip`).

Members are `<id><ext>` (under `<subset>/` when there are several subsets); images are stored
uncompressed by default, since PNG and JPEG are compressed already. Member names that would
escape a folder on extraction (`..`, absolute paths) are refused on reading and on writing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import FormatError, NotThisFormat
from engine.io.imagefolder import natural_key
from engine.io.images import check_encodable, encode_images
from engine.io.paths import check_unique_paths, unsafe_reason
from engine.model import DEFAULT_SUBSET, Dataset
from engine.registry import Detection
from engine.registry.export_options import ExportOption, options_from_defaults
from formats._common import (
    SAVE_OPTIONS,
    ImageFilesFormat,
    ids_from_names,
    image_list,
    plan_unlabeled,
    read_files,
    unlabeled_subset,
)

DEFAULT_NAME = "default.zip"
COMPRESSIONS = {
    "stored": zipfile.ZIP_STORED,
    "deflated": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}
#: a member declaring more bytes than this is refused before it is read (zip bombs)
MAX_MEMBER_BYTES = 1 << 28


def _compression(value: str) -> int:
    key = str(value).lower().removeprefix("zip_")
    if key not in COMPRESSIONS:
        raise ValueError(f"image_zip: compression {value!r} is not one of {sorted(COMPRESSIONS)}")
    return COMPRESSIONS[key]


def _archives(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(path.glob("*.zip"), key=lambda p: natural_key(p.name))
    raise FileNotFoundError(f"{path}: no such file or folder")


class ImageZipFormat(ImageFilesFormat):
    """Zip archives of image files."""

    name = "image_zip"
    save_defaults: ClassVar[dict[str, Any]] = {
        **SAVE_OPTIONS,
        "name": DEFAULT_NAME,
        "compression": "stored",
    }
    options = options_from_defaults(
        save_defaults,
        compression=ExportOption(
            "compression", str, "zip member compression", choices=tuple(COMPRESSIONS)
        ),
    )
    description = "images in a zip archive (no labels); ids are member paths without extension"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        archives = [p for p in _archives(path) if zipfile.is_zipfile(p)] if path.exists() else []
        if not archives:
            raise NotThisFormat("no zip archive")
        return Detection(self.name, 2.0, [f"{p.name}: a zip archive" for p in archives])

    def read(self, path: Path, subset: str | None, opts: dict[str, Any]) -> Dataset:
        archives = _archives(path)
        if not archives:
            raise FileNotFoundError(f"{path}: no .zip archive found")
        if subset is not None and len(archives) > 1:
            archives = [a for a in archives if a.stem == subset]
        subsets = []
        for archive in archives:
            name = subset or (DEFAULT_SUBSET if len(archives) == 1 else archive.stem)
            names, blobs = _read_members(archive)
            ids = ids_from_names(names, archive)
            found = read_files(names, blobs, archive, opts)
            kept = found.kept
            paths = [f"{archive}/{names[i]}" for i in kept]  # the member's name inside the zip
            subsets.append(unlabeled_subset(name, [ids[i] for i in kept], found.images, paths))
        return Dataset(subsets)

    def check_save_options(self, opts: dict[str, Any]) -> None:
        _compression(opts["compression"])
        archive_name = str(opts["name"])
        if unsafe_reason(archive_name) or "/" in archive_name:
            raise ValueError(f"image_zip: archive name {archive_name!r} must be a plain file name")

    def write(self, dataset: Dataset, directory: Path, opts: dict[str, Any]) -> None:
        method = _compression(opts["compression"])
        archive_name = str(opts["name"])
        planned = plan_unlabeled(self.name, dataset, opts["image_ext"])
        paths = [p for _, ps in planned for p in ps]
        ids = [i for s, _ in planned for i in s.id_column()]
        # plan_unlabeled has checked that every item has an image
        images = [
            image for subset, _ in planned for image in image_list(subset) if image is not None
        ]
        check_unique_paths(paths, ids)
        check_encodable(images, ids, opts["image_ext"])
        blobs = []
        if opts["save_media"]:
            blobs = encode_images(
                images,
                ids,
                ext=opts["image_ext"],
                compresslevel=int(opts["compresslevel"]),
                workers=opts["workers"],
                progress=opts["progress"],
            )
        with zipfile.ZipFile(directory / archive_name, "w", method) as archive:
            for member, blob in zip(paths, blobs, strict=False):
                archive.writestr(str(member), blob)


def _read_members(archive: Path) -> tuple[list[str], list[bytes]]:
    """Names and bytes of an archive's files; FormatError for a damaged or unsafe archive."""
    try:
        with zipfile.ZipFile(archive) as opened:
            infos = [info for info in opened.infolist() if not info.is_dir()]
            for info in infos:
                reason = unsafe_reason(info.filename)
                if reason:
                    raise FormatError(
                        archive,
                        f"member {info.filename!r} {reason}; refusing an archive that could "
                        "write outside its folder",
                        field="member name",
                    )
                if info.file_size > MAX_MEMBER_BYTES:
                    raise FormatError(
                        archive,
                        f"member {info.filename!r} declares {info.file_size} bytes, more than "
                        f"the {MAX_MEMBER_BYTES} an image may have",
                        field="file size",
                    )
            infos = [i for i in infos if not any(p.startswith(".") for p in i.filename.split("/"))]
            infos.sort(key=lambda info: natural_key(info.filename))
            return [i.filename for i in infos], [opened.read(i) for i in infos]
    except zipfile.BadZipFile as error:
        raise FormatError(archive, f"not a readable zip archive ({error})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise FormatError(archive, f"cannot read the archive ({error})") from None


FORMAT = ImageZipFormat()
