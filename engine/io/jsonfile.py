"""JSON from a data file (``dataset_meta.json``, Parquet schema metadata, a webdataset ``.json``
member), read with its size, nesting depth, numbers and type checked first.

Python's ``json`` raises ValueError for an integer of over 4,300 digits, RecursionError for
arrays nested a few thousand deep, and returns whatever type the text holds. Each of those is a
FormatError here, naming the file (and the member or key) and what was expected.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import FormatError
from engine.io.regular import read_regular

#: the most bytes a JSON side file may hold
MAX_JSON_BYTES = 64 << 20
#: the deepest nesting of arrays and objects read (Datumaro's metadata nests 3 or 4 deep)
MAX_DEPTH = 64
#: the most digits a JSON integer may have (a class index or a size needs far fewer)
MAX_INT_DIGITS = 40

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")

T = TypeVar("T")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


class _Refused(ValueError):
    pass


def nesting_depth(data: bytes, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in JSON text, counted without recursion (and
    stopping past `limit`); brackets inside strings do not count."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return 0
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', data)):
        depth += 1 if match[0] in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def parse_json(
    data: bytes | str,
    path: str | Path | None,
    *,
    what: str = "",
    expect: type[T] = dict,  # type: ignore[assignment]
    max_depth: int = MAX_DEPTH,
) -> T:
    """The value of JSON text `data`, which must be of type `expect`; any problem is a
    FormatError naming `path` and `what` (a member, a metadata key; empty for the file itself)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    depth = nesting_depth(raw, max_depth)
    if depth > max_depth:
        raise FormatError(
            path,
            _says(what, "is", f"nested too deeply (more than {max_depth} levels)"),
            field="nesting",
            expected=f"<= {max_depth} levels",
            actual=f"> {max_depth} levels",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(
            path, _says(what, "is", f"not UTF-8 text: {error.reason}"), offset=error.start
        ) from None
    try:
        value = json.loads(text, parse_int=_parse_int)
    except _Refused as error:
        raise FormatError(path, _says(what, "holds", str(error)), field="number") from None
    except json.JSONDecodeError as error:
        raise FormatError(
            path,
            _says(what, "is", f"not valid JSON: {error.msg}"),
            line=error.lineno,
            column=error.colno,
        ) from None
    except (ValueError, RecursionError) as error:
        reason = f"not readable JSON ({type(error).__name__})"
        raise FormatError(path, _says(what, "is", reason)) from None
    if not isinstance(value, expect):
        raise FormatError(
            path,
            _says(
                what, "is", f"a JSON {_json_type(value)}, expected a JSON {_json_type_name(expect)}"
            ),
            field="type",
            expected=_json_type_name(expect),
            actual=_json_type(value),
        )
    return value


def load_json_file(
    path: str | Path,
    *,
    expect: type[T] = dict,  # type: ignore[assignment]
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_DEPTH,
) -> T:
    """The JSON value in the regular file `path` (at most `max_bytes`), checked as `parse_json`."""
    data = read_regular(path, max_bytes)
    return parse_json(data, path, what="", expect=expect, max_depth=max_depth)


def field_of(
    record: dict[str, Any], key: str, expect: type[T] | tuple[type, ...], path: Any, default: Any
) -> Any:
    """`record[key]` when it is of type `expect` (or missing: `default`), else a FormatError."""
    if key not in record or record[key] is None:
        return default
    value = record[key]
    if not isinstance(value, expect) or (isinstance(value, bool) and expect in (int, float)):
        names = expect if isinstance(expect, tuple) else (expect,)
        wanted = " or ".join(_json_type_name(t) for t in names)
        raise FormatError(
            path,
            f"{key!r} is a JSON {_json_type(value)}, expected a JSON {wanted}",
            field=key,
            expected=wanted,
            actual=_json_type(value),
        )
    return value


def _says(what: str, verb: str, rest: str) -> str:
    """``<what> <verb> <rest>``, or just `rest` when the file itself is meant (its name leads)."""
    return f"{what} {verb} {rest}" if what else rest


def _json_type(value: Any) -> str:
    return _json_type_name(type(value))


def _json_type_name(kind: type) -> str:
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number"}
    names.update({bool: "boolean", type(None): "null"})
    return names.get(kind, kind.__name__)
