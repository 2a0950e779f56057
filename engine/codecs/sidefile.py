"""Datumaro's per-subset side file: custom item ids and image sizes, for every format that has one.

Rows are `[id]`, `[h, w]` or `[id, h, w]`, one per item. The spec's `SideFile.encoding` says how
they are stored (raw numpy '<U32' cells, gzipped, or CSV lines); the meaning is shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import FormatError, ValidationError
from engine.io.compression import read_content, write_chunks
from specs.schema import SideFile


@dataclass
class SideRows:
    """What a side file says: ids (str) and/or sizes (N, 2) as (height, width); 0x0 = no image."""

    ids: np.ndarray | None = None
    sizes: np.ndarray | None = None
    lines: np.ndarray | None = None  # the line each row came from, for text side files

    def __len__(self) -> int:
        for column in (self.ids, self.sizes, self.lines):
            if column is not None:
                return len(column)
        return 0

    def __bool__(self) -> bool:
        return self.ids is not None or self.sizes is not None


def side_path(root: Path, side: SideFile, subset: str) -> Path:
    return root / side.name.format(subset=subset)


def read_side_file(path: Path, side: SideFile, count: int) -> SideRows:
    """Parses the side file of a subset of `count` items."""
    if side.encoding == "csv":
        rows = read_side_lines(path)
        check_side_count(path, rows, count, f"{count} items")
        return rows
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
    table = np.asarray(cells, dtype=object).reshape(count, width)
    ids = table[:, 0].astype(str).astype(object) if width in (1, 3) else None
    sizes = _parse_sizes(table[:, -2:], path) if width >= 2 else None
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
    raise ValueError(f"unknown side-file encoding {side.encoding!r}")


def read_side_lines(path: Path) -> SideRows:
    """A CSV side file read on its own: one row per non-blank line, `id`, `h,w` or `id,h,w`."""
    content = read_content(path)
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text: {error.reason}", offset=error.start) from None
    numbered = [
        (number, line.removesuffix("\r").split(","))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]
    if not numbered:
        return SideRows(lines=np.zeros(0, dtype=np.int64))
    width = len(numbered[0][1])
    for number, cells in numbered:
        if len(cells) != width or width not in (1, 2, 3):
            raise FormatError(
                path,
                f"row of {len(cells)} cells; expected [id], [h, w] or [id, h, w], as many "
                f"cells as the first row ({width})",
                line=number,
                column=1,
                field="columns",
                expected=width if width in (1, 2, 3) else "1, 2 or 3",
                actual=len(cells),
            )
    lines = np.array([number for number, _ in numbered], dtype=np.int64)
    rows = np.empty((len(numbered), width), dtype=object)
    rows[:] = [cells for _, cells in numbered]
    ids = rows[:, 0].astype(str).astype(object) if width in (1, 3) else None
    sizes = _parse_sizes(rows[:, -2:], path, lines) if width >= 2 else None
    return SideRows(ids=ids, sizes=sizes, lines=lines)


def check_side_count(path: Path, rows: SideRows, count: int, counted: str) -> None:
    """Raises FormatError, at the first extra or missing row, when `rows` is not `count` long."""
    if len(rows) == count:
        return
    lines = rows.lines if rows.lines is not None else np.arange(1, len(rows) + 1)
    line = int(lines[count]) if len(rows) > count else (int(lines[-1]) + 1 if len(lines) else 1)
    raise FormatError(
        path,
        f"{len(rows)} rows where the data holds {counted}; expected one row per item",
        line=line,
        column=1,
        field="rows",
        expected=count,
        actual=len(rows),
    )


def _parse_sizes(cells: np.ndarray, path: Path, lines: np.ndarray | None = None) -> np.ndarray:
    sizes = np.zeros(cells.shape, dtype=np.int64)
    for row, pair in enumerate(cells):
        for column, cell in enumerate(pair):
            text = str(cell).strip()
            if not text.isascii() or not text.isdigit():
                where = {"line": int(lines[row])} if lines is not None else {}
                raise FormatError(
                    path,
                    f"row {row}: image size {text!r} is not a whole number",
                    field="size",
                    expected="digits",
                    actual=text,
                    **where,
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
        unfit = [i for i in ids if "," in i or "\n" in i or "\r" in i or not i.strip()]
        if side.encoding == "csv" and unfit:
            raise ValidationError(
                "item ids that are blank or hold a comma or line break cannot be kept in a CSV "
                "side file",
                unfit,
            )
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
