"""A small YAML writer for dataset-card front matter: block mappings and lists, every string
double-quoted with JSON's escapes (a subset of YAML's), so any text (quotes, colons, newlines,
``---``, unicode) reads back exactly with any YAML 1.1 or 1.2 parser. Output is deterministic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: characters a YAML double-quoted scalar must not hold raw: controls (C0 but tab, DEL, C1),
#: YAML 1.1's line breaks NEL, LS and PS, the byte-order mark and the non-characters
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (JSON's quoting, unsafe characters escaped)."""
    body = json.dumps(text, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", body)


def dump(data: Mapping[str, Any]) -> str:
    """``data`` (mappings, lists, text, numbers, booleans, None) as block-style YAML."""
    lines: list[str] = []
    _mapping(data, 0, lines)
    return "".join(line + "\n" for line in lines)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return quoted(str(value))


def _key(key: Any) -> str:
    text = str(key)
    reserved = text.lower() in ("true", "false", "yes", "no", "on", "off", "null", "y", "n")
    return text if _PLAIN_KEY.match(text) and not reserved else quoted(text)


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _empty(value: Any) -> str:
    return "{}" if isinstance(value, Mapping) else "[]"


def _mapping(data: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        if _is_block(value):
            lines.append(f"{pad}{_key(key)}:")
            _block(value, indent + 2, lines)
        elif isinstance(value, Mapping | list | tuple):
            lines.append(f"{pad}{_key(key)}: {_empty(value)}")
        else:
            lines.append(f"{pad}{_key(key)}: {_scalar(value)}")


def _block(value: Any, indent: int, lines: list[str]) -> None:
    if isinstance(value, Mapping):
        _mapping(value, indent, lines)
    else:
        _sequence(value, indent, lines)


def _sequence(data: Sequence[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for value in data:
        if isinstance(value, Mapping) and value:
            first = len(lines)
            _mapping(value, indent + 2, lines)
            lines[first] = f"{pad}- {lines[first][indent + 2 :]}"
        elif _is_block(value):
            lines.append(f"{pad}-")
            _block(value, indent + 2, lines)
        elif isinstance(value, Mapping | list | tuple):
            lines.append(f"{pad}- {_empty(value)}")
        else:
            lines.append(f"{pad}- {_scalar(value)}")
