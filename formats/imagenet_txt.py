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

import numpy as np

from engine.errors import FormatError, NotThisFormat, ValidationError, hint
from engine.format import Detection, FolderLoadOptions, SaveOptions
from engine.format.adapter import is_image_tree
from engine.io.categories import META_FILE
from engine.io.imagefolder import is_image_name, links_outside
from engine.io.images import check_encodable
from engine.io.paths import check_relative_names, check_unique_paths, relative_path, unsafe_reason
from engine.io.regular import is_regular, open_regular, read_regular_text
from engine.model import NO_LABEL, Dataset, Subset, stack_images, subset_order
from formats._common import (
    FolderAdapter,
    check_subset_names,
    image_list,
    read_files,
    read_meta,
    save_meta,
    write_items,
)

LABELS_FILE = "synsets.txt"
IMAGE_DIR = "images"
#: with no synsets.txt, class names `class-N` are made up for labels below this
MAX_UNDECLARED_CLASSES = 100_000
#: a list or synsets file larger than this is refused before it is read (1.3M ImageNet lines
#: take about 40 MB)
MAX_LIST_BYTES = 1 << 30
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


class ImagenetTxtFormat(FolderAdapter):
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
                with open_regular(file, "r", encoding="utf-8") as opened:
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

    def owns(self, entry: Path) -> bool:
        """`images/` of images, `synsets.txt`, list files (`.txt` of `<file> <label>` lines)."""
        if entry.name == IMAGE_DIR:
            return is_image_tree(entry)
        if entry.name in (LABELS_FILE, META_FILE):
            return entry.is_file()
        return entry.suffix == ".txt" and entry.is_file() and _is_list_file(entry)

    def read(self, path: Path, subset: str | None, opts: FolderLoadOptions) -> Dataset:
        root = path if path.is_dir() else path.parent
        lists = [path] if path.is_file() else _lists(root)
        if subset is not None:
            lists = [f for f in lists if f.stem == subset]
        if not lists:
            raise FormatError(
                path,
                "the folder holds no <subset>.txt list",
                field="files",
                expected="a <subset>.txt list",
                actual="none",
            )
        declared = read_meta(root)
        if declared is None and (root / LABELS_FILE).exists():
            declared = _read_synsets(root / LABELS_FILE)
        classes = declared or ()
        entries = [_read_list(f, declared) for f in lists]
        most = max((max(max(ls, default=-1) for _, _, ls in e) for e in entries if e), default=-1)
        if not classes:
            classes = tuple(f"class-{i}" for i in range(most + 1))
        return Dataset(
            [_subset(root, f, e, opts) for f, e in zip(lists, entries, strict=True)], classes
        )

    def plan(self, dataset: Dataset, opts: SaveOptions) -> None:
        _, paths, ids, images = self._planned(dataset, opts)
        check_unique_paths(paths, ids)
        check_encodable(images, ids, opts.image_ext)

    def write(self, dataset: Dataset, directory: Path, opts: SaveOptions) -> None:
        lists, paths, ids, images = self._planned(dataset, opts)
        for name, lines in lists.items():
            (directory / f"{name}.txt").write_text("".join(lines), encoding="utf-8")
        classes = dataset.categories
        (directory / LABELS_FILE).write_text("".join(f"{n}\n" for n in classes), encoding="utf-8")
        if opts.save_dataset_meta:
            save_meta(directory, classes)
        if opts.save_media and paths:
            write_items(directory, paths, images, ids, opts)

    def _planned(
        self, dataset: Dataset, opts: SaveOptions
    ) -> tuple[dict[str, list[str]], list, list, list]:
        """(the lines of each subset's list, image paths, ids, images); ValidationError for what
        the lists cannot hold."""
        subsets = list(dataset.subsets().values())
        check_subset_names(subsets, flat=True)
        classes = dataset.categories
        bad_names = [n for n in classes if not n.strip() or "\n" in n or "\r" in n]
        if bad_names:
            raise ValidationError("class names must be one line each in synsets.txt", bad_names)
        prefixed = len([s for s in subsets if len(s)]) > 1
        ext = opts.image_ext
        paths, ids, images = [], [], []
        lists: dict[str, list[str]] = {}
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
                stored = opts.save_media and image is not None
                lines.append(_format_line(file_id, ext if stored else "", labels))
                if image is not None:
                    paths.append(relative_path(IMAGE_DIR, file_id, suffix=ext))
                    ids.append(f"{subset.name}:{item_id}" if prefixed else item_id)
                    images.append(image)
            lists[subset.name] = lines
        return lists, paths, ids, images


