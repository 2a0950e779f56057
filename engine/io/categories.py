"""Class names beside a dataset: `dataset_meta.json` wins over `labels.txt`, which wins over the
spec's defaults. One mechanism for every format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from engine.errors import FormatError

META_FILE = "dataset_meta.json"
LABELS_FILE = "labels.txt"


def load_categories(root: str | Path, default: Sequence[str]) -> tuple[str, ...]:
    """The class names for the dataset in `root`."""
    root = Path(root)
    if (root / META_FILE).is_file():
        return parse_dataset_meta(root / META_FILE)
    if (root / LABELS_FILE).is_file():
        return parse_labels_txt(root / LABELS_FILE)
    return tuple(default)


def parse_dataset_meta(path: Path) -> tuple[str, ...]:
    """Names from Datumaro's `dataset_meta.json`: `labels`, then `label_map` values, no repeats."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise FormatError(
            path, f"not valid JSON: {error.msg}", line=error.lineno, column=error.colno
        ) from None
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text: {error.reason}", offset=error.start) from None
    except RecursionError:
        raise FormatError(path, "JSON nested too deeply to read", field="nesting") from None
    if not isinstance(meta, dict):
        raise FormatError(
            path, f"expected a JSON object, found {type(meta).__name__}", line=1, column=1
        )
    names: dict[str, None] = {}
    labels = meta.get("labels", [])
    label_map = meta.get("label_map", {})
    if not isinstance(labels, list) or not isinstance(label_map, dict):
        raise FormatError(path, '"labels" must be a list and "label_map" an object')
    for name in [*labels, *label_map.values()]:
        names.setdefault(str(name), None)
    return tuple(names)


def parse_labels_txt(path: Path) -> tuple[str, ...]:
    """One class name per line; blank lines are skipped, surrounding spaces stripped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text: {error.reason}", offset=error.start) from None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def save_categories(root: str | Path, names: Sequence[str], *, dataset_meta: bool) -> None:
    """Writes `labels.txt` (always) and `dataset_meta.json` (when asked)."""
    root = Path(root)
    (root / LABELS_FILE).write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    if dataset_meta:
        meta = json.dumps({"labels": list(names)}, ensure_ascii=False, indent=2)
        (root / META_FILE).write_text(meta + "\n", encoding="utf-8")
