"""`webdataset`: tar shards for streaming training, `<subset>-000000.tar`, `<subset>-000001.tar`...

Each item is a run of members sharing a key: `<key>.png` (the image), `<key>.cls` (the label as
decimal text; absent for an unlabeled item) and `<key>.json` when the key cannot hold the id or
the item has attributes. The `webdataset` library reads the shards as they are
(`WebDataset(urls).decode("pil").to_tuple("png", "cls")`); class names go to `labels.txt`.
Only the standard library's tarfile is used. Reading is safe: only regular files whose names
stay inside the dataset are read, each member's declared size is checked against a bound before
it is read, and a truncated or damaged tar is a FormatError naming the shard.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from engine.codecs.prepare import check_class_names
from engine.errors import FormatError, NotThisFormat, ValidationError
from engine.format import Adapter, Detection, LoadOptions, PngSaveOptions
from engine.io.categories import load_categories, save_categories
from engine.io.imagefolder import natural_key
from engine.io.images import IMAGE_EXTENSIONS
from engine.io.jsonfile import parse_json
from engine.io.paths import check_relative_names, unsafe_reason
from engine.io.png import decode_pngs, encode_png
from engine.io.regular import open_regular
from engine.model import DEFAULT_SUBSET, NO_LABEL, Dataset, Subset, stack_images, subset_order
from formats._common import non_empty_subsets

SHARD_NAME = re.compile(r"^(?P<subset>.+)-(?P<index>\d{6})\.tar$", re.IGNORECASE)
#: a key the `webdataset` library splits back unchanged (no dot, no slash)
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
#: the library's rule: the key is everything before the first dot of the last path component
MEMBER_NAME = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")
#: a member declaring more bytes than this is refused before it is read
MAX_MEMBER_BYTES = 64 << 20
LABEL_EXTENSIONS = ("cls", "label", "index")
#: the largest class index a label member may hold (labels are int32)
MAX_LABEL = 2**31 - 1


def shard_name(subset: str, index: int) -> str:
    return f"{subset}-{index:06d}.tar"


def tar_files(path: Path) -> dict[str, list[Path]]:
    """subset -> its shards in order, for one .tar file or a folder of them."""
    files = (
        [path] if path.is_file() else sorted(path.glob("*.tar"), key=lambda p: natural_key(p.name))
    )
    found: dict[str, list[Path]] = {}
    for file in files:
        matched = SHARD_NAME.match(file.name)
        subset = matched["subset"] if matched else (file.stem or DEFAULT_SUBSET)
        found.setdefault(subset, []).append(file)
    return dict(sorted(found.items(), key=lambda kv: subset_order(kv[0])))


class WebDatasetOptions(PngSaveOptions):
    """webdataset's save options: items per tar shard (images are PNG)."""

    rows_per_shard: int = Field(10_000, ge=1, description="items per tar shard")


