"""`image_zip`: the images of `image_dir` inside one zip archive (default name `default.zip`).

Members are `<id><ext>` (under `<subset>/` when there are several subsets); images are stored
uncompressed by default, since PNG and JPEG are compressed already. Member names that would
escape a folder on extraction (`..`, absolute paths) are refused on reading and on writing.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from engine.errors import FormatError, NotThisFormat
from engine.format import Adapter, Detection, LoadOptions, SaveOptions
from engine.io.categories import META_FILE
from engine.io.imagefolder import is_image_name, natural_key
from engine.io.images import MAX_IMAGE_FILE_BYTES, check_encodable, encode_images
from engine.io.paths import check_unique_paths, unsafe_reason
from engine.io.regular import check_regular, is_regular
from engine.model import DEFAULT_SUBSET, Dataset
from formats._common import (
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
#: the most bytes one member (an image file) may hold; a member declaring more is refused before
#: it is inflated, and one inflating past its declared size is refused as it inflates
MAX_MEMBER_BYTES = MAX_IMAGE_FILE_BYTES
#: all members together may inflate to this many times the archive's size (64 MiB at least)
INFLATION_RATIO = 200
MIN_INFLATION_BOUND = 1 << 26


class ImageZipOptions(SaveOptions):
    """image_zip's save options: the archive's name and its members' compression."""

    name: str = Field(DEFAULT_NAME, description="archive name")
    compression: Literal["stored", "deflated", "bzip2", "lzma"] = Field(
        "stored", description="zip member compression"
    )

    @field_validator("compression", mode="before")
    @classmethod
    def _plain_name(cls, value: object) -> object:
        return str(value).lower().removeprefix("zip_")

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        if unsafe_reason(value) or "/" in value:
            raise ValueError(f"archive name {value!r} must be a plain file name")
        return value


