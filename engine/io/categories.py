"""Class names beside a dataset: `dataset_meta.json` wins over `labels.txt`, which wins over the
spec's defaults. One mechanism for every format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from engine.errors import FormatError
from engine.io.jsonfile import field_of, load_json_file
from engine.io.regular import read_regular_text

META_FILE = "dataset_meta.json"
LABELS_FILE = "labels.txt"
#: a class list larger than this is refused before it is read
MAX_LABELS_BYTES = 64 << 20


def load_categories(root: str | Path, default: Sequence[str]) -> tuple[str, ...]:
    """The class names for the dataset in `root`."""
    root = Path(root)
    if (root / META_FILE).exists():
        return parse_dataset_meta(root / META_FILE)
    if (root / LABELS_FILE).exists():
        return parse_labels_txt(root / LABELS_FILE)
    return tuple(default)


def parse_dataset_meta(path: Path) -> tuple[str, ...]:
    """Names from Datumaro's `dataset_meta.json`: `labels`, then `label_map` values, no repeats."""
    meta = load_json_file(path, expect=dict)
    names: dict[str, None] = {}
    labels = field_of(meta, "labels", list, path, [])
    label_map = field_of(meta, "label_map", dict, path, {})
    for name in [*labels, *label_map.values()]:
        if not isinstance(name, str | int) or isinstance(name, bool):
            raise FormatError(
                path,
                f"a class name is a JSON {type(name).__name__}, expected a string",
                field="labels",
                expected="strings",
                actual=type(name).__name__,
            )
        names.setdefault(str(name), None)
    return tuple(names)


def parse_labels_txt(path: Path) -> tuple[str, ...]:
    """One class name per line; blank lines are skipped, surrounding spaces stripped."""
    text = read_regular_text(path, MAX_LABELS_BYTES)
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def save_categories(root: str | Path, names: Sequence[str], *, dataset_meta: bool) -> None:
    """Writes `labels.txt` (always) and `dataset_meta.json` (when asked)."""
    root = Path(root)
    (root / LABELS_FILE).write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    if dataset_meta:
        meta = json.dumps({"labels": list(names)}, ensure_ascii=False, indent=2)
        (root / META_FILE).write_text(meta + "\n", encoding="utf-8")