class WebDatasetFormat(Adapter[WebDatasetOptions, LoadOptions]):
    """WebDataset tar shards."""

    name = "webdataset"
    description = (
        "WebDataset tar shards <subset>-000000.tar holding <key>.png, <key>.cls and <key>.json"
    )
    options = WebDatasetOptions

    # -- detection and reading ----------------------------------------------------------------
    def owns(self, entry: Path) -> bool:
        """Shard files and the class list."""
        if entry.is_symlink() or not entry.is_file():
            return False
        return entry.name == "labels.txt" or SHARD_NAME.match(entry.name) is not None

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        files = [f for group in tar_files(path).values() for f in group] if path.exists() else []
        evidence = []
        for file in files[:4]:
            try:
                with open_regular(file) as handle:
                    head = handle.read(512)
            except FormatError as error:
                raise NotThisFormat(str(error)) from None
            if len(head) < 512 or head[257:262] != b"ustar":
                raise NotThisFormat(f"{file.name}: not a POSIX tar file")
            evidence.append(f"{file.name}: tar shard")
        if not evidence:
            raise NotThisFormat("no .tar shard")
        return Detection(self.name, 2.0, evidence)

    def read(self, path: Path, subset: str | None, opts: LoadOptions) -> Dataset:
        groups = tar_files(path)
        if subset is not None:
            groups = {name: files for name, files in groups.items() if name == subset}
        if not groups:
            raise FormatError(
                path,
                "the folder holds no .tar shard",
                field="files",
                expected="a .tar shard",
                actual="none",
            )
        subsets = [self._read_subset(name, files, opts) for name, files in groups.items()]
        top = max((int(s.labels.max()) for s in subsets if len(s)), default=-1)
        root = path if path.is_dir() else path.parent
        return Dataset(subsets, load_categories(root, tuple(str(i) for i in range(top + 1))))

    def _read_subset(self, name: str, files: list[Path], opts: LoadOptions) -> Subset:
        labels: list[int] = []
        ids: list[str] = []
        blobs: list[bytes | None] = []
        where: list[tuple[Path, str]] = []
        attributes: list[dict[str, Any]] = []
        for file in files:
            for key, members in _samples(file):
                record = _json_record(members.get("json"), file, key)
                ids.append(str(record.pop("id", key)))
                labels.append(_label(members, record, file, key))
                attributes.append(record)
                image = next((members[e] for e in members if "." + e in IMAGE_EXTENSIONS), None)
                blobs.append(image)
                where.append((file, key))
        present = [i for i, blob in enumerate(blobs) if blob is not None]
        decoded = decode_pngs(
            [blob for blob in blobs if blob is not None],
            workers=opts.workers,
            progress=opts.progress,
        )
        images: list[np.ndarray | None] = [None] * len(blobs)
        for index, pixels in zip(present, decoded, strict=True):
            if isinstance(pixels, str):
                file, key = where[index]
                raise FormatError(file, f"item {key!r}: {pixels}", field="image")
            images[index] = pixels
        keys = sorted({k for record in attributes for k in record})
        columns = {k: _column([r.get(k) for r in attributes]) for k in keys}
        default = all(value == str(i) for i, value in enumerate(ids))
        return Subset(
            name=name,
            labels=np.array(labels, dtype=np.int32),
            images=stack_images(images),
            ids=None if default else np.array(ids, dtype=object),
            attributes=columns,
        )

    # -- writing --------------------------------------------------------------------------------
    def plan(self, dataset: Dataset, opts: WebDatasetOptions) -> None:
        self._planned(dataset)

    def _planned(self, dataset: Dataset) -> list[Subset]:
        """The subsets to write; ValidationError for what the shards cannot hold."""
        subsets = non_empty_subsets(dataset)
        check_relative_names([s.name for s in subsets], "subset names")
        nested = [s.name for s in subsets if "/" in s.name]
        if nested:
            raise ValidationError("subset names with '/' cannot be shard file names", nested)
        check_class_names(dataset.categories)
        for subset in subsets:
            _check_writable(subset)
        return subsets

    def write(self, dataset: Dataset, directory: Path, opts: WebDatasetOptions) -> None:
        for subset in self._planned(dataset):
            per_shard = opts.rows_per_shard
            for shard, start in enumerate(range(0, len(subset), per_shard)):
                stop = min(len(subset), start + per_shard)
                target = directory / shard_name(subset.name, shard)
                _write_shard(target, subset, start, stop, opts)
        save_categories(directory, dataset.categories, dataset_meta=opts.save_dataset_meta)


def _column(values: list[Any]) -> np.ndarray:
    """An attribute column: int64 or float64 when every value is such a number, else objects."""
    kinds = {type(v) for v in values}
    if kinds == {int}:
        return np.array(values, dtype=np.int64)
    if kinds <= {int, float} and kinds:
        return np.array(values, dtype=np.float64)
    return np.array(values, dtype=object)


def _check_writable(subset: Subset) -> None:
    ids = subset.id_column()
    if subset.multi_labels:
        raise ValidationError(
            "items with more than one label cannot be stored in one .cls member",
            [ids[i] for i in sorted(subset.multi_labels)],
        )
    for name in subset.attributes:
        if name == "id":
            raise ValidationError("an attribute named 'id' clashes with the item id in .json")


def _keys(subset: Subset) -> tuple[list[str], bool]:
    """(member keys, whether the ids need a .json): ids when the library keeps them as keys."""
    ids = [str(i) for i in subset.id_column()]
    if all(PLAIN_KEY.match(i) for i in ids) and len(set(ids)) == len(ids):
        return ids, False
    width = max(6, len(str(len(ids))))
    return [f"{row:0{width}d}" for row in range(len(ids))], True