def _archives(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(path.glob("*.zip"), key=lambda p: natural_key(p.name))
    raise FileNotFoundError(f"{path}: no such file or folder")


class ImageZipFormat(Adapter[ImageZipOptions, LoadOptions]):
    """Zip archives of image files."""

    name = "image_zip"
    options = ImageZipOptions
    description = "images in a zip archive (no labels); ids are member paths without extension"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        found = _archives(path) if path.exists() else []
        archives = [p for p in found if is_regular(p) and zipfile.is_zipfile(p)]
        if not archives:
            raise NotThisFormat("no zip archive")
        return Detection(self.name, 2.0, [f"{p.name}: a zip archive" for p in archives])

    def owns(self, entry: Path) -> bool:
        """Zip archives holding only images, and dataset_meta.json."""
        if entry.name == META_FILE or not entry.is_file() or entry.is_symlink():
            return entry.name == META_FILE
        try:
            with zipfile.ZipFile(entry) as opened:
                names = [i.filename for i in opened.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return False
        return bool(names) and all(is_image_name(name) for name in names)

    def named_like(self, entry: Path) -> bool:
        """Any regular ``.zip`` file: a damaged archive is still named as this format's."""
        return entry.suffix.lower() == ".zip" and entry.is_file() and not entry.is_symlink()

    def read(self, path: Path, subset: str | None, opts: LoadOptions) -> Dataset:
        archives = _archives(path)
        if not archives:
            raise FormatError(
                path,
                "the folder holds no .zip archive",
                field="files",
                expected="a .zip archive",
                actual="none",
            )
        if subset is not None and len(archives) > 1:
            archives = [a for a in archives if a.stem == subset]
        subsets = []
        for archive in archives:
            name = subset or (DEFAULT_SUBSET if len(archives) == 1 else archive.stem)
            check_regular(archive)  # a FIFO would block the open, /dev/zero never end
            names, blobs = _read_members(archive)
            ids = ids_from_names(names, archive)
            found = read_files(names, blobs, archive, opts)
            kept = found.kept
            paths = [f"{archive}/{names[i]}" for i in kept]  # the member's name inside the zip
            subsets.append(unlabeled_subset(name, [ids[i] for i in kept], found.images, paths))
        return Dataset(subsets)

    def plan(self, dataset: Dataset, opts: ImageZipOptions) -> None:
        self._planned(dataset, opts)

    def _planned(
        self, dataset: Dataset, opts: ImageZipOptions
    ) -> tuple[list[str], list[str], list]:
        """(member paths, ids, images) to write; ValidationError for what cannot be."""
        planned = plan_unlabeled(self.name, dataset, opts.image_ext)
        paths = [p for _, ps in planned for p in ps]
        ids = [i for s, _ in planned for i in s.id_column()]
        # plan_unlabeled has checked that every item has an image
        images = [
            image for subset, _ in planned for image in image_list(subset) if image is not None
        ]
        check_unique_paths(paths, ids)
        check_encodable(images, ids, opts.image_ext)
        return paths, ids, images

    def write(self, dataset: Dataset, directory: Path, opts: ImageZipOptions) -> None:
        paths, ids, images = self._planned(dataset, opts)
        blobs = []
        if opts.save_media:
            blobs = encode_images(images, ids, **opts.image_args())
        with zipfile.ZipFile(directory / opts.name, "w", COMPRESSIONS[opts.compression]) as archive:
            for member, blob in zip(paths, blobs, strict=False):
                archive.writestr(str(member), blob)


def _read_members(archive: Path) -> tuple[list[str], list[bytes]]:
    """Names and bytes of an archive's files; FormatError for a damaged, unsafe or bomb archive.

    Decided from the declared sizes before anything is inflated (a member past MAX_MEMBER_BYTES,
    or all members past ``inflation_bound(archive)``), then enforced while inflating: a member
    that inflates past its declared size stops the read at once, so memory is bounded by what
    real images can hold whatever the archive claims.
    """
    try:
        with zipfile.ZipFile(archive) as opened:
            infos = [_checked(archive, info) for info in opened.infolist()]
            infos = [i for i in infos if not i.is_dir()]
            infos = [i for i in infos if not any(p.startswith(".") for p in i.filename.split("/"))]
            infos.sort(key=lambda info: natural_key(info.filename))
            budget = inflation_bound(archive)
            _check_declared_total(archive, infos, budget)
            blobs = []
            for info in infos:
                blob = _inflate(archive, opened, info, min(info.file_size, budget))
                budget -= len(blob)
                blobs.append(blob)
            return [i.filename for i in infos], blobs
    except zipfile.BadZipFile as error:
        raise FormatError(archive, f"not a readable zip archive ({error})") from None
    except UnicodeDecodeError as error:
        raise FormatError(
            archive, f"a member name flagged UTF-8 is not UTF-8 ({error.reason})", field="name"
        ) from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise FormatError(archive, f"cannot read the archive ({error})") from None


def inflation_bound(archive: Path) -> int:
    """How many bytes all members of `archive` may inflate to: 200 times its size, 64 MiB at
    least (images are compressed already; far higher ratios are bombs)."""
    return max(MIN_INFLATION_BOUND, INFLATION_RATIO * archive.stat().st_size)


def _check_declared_total(archive: Path, infos: list[zipfile.ZipInfo], budget: int) -> None:
    """Refuses, before inflating, members whose declared sizes add up past ``budget``."""
    total = 0
    for info in infos:
        total += info.file_size
        if total > budget:
            raise FormatError(
                archive,
                f"members up to {info.filename!r} declare {total} bytes, more than the {budget} "
                f"an archive of {archive.stat().st_size} bytes may inflate to; refusing a zip bomb",
                offset=info.header_offset,
                field="declared sizes",
                expected=f"<= {budget}",
                actual=total,
            )


def _checked(archive: Path, info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """The member, when its name is safe, it is not encrypted and declares a sane size."""
    if not info.filename:
        raise FormatError(archive, "a member has an empty name", field="member name")
    reason = unsafe_reason(info.filename.rstrip("/"))
    if reason:
        raise FormatError(
            archive,
            f"member {info.filename!r} {reason}; refusing an archive that could "
            "write outside its folder",
            field="member name",
        )
    if info.flag_bits & 0x1:
        raise FormatError(
            archive, f"member {info.filename!r} is encrypted; encrypted archives are not read"
        )
    if info.file_size > MAX_MEMBER_BYTES:
        raise FormatError(
            archive,
            f"member {info.filename!r} declares {info.file_size} bytes, more than "
            f"the {MAX_MEMBER_BYTES} an image may have; refusing a zip bomb",
            offset=info.header_offset,
            field="file size",
            expected=f"<= {MAX_MEMBER_BYTES}",
            actual=info.file_size,
        )
    return info


def _inflate(archive: Path, opened: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, read in chunks and stopped as soon as they pass `limit`."""
    chunks = []
    total = 0
    try:
        with opened.open(info) as member:
            while chunk := member.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise FormatError(
                        archive,
                        f"member {info.filename!r} inflates past {limit} bytes (declared "
                        f"{info.file_size}); refusing a zip bomb",
                        offset=info.header_offset,
                        field="inflated size",
                        expected=f"<= {limit}",
                        actual=f"> {limit}",
                    )
                chunks.append(chunk)
    except FormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError) as error:
        raise FormatError(
            archive,
            f"member {info.filename!r} is damaged ({type(error).__name__}: {error})",
            offset=info.header_offset,
        ) from None
    except (RuntimeError, NotImplementedError) as error:
        raise FormatError(archive, f"member {info.filename!r} cannot be read ({error})") from None
    return b"".join(chunks)


FORMAT = ImageZipFormat()