def _lists(root: Path) -> list[Path]:
    """The subset lists: `.txt` files whose first lines read as list lines (what `owns` claims;
    a kept `notes.txt` is the user's), and any `.txt` that is not a regular file (refused when
    read, never skipped in silence)."""
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.glob("*.txt")
        if p.name not in NOT_LISTS
        and not p.name.startswith(".")
        and (not is_regular(p) or _is_list_file(p))
    ]
    return sorted(found, key=lambda p: subset_order(p.stem))


def _read_synsets(path: Path) -> tuple[str, ...]:
    if not path.exists():
        return ()
    text = read_regular_text(path, MAX_LIST_BYTES)
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _read_list(path: Path, declared: tuple[str, ...] | None) -> list[tuple[str, str, list[int]]]:
    """The list's entries; a label beyond the declared classes (or, with none declared, beyond
    MAX_UNDECLARED_CLASSES names made up) is a FormatError naming the line."""
    classes = declared if declared is not None else ()
    bound = len(classes) if declared is not None else MAX_UNDECLARED_CLASSES
    text = read_regular_text(path, MAX_LIST_BYTES)
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item_id, file, labels = parse_line(line, path, number)
        reason = unsafe_reason(file)
        if reason:
            raise FormatError(path, f"image file {file!r} {reason}", line=number, field="file")
        if any(label >= bound for label in labels):
            what = (
                "classes declared" if declared is not None else "classes made up (no synsets.txt)"
            )
            raise FormatError(
                path,
                f"label id {max(labels)} is beyond the {bound} {what}",
                line=number,
                field="label",
                expected=f"0..{bound - 1}",
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
        if not opts.follow_symlinks:
            names = [f"{IMAGE_DIR}/{entries[i][1]}" for i in with_image]
            refused = set(links_outside(root, names))
            with_image = [i for i, n in zip(with_image, names, strict=True) if n not in refused]
        files = [entries[i][1] for i in with_image]
        sources = [str(folder / f) if (folder / f).is_file() else b"" for f in files]
        missing = [f for f, s in zip(files, sources, strict=True) if s == b""]
        if missing and not opts.skip_broken:
            raise FormatError(
                folder / missing[0],
                f"listed in {path.name} but missing ({len(missing)} such files); "
                f"pass {hint('skip_broken=True', '--skip-broken')} to keep those items "
                "without image",
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


_LIST_LINE = re.compile(r'^("[^"]*"\S*|\S+)((?:\s+-?\d+)*)\s*$')


def _is_list_file(path: Path) -> bool:
    """Whether a `.txt` file is a list: empty, or its first line reads as a list line
    (`<file> [<label>...]`). A damaged later line is still the list's (an error when read);
    a file of prose (a kept `notes.txt`) is the user's."""
    try:
        with open_regular(path, "r", encoding="utf-8-sig") as file:
            lines = (file.readline(1 << 16) for _ in range(64))
            first = next((line for line in lines if line.strip()), None)
    except (OSError, UnicodeDecodeError, FormatError):
        return False
    if first is None:
        return True
    found = _LIST_LINE.match(first)
    return bool(found and (found[2] or is_image_name(found[1].strip('"'))))
