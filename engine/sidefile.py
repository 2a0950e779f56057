"""Datumaro's per-subset side file: custom item ids and image sizes, for every format that has one.

Rows are `[id]`, `[h, w]` or `[id, h, w]`, one per item. The spec's `SideFile.encoding` says how
they are stored (raw numpy '<U32' cells, gzipped, or CSV lines); the meaning is shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.compression import read_content, write_chunks
from engine.errors import FormatError, ValidationError
from specs.schema import SideFile


@dataclass
class SideRows:
    """What a side file says: ids (str) and/or sizes (N, 2) as (height, width); 0x0 = no image."""

    ids: np.ndarray | None = None
    sizes: np.ndarray | None = None

    def __bool__(self) -> bool:
        return self.ids is not None or self.sizes is not None


def side_path(root: Path, side: SideFile, subset: str) -> Path:
    return root / side.name.format(subset=subset)


def read_side_file(path: Path, side: SideFile, count: int) -> SideRows:
    """Parses the side file of a subset of `count` items."""
    cells = _read_cells(path, side)
    if count == 0:
        return SideRows()
    if len(cells) % count:
        raise FormatError(
            path,
            f"{len(cells)} cells do not divide into {count} rows, one per item",
            field="rows",
            expected=count,
            actual=len(cells),
        )
    width = len(cells) // count
    if width not in (1, 2, 3):
        raise FormatError(
            path,
            f"rows of {width} cells; expected [id], [h, w] or [id, h, w]",
            field="columns",
            expected="1, 2 or 3",
            actual=width,
        )
    rows = np.asarray(cells, dtype=object).reshape(count, width)
    ids = rows[:, 0].astype(str).astype(object) if width in (1, 3) else None
    sizes = _parse_sizes(rows[:, -2:], path) if width >= 2 else None
    return SideRows(ids=ids, sizes=sizes)


def _read_cells(path: Path, side: SideFile) -> list[str]:
    content = read_content(path)
    if side.encoding == "numpy_u32":
        cell_bytes = 4 * side.cell_chars
        if len(content) % cell_bytes:
            raise FormatError(
                path,
                f"{len(content)} bytes is not a whole number of {cell_bytes}-byte "
                f"'<U{side.cell_chars}' cells",
                offset=len(content) - len(content) % cell_bytes,
            )
        try:
            return np.frombuffer(content, dtype=f"<U{side.cell_chars}").tolist()
        except (ValueError, UnicodeDecodeError) as error:
            raise FormatError(path, f"cells are not valid text: {error}") from None
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text: {error.reason}", offset=error.start) from None
    lines = [line for line in text.splitlines() if line.strip()]
    widths = {len(line.split(",")) for line in lines}
    if len(widths) > 1:
        first = len(lines[0].split(","))
        bad = next(i for i, line in enumerate(lines) if len(line.split(",")) != first)
        raise FormatError(
            path,
            f"row has {len(lines[bad].split(','))} cells where the first has {first}",
            line=bad + 1,
        )
    return [cell.strip() for line in lines for cell in line.split(",")]


def _parse_sizes(cells: np.ndarray, path: Path) -> np.ndarray:
    sizes = np.zeros(cells.shape, dtype=np.int64)
    for row, pair in enumerate(cells):
        for column, cell in enumerate(pair):
            text = str(cell).strip()
            if not text.isdigit():
                raise FormatError(
                    path,
                    f"row {row}: image size {text!r} is not a whole number",
                    field="size",
                    expected="digits",
                    actual=text,
                )
            sizes[row, column] = int(text)
    return sizes


def side_rows_for(ids: np.ndarray | None, sizes: np.ndarray | None, side: SideFile) -> SideRows:
    """Rows to write: only the columns that carry information, ids checked to fit a cell."""
    if ids is not None:
        too_long = [i for i in ids if len(i) > side.cell_chars]
        if side.encoding == "numpy_u32" and too_long:
            raise ValidationError(
                f"item ids longer than {side.cell_chars} characters cannot be kept in the side "
                "file",
                too_long,
            )
        with_comma = [i for i in ids if "," in i or "\n" in i]
        if side.encoding == "csv" and with_comma:
            raise ValidationError("item ids with a comma or line break cannot be kept", with_comma)
    return SideRows(ids=ids, sizes=sizes)


def write_side_file(path: Path, side: SideFile, rows: SideRows, compresslevel: int = 6) -> None:
    """Writes the side rows in the spec's encoding."""
    columns = []
    if rows.ids is not None:
        columns.append(np.asarray(rows.ids, dtype=str))
    if rows.sizes is not None:
        columns.extend([rows.sizes[:, 0].astype(str), rows.sizes[:, 1].astype(str)])
    table = np.stack(columns, axis=1)
    if side.encoding == "numpy_u32":
        payload = np.ascontiguousarray(table, dtype=f"<U{side.cell_chars}").tobytes()
    else:
        payload = "".join(",".join(row) + "\n" for row in table.tolist()).encode("utf-8")
    write_chunks(path, [payload], compresslevel)
