"""Labels files whose items are rows of values (an N x k table): one column is the class, the
others are per-item attribute columns, split on read and joined back on write.
"""

from __future__ import annotations

import numpy as np

from engine.errors import ValidationError
from engine.model import Subset
from specs.schema import Column, Tensor


def table_columns(tensor: Tensor) -> tuple[Column, ...]:
    """The declared columns, or `column<i>` names when a spec gives a width but no names."""
    if tensor.columns:
        return tensor.columns
    width = tensor.item_shape[0] if len(tensor.item_shape) == 1 else 0
    return tuple(Column(name=f"column{index}") for index in range(width))


def is_table(tensor: Tensor) -> bool:
    """True when each label item is a row of values rather than one value."""
    return len(tensor.item_shape) == 1


def split_table(
    raw: np.ndarray, tensor: Tensor, label_column: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(the class column, {name: column} for the others): views on `raw`, no copies."""
    attributes = {
        column.name: raw[:, index]
        for index, column in enumerate(table_columns(tensor))
        if index != label_column
    }
    return raw[:, label_column], attributes


def join_table(labels: np.ndarray, subset: Subset, tensor: Tensor, label_column: int) -> np.ndarray:
    """The (N, columns) table to write: the class column plus the subset's attribute columns.

    An attribute the subset lacks takes the column's declared `fill`; without one, or with values
    the column's dtype cannot hold, it is a ValidationError naming the items.
    """
    columns = table_columns(tensor)
    dtype = np.dtype(tensor.dtype)
    table = np.empty((len(labels), len(columns)), dtype=dtype)
    ids = subset.id_column
    for index, column in enumerate(columns):
        if index == label_column:
            table[:, index] = labels
            continue
        values = subset.attributes.get(column.name)
        table[:, index] = _column_values(values, column, dtype, len(labels), ids)
    return table


def _column_values(values, column: Column, dtype: np.dtype, count: int, ids) -> np.ndarray:
    if values is None:
        if column.fill is None:
            raise ValidationError(
                f"this format stores attribute {column.name!r} for every item; the items have none",
                ids()[:10],
                hint=f"set the {column.name!r} attribute on every item",
            )
        return np.full(count, column.fill, dtype=dtype)
    values = np.asarray(values)
    if values.dtype == object:
        missing = np.array([v is None for v in values], dtype=bool)
        if missing.any() and column.fill is None:
            raise ValidationError(f"items without attribute {column.name!r}", ids()[missing])
        values = np.where(missing, column.fill if column.fill is not None else 0, values)
        try:
            values = values.astype(np.float64 if dtype.kind == "f" else np.int64)
        except (TypeError, ValueError):
            raise ValidationError(
                f"attribute {column.name!r} holds values that are not numbers", ids()[:10]
            ) from None
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        with np.errstate(invalid="ignore"):
            bad = ~((values >= info.min) & (values <= info.max))
            if values.dtype.kind == "f":
                bad |= ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            raise ValidationError(
                f"attribute {column.name!r} values that are not whole numbers in "
                f"{info.min}..{info.max}",
                ids()[bad],
            )
    return values.astype(dtype)