def _write_shard(
    target: Path, subset: Subset, start: int, stop: int, opts: WebDatasetOptions
) -> None:
    keys, ids_in_json = _keys(subset)
    ids = subset.id_column()
    level = opts.compresslevel
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for row in range(start, stop):
            key = keys[row]
            image = subset.image_at(row) if opts.save_media else None
            if image is not None:
                _add(tar, f"{key}.png", encode_png(image, level))
            label = int(subset.labels[row])
            if label != NO_LABEL:
                _add(tar, f"{key}.cls", str(label).encode())
            record = {k: _plain(v[row]) for k, v in subset.attributes.items()}
            if ids_in_json:
                record = {"id": str(ids[row]), **record}
            if record or (image is None and label == NO_LABEL):
                text = json.dumps(record or {"id": str(ids[row])}, ensure_ascii=False)
                _add(tar, f"{key}.json", text.encode("utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# -- safe reading ---------------------------------------------------------------------------------
def _samples(file: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) per item, in order; every member checked before it is read."""
    key: str | None = None
    members: dict[str, bytes] = {}
    try:
        with open_regular(file) as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
            for member in tar:
                if member.isdir():
                    continue
                data = _member_bytes(tar, member, file)
                matched = MEMBER_NAME.match(member.name)
                if matched is None:
                    raise FormatError(
                        file,
                        f"member {member.name!r} has no <key>.<extension> name",
                        offset=member.offset,
                        field="member name",
                    )
                this_key, extension = matched[1], matched[2].lower()
                if this_key != key:
                    if key is not None:
                        yield key, members
                    key, members = this_key, {}
                if extension in members:
                    raise FormatError(
                        file, f"two members {member.name!r} for one item", offset=member.offset
                    )
                members[extension] = data
            _check_end(file, tar.offset)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise FormatError(file, f"not a readable tar file ({error})") from None
    if key is not None:
        yield key, members


def _check_end(file: Path, offset: int) -> None:
    """tarfile takes a cut-off header for the end of the archive: demand the two zero blocks."""
    with open_regular(file) as handle:
        handle.seek(offset)
        end = handle.read(1024)
    if len(end) < 1024 or end.count(0) != 1024:
        raise FormatError(
            file,
            "truncated: the archive stops without its end-of-archive blocks",
            offset=offset,
            field="end of archive",
            expected="1024 zero bytes",
            actual=f"{len(end)} bytes",
        )


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo, file: Path) -> bytes:
    if not member.isreg():
        kind = "link" if member.issym() or member.islnk() else "special file"
        raise FormatError(
            file,
            f"member {member.name!r} is a {kind}; only regular files are read",
            offset=member.offset,
            field="member type",
            expected="regular file",
            actual=kind,
        )
    reason = unsafe_reason(member.name)
    if reason is not None:
        raise FormatError(
            file, f"member {member.name!r} {reason}", offset=member.offset, field="member name"
        )
    if member.size > MAX_MEMBER_BYTES:
        raise FormatError(
            file,
            f"member {member.name!r} declares {member.size} bytes, more than {MAX_MEMBER_BYTES}",
            offset=member.offset,
            field="size",
            expected=f"<= {MAX_MEMBER_BYTES}",
            actual=member.size,
        )
    handle = tar.extractfile(member)
    data = handle.read() if handle is not None else b""
    if len(data) != member.size:
        raise FormatError(
            file,
            f"member {member.name!r} is truncated",
            offset=member.offset_data,
            field="size",
            expected=member.size,
            actual=len(data),
        )
    return data


def _json_record(data: bytes | None, file: Path, key: str) -> dict[str, Any]:
    if data is None:
        return {}
    return parse_json(data, file, what=f"member {key}.json", expect=dict)


def _label(members: dict[str, bytes], record: dict[str, Any], file: Path, key: str) -> int:
    extension = next((e for e in LABEL_EXTENSIONS if e in members), None)
    if extension is None:
        return NO_LABEL
    text = members[extension].decode("ascii", "replace").strip()
    if not text.lstrip("-").isdigit() or len(text) > 10 or not -1 <= int(text) <= MAX_LABEL:
        raise FormatError(
            file,
            f"{key}.{extension} holds {text[:20]!r}, not a class index",
            field="label",
            expected=f"a whole number from 0 to {MAX_LABEL}",
            actual=text[:20],
        )
    return int(text)


FORMAT = WebDatasetFormat()
