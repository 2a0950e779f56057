"""Relative file paths made from item ids and subset names, never escaping the output folder.

An id becomes a path below the output directory; one holding `..`, an absolute path, a drive letter,
a backslash or a control character is refused with a ValidationError naming every such id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from engine.errors import ValidationError

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_reason(name: str) -> str | None:
    """Why `name` cannot be used as a relative path inside an output folder, or None if it can."""
    if not name:
        return "is empty"
    if _CONTROL.search(name):
        return "holds a control character"
    if "\\" in name:
        return "holds a backslash"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    parts = name.split("/")
    if any(part == ".." for part in parts):
        return "holds a '..' component"
    if any(part in ("", ".") for part in parts):
        return "holds an empty or '.' component"
    return None


def check_relative_names(names: Iterable[str], what: str = "item ids") -> None:
    """Raises ValidationError naming every name that would not stay inside the output folder."""
    bad: dict[str, str] = {}
    for name in names:
        reason = unsafe_reason(str(name))
        if reason is not None and name not in bad:
            bad[str(name)] = reason
    if bad:
        first_id, first_reason = next(iter(bad.items()))
        raise ValidationError(
            f"{what} that would write outside the output folder ({first_id!r} {first_reason})",
            list(bad),
            hint="give the items relative ids made of plain names separated by '/'",
        )


def relative_path(*parts: str, suffix: str = "") -> str:
    """Joins already-checked name parts (each may hold '/') into one relative POSIX path."""
    return "/".join(part for part in parts if part) + suffix


def check_unique_paths(paths: Sequence[str], ids: Sequence[str]) -> None:
    """Raises ValidationError naming the items that would be written to the same file."""
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for path, item_id in zip(paths, ids, strict=True):
        key = str(path)
        if key in seen:
            clashes.extend(i for i in (seen[key], item_id) if i not in clashes)
        else:
            seen[key] = item_id
    if clashes:
        raise ValidationError(
            "items would be written to the same file (duplicate ids)",
            clashes,
            hint="make the item ids unique",
        )


_NOT_IN_FOLDER_NAMES = re.compile(r"[/\\\x00-\x1f\x7f]")


def folder_names(names: Sequence[str], reserved: Iterable[str] = ()) -> list[str]:
    """One safe, distinct folder name per name (e.g. a class name), in order.

    A name that is already one plain path component, and not `reserved`, is its own folder name.
    Any other (or one starting with '.', which readers take for hidden) has each '/', '\\' and
    control character replaced by '_' (`T-shirt/top` -> `T-shirt_top`), a leading '.' or an empty
    name gets a leading '_', a leading drive letter's ':' becomes '_',
    then `_2`, `_3` ... appended while the name is taken. The result depends only on the names, so
    a reader holding the exact names (e.g. from dataset_meta.json) finds the same folders.
    """
    taken = set(reserved)
    result: list[str | None] = [None] * len(names)
    for index, name in enumerate(names):
        plain = "/" not in name and not name.startswith(".") and unsafe_reason(name) is None
        if plain and name not in taken:
            result[index] = name
            taken.add(name)
    for index, name in enumerate(names):
        if result[index] is not None:
            continue
        base = _NOT_IN_FOLDER_NAMES.sub("_", name)
        if _DRIVE.match(base):
            base = base[0] + "_" + base[2:]
        if not base or base.startswith("."):
            base = "_" + base
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        result[index] = candidate
        taken.add(candidate)
    return [str(folder) for folder in result]
