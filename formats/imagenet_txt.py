"""`imagenet_txt`: `images/<id><ext>`, a `<subset>.txt` list of `<file> <label ids...>` lines, and
`synsets.txt` (class names, one per line).

A line may hold several label ids (a multi-label item) or none (unlabeled). An id holding
whitespace is written quoted, `"<id>"<ext> 3`, as Datumaro does. With several subsets, or an id
that starts with its subset's name, the file goes to `images/<subset>/<id><ext>` so ids of
different subsets never clash; reading removes that `<subset>/` again, so ids round-trip exactly.
An item without image is listed without extension (`<id> <labels>`). A listed image file that
is missing is a FormatError (the item is kept without image with `skip_broken`); a folder without
`images/` gives items without images (a labels-only export).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import FormatError, NotThisFormat, ValidationError
from engine.io.imagefolder import is_image_name
from engine.io.paths import check_relative_names, relative_path, unsafe_reason
from engine.model import NO_LABEL, Dataset, Subset, stack_images, subset_order
from engine.registry import Detection
from formats._common import (
    ImageFilesFormat,
    check_subset_names,
    image_list,
    read_files,
    read_meta,
    save_meta,
    write_items,
)

LABELS_FILE = "synsets.txt"
IMAGE_DIR = "images"
NOT_LISTS = {LABELS_FILE, "labels.txt"}
_QUOTED = re.compile(r'^"([^"]*)"(\S*)((?:\s+\S+)*)\s*$')


def parse_line(line: str, path: Path, number: int) -> tuple[str, str, list[int]]:
    """(id, image file, label ids) of one list line."""
    if '"' in line:
        match = _QUOTED.match(line)
        if not match:
            raise FormatError(
                path, f"expected '\"<id>\"<ext> <labels>', found {line[:60]!r}", line=number
            )
        item_id, ext, rest = match.group(1), match.group(2), match.group(3).split()
        file = item_id + ext
    else:
        fields = line.split()
        file, rest = fields[0], fields[1:]
        item_id = file.rsplit(".", 1)[0] if "." in file.rsplit("/", 1)[-1] else file
    labels = []
    for column, text in enumerate(rest, start=2):
        if not text.isdigit():
            raise FormatError(
                path,
                f"label id {text!r} is not a whole number >= 0",
                line=number,
                column=column,
                field="label",
                expected="digits",
                actual=text,
            )
        labels.append(int(text))
    return item_id, file, labels


def _format_line(file_id: str, ext: str, labels: tuple[int, ...]) -> str:
    name = f'"{file_id}"{ext}' if any(c.isspace() for c in file_id) else file_id + ext
    return " ".join([name, *(str(label) for label in labels)]) + "\n"


def _file_id(subset: str, item_id: str, prefixed: bool) -> str:
    return f"{subset}/{item_id}" if prefixed or item_id.startswith(subset + "/") else item_id


class ImagenetTxtFormat(ImageFilesFormat):
    """Image folder plus per-subset lists of label ids."""

    name = "imagenet_txt"
    description = "images/ plus <subset>.txt lines '<file> <label ids>' and synsets.txt"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        root = path if path.is_dir() else path.parent
        lists = _lists(root)
        if not lists:
            raise NotThisFormat("no <subset>.txt list")
        evidence = []
        for file in lists[:3]:
            try:
                with open(file, encoding="utf-8") as opened:
                    first = next((line for line in opened if line.strip()), None)
                if first is None:
                    continue
                _, _, labels = parse_line(first, file, 1)
            except (FormatError, UnicodeDecodeError, OSError) as error:
                raise NotThisFormat(str(error)) from None
            if not labels:
                continue
            evidence.append(f"{file.name}: '<file> <label ids>' lines")
        if not evidence:
            raise NotThisFormat("no labelled list line")
        for marker in (LABELS_FILE, IMAGE_DIR):
            if (root / marker).exists():
                evidence.append(f"{marker} present")
        return Detection(self.name, float(len(evidence)), evidence)

    def read(self, path: Path, subset: str | None, opts: dict[str, Any]) -> Dataset:
        root = path if path.is_dir() else path.parent
        lists = [path] if path.is_file() else _lists(root)
        if subset is not None:
            lists = [f for f in lists if f.stem == subset]
        if not lists:
            raise FileNotFoundError(f"{path}: no <subset>.txt list found")
        classes = read_meta(root) or _read_synsets(root / LABELS_FILE)
        entries = [_read_list(f, classes) for f in lists]
        most = max((max(max(ls, default=-1) for _, _, ls in e) for e in entries if e), default=-1)
        if not classes:
            classes = tuple(f"class-{i}" for i in range(most + 1))
        return Dataset(
            [_subset(root, f, e, opts) for f, e in zip(lists, entries, strict=True)], classes
        )

    def write(self, dataset: Dataset, directory: Path, opts: dict[str, Any]) -> None:
        subsets = list(dataset.subsets().values())
        check_subset_names(subsets, flat=True)
        classes = dataset.categories
        bad_names = [n for n in classes if not n.strip() or "\n" in n or "\r" in n]
        if bad_names:
            raise ValidationError("class names must be one line each in synsets.txt", bad_names)
        prefixed = len([s for s in subsets if len(s)]) > 1
        ext = opts["image_ext"]
        paths, ids, images = [], [], []
        for subset in subsets:
            item_ids = subset.id_column()
            check_relative_names(item_ids)
            quoted = [i for i in item_ids if '"' in i]
            if quoted:
                raise ValidationError("ids holding '\"' cannot be written to the list", quoted)
            lines = []
            pixels = image_list(subset)
            for index, item_id in enumerate(item_ids):
                labels = subset.labels_at(index)
                if any(label >= len(classes) for label in labels):
                    raise ValidationError(
                        f"label indices beyond the {len(classes)} classes", [item_id]
                    )
                file_id = _file_id(subset.name, item_id, prefixed)
                image = pixels[index]
                stored = opts["save_media"] and image is not None
                lines.append(_format_line(file_id, ext if stored else "", labels))
                if image is not None:
                    paths.append(relative_path(IMAGE_DIR, file_id, suffix=ext))
                    ids.append(f"{subset.name}:{item_id}" if prefixed else item_id)
                    images.append(image)
            (directory / f"{subset.name}.txt").write_text("".join(lines), encoding="utf-8")
        (directory / LABELS_FILE).write_text("".join(f"{n}\n" for n in classes), encoding="utf-8")
        if opts["save_dataset_meta"]:
            save_meta(directory, classes)
        if opts["save_media"] and paths:
            write_items(directory, paths, images, ids, opts)


def _lists(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    found = [
        p for p in root.glob("*.txt") if p.name not in NOT_LISTS and not p.name.startswith(".")
    ]
    return sorted(found, key=lambda p: subset_order(p.stem))


def _read_synsets(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return ()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text: {error.reason}", offset=error.start) from None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _read_list(path: Path, classes: tuple[str, ...]) -> list[tuple[str, str, list[int]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text: {error.reason}", offset=error.start) from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item_id, file, labels = parse_line(line, path, number)
        reason = unsafe_reason(file)
        if reason:
            raise FormatError(path, f"image file {file!r} {reason}", line=number, field="file")
        if classes and any(label >= len(classes) for label in labels):
            raise FormatError(
                path,
                f"label id {max(labels)} is beyond the {len(classes)} classes",
                line=number,
                field="label",
                expected=f"0..{len(classes) - 1}",
                actual=max(labels),
            )
        entries.append((item_id, file, labels))
    return entries


def _subset(root: Path, path: Path, entries, opts) -> Subset:
    name = path.stem
    prefix = name + "/"
    ids = [i[len(prefix) :] if i.startswith(prefix) else i for i, _, _ in entries]
    labels = np.full(len(entries), NO_LABEL, dtype=np.int32)
    multi = {}
    for row, (_, _, found) in enumerate(entries):
        if found:
            labels[row] = found[0]
        if len(found) > 1:
            multi[row] = tuple(found)
    images = None
    paths = None
    folder = root / IMAGE_DIR
    if folder.is_dir() and entries:
        with_image = [i for i, (_, file, _) in enumerate(entries) if is_image_name(file)]
        files = [entries[i][1] for i in with_image]
        sources = []
        for file in files:
            source = folder / file
            sources.append(str(source) if source.is_file() else b"")
        missing = [f for f, s in zip(files, sources, strict=True) if s == b""]
        if missing and not opts["skip_broken"]:
            raise FormatError(
                folder / missing[0],
                f"listed in {path.name} but missing ({len(missing)} such files); "
                "pass skip_broken=True (--skip-broken) to keep those items without image",
            )
        found = read_files(files, sources, folder, opts)
        pixels: list = [None] * len(entries)
        paths = np.full(len(entries), None, dtype=object)
        for image, index in zip(found.images, found.kept, strict=True):
            pixels[with_image[index]] = image
            paths[with_image[index]] = str(folder / files[index])
        images = stack_images(pixels)
    return Subset(
        name=name,
        labels=labels,
        images=images,
        ids=np.array(ids, dtype=object),
        multi_labels=multi,
        image_paths=paths,
    )


FORMAT = ImagenetTxtFormat()
