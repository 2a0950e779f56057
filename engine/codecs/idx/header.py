"""Parses a header declared as a construct Struct, turning construct's errors into FormatErrors.

construct says *that* a field failed; users need *where* (byte offset), *which* field and *what* was
found. On failure the struct's fields are re-parsed one by one to locate the failing field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import construct

from engine.errors import FormatError


def parse_header(struct: construct.Struct, data: bytes, path: str | Path) -> tuple[Any, int]:
    """Parses `struct` at the start of `data`; returns (fields, header size in bytes)."""
    try:
        fields = struct.parse(data)
    except construct.ConstructError:
        raise _locate_failure(struct, data, path) from None
    return fields, len(struct.build(fields))


def _locate_failure(struct: construct.Struct, data: bytes, path: str | Path) -> FormatError:
    subcons = struct.subcons
    parsed: dict[str, Any] = {}
    for index, field in enumerate(subcons):
        prefix = construct.Struct(*subcons[: index + 1])
        try:
            parsed = dict(prefix.parse(data))
        except construct.ConstructError as error:
            offset = len(construct.Struct(*subcons[:index]).build(parsed)) if index else 0
            return _field_error(field, data, offset, path, error)
    return FormatError(path, "header does not parse", offset=0)


def _field_error(
    field: construct.Construct,
    data: bytes,
    offset: int,
    path: str | Path,
    error: construct.ConstructError,
) -> FormatError:
    label = getattr(field, "docs", "") or field.name
    inner = field
    while isinstance(inner, construct.Renamed):
        inner = inner.subcon
    if isinstance(error, construct.StreamError):
        return FormatError(
            path,
            f"file ends inside the header, in {label} (which starts at byte {offset})",
            offset=len(data),
            field=field.name,
            expected="more header bytes",
            actual="end of data",
        )
    if isinstance(inner, construct.Const):
        found = bytes(data[offset : offset + len(inner.value)])
        first_wrong = next(
            i for i, (a, b) in enumerate(zip(found, inner.value, strict=True)) if a != b
        )
        return FormatError(
            path,
            f"{label}: expected {inner.value.hex(' ')}, found {found.hex(' ')}",
            offset=offset + first_wrong,
            field=field.name,
            expected=inner.value,
            actual=found,
        )
    valids = getattr(inner, "valids", None)
    if valids is not None:
        raw = inner.subcon.parse(data[offset:])
        shown = " ".join(f"0x{v:02x}" for v in valids)
        return FormatError(
            path,
            f"{label} 0x{int(raw):02x} is not one of {shown}",
            offset=offset,
            field=field.name,
            expected=valids,
            actual=int(raw),
        )
    return FormatError(path, f"{label}: {error}", offset=offset, field=field.name)
