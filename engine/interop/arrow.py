"""A subset as Arrow record batches in the Hugging Face layout, and Arrow batches back as a subset.

Columns: `image` (struct `bytes`, `path` holding PNG bytes, which `datasets` reads as `Image()`;
or fixed-size binary pixels with their shape in the `mnist_engine` schema metadata, the fast path
that `datasets` sees as plain bytes), `label` (int64, -1 = no label, `ClassLabel(names)` in the
`huggingface` schema metadata), `id` when the ids are not the row numbers, then one column per
attribute. `datasets` uses a feature only when the Arrow type is exactly its own (nullable
struct<bytes: binary, path: string>, nullable int64), so the schema here is built to match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import FormatError, ValidationError
from engine.interop import require
from engine.io.jsonfile import field_of, parse_json
from engine.io.png import decode_pngs, encode_png, encode_pngs
from engine.model.items import NO_LABEL
from engine.model.subset import Subset, stack_images

pa = require("pyarrow", "parquet")

IMAGE = "image"
LABEL = "label"
ID = "id"
HF_KEY = b"huggingface"
ENGINE_KEY = b"mnist_engine"
ENCODINGS = ("png", "raw")
IMAGE_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
#: Arrow type name -> `datasets.Value` dtype name, where they differ
_VALUE_DTYPES = {"double": "float64", "float": "float32", "halffloat": "float16"}


@dataclass
class TablePlan:
    """How one subset becomes Arrow columns: checked once, then sliced into batches."""

    subset: Subset
    categories: tuple[str, ...]
    encoding: str
    compresslevel: int = 6
    raw_shape: tuple[int, ...] | None = None
    raw_dtype: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # name -> pa.Array (whole column)

    @property
    def with_ids(self) -> bool:
        return not self.subset.default_ids

    def schema(self) -> Any:
        """The Arrow schema, with `huggingface` features and `mnist_engine` metadata."""
        if self.encoding == "png":
            image_type = IMAGE_TYPE
        else:
            size = math.prod(self.raw_shape or ()) * np.dtype(self.raw_dtype).itemsize
            image_type = pa.binary(size)
        fields = [pa.field(IMAGE, image_type), pa.field(LABEL, pa.int64())]
        features: dict[str, Any] = {}
        if self.encoding == "png":
            features[IMAGE] = {"_type": "Image"}
        if self.categories:
            features[LABEL] = {"_type": "ClassLabel", "names": list(self.categories)}
        else:
            features[LABEL] = {"_type": "Value", "dtype": "int64"}
        if self.with_ids:
            fields.append(pa.field(ID, pa.string()))
            features[ID] = {"_type": "Value", "dtype": "string"}
        for name, column in self.attributes.items():
            fields.append(pa.field(name, column.type))
            dtype = str(column.type)
            features[name] = {"_type": "Value", "dtype": _VALUE_DTYPES.get(dtype, dtype)}
        ours: dict[str, Any] = {"format_version": 1, "image_encoding": self.encoding}
        if self.encoding == "raw":
            ours.update(shape=list(self.raw_shape or ()), dtype=self.raw_dtype)
        metadata = {
            HF_KEY: json.dumps({"info": {"features": features}}).encode(),
            ENGINE_KEY: json.dumps(ours).encode(),
        }
        return pa.schema(fields, metadata=metadata)

    def batch(self, start: int, stop: int, blobs: list[bytes | None] | None = None) -> Any:
        """Rows start..stop as one record batch; images are PNG-encoded here unless `blobs`
        gives their encoded bytes already (e.g. encoded in a process pool)."""
        subset = self.subset
        images = _image_rows(subset, start, stop)
        if self.encoding == "png":
            image_column = _png_column(images, self.compresslevel, blobs)
        else:
            block = np.ascontiguousarray(images, dtype=self.raw_dtype)
            image_column = pa.FixedSizeBinaryArray.from_buffers(
                self.schema().field(IMAGE).type, len(block), [None, pa.py_buffer(block)]
            )
        labels = np.asarray(subset.labels[start:stop], dtype=np.int64)
        columns = [image_column, pa.array(labels, type=pa.int64())]
        if self.with_ids:
            ids = subset.id_column()[start:stop]
            columns.append(pa.array([str(i) for i in ids], type=pa.string()))
        columns.extend(column.slice(start, stop - start) for column in self.attributes.values())
        return pa.RecordBatch.from_arrays(columns, schema=self.schema())


def plan_table(
    subset: Subset, categories: Sequence[str], encoding: str = "png", compresslevel: int = 6
) -> TablePlan:
    """Checks that the subset fits the table layout; ValidationError names the items that do not."""
    if encoding not in ENCODINGS:
        raise ValueError(f"image_encoding must be one of {ENCODINGS}, not {encoding!r}")
    ids = subset.id_column
    if subset.multi_labels:
        raise ValidationError(
            "items with more than one label cannot be stored in one label column",
            [ids()[i] for i in sorted(subset.multi_labels)],
        )
    bad = (subset.labels < NO_LABEL) | (subset.labels >= max(len(categories), 1))
    if len(categories) and bad.any():
        raise ValidationError(
            f"labels outside 0..{len(categories) - 1} (the {len(categories)} classes)",
            ids()[bad],
        )
    plan = TablePlan(subset, tuple(categories), encoding, compresslevel)
    if encoding == "raw":
        if not isinstance(subset.images, np.ndarray):
            raise ValidationError(
                "image_encoding='raw' needs every item to have an image of one shape; "
                "use image_encoding='png'",
                ids()[:10],
            )
        plan.raw_shape = tuple(subset.images.shape[1:])
        plan.raw_dtype = str(subset.images.dtype)
    elif subset.images is not None:
        _check_png_images(subset)
    for name, column in subset.attributes.items():
        if name in (IMAGE, LABEL, ID):
            raise ValidationError(f"attribute {name!r} clashes with the {name!r} column")
        try:
            plan.attributes[name] = pa.array(_plain(column))
        except (pa.ArrowException, TypeError, ValueError) as error:
            raise ValidationError(
                f"attribute {name!r} holds values of mixed or unsupported types ({error})"
            ) from None
    return plan


def _plain(column: Any) -> Any:
    array = np.asarray(column)
    if array.dtype == object:
        return [value.item() if isinstance(value, np.generic) else value for value in array]
    return array


def _check_png_images(subset: Subset) -> None:
    images = subset.images
    if images is None:
        return
    samples = [images[0]] if isinstance(images, np.ndarray) and len(images) else images
    bad = []
    for index, image in enumerate(samples):
        if image is None:
            continue
        image = np.asarray(image)
        grey_or_colour = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 2, 3, 4))
        if not grey_or_colour or image.dtype not in (np.uint8, np.uint16):
            bad.append(index)
    if bad:
        ids = subset.id_column()
        shown = ids if isinstance(images, np.ndarray) else [ids[i] for i in bad]
        raise ValidationError(
            "PNG holds uint8 or uint16 images with 1 to 4 channels only",
            shown,
            hint="convert the pixels first, or use image_encoding='raw'",
        )


def _image_rows(subset: Subset, start: int, stop: int) -> Any:
    if subset.images is None:
        return [None] * (stop - start)
    return subset.images[start:stop]


def _png_column(images: Any, level: int, blobs: Sequence[bytes | None] | None = None) -> Any:
    if blobs is None and isinstance(images, np.ndarray):
        blobs = encode_pngs(images, level)
    elif blobs is None:
        blobs = [None if image is None else encode_png(image, level) for image in images]
    present = np.array([blob is not None for blob in blobs], dtype=np.bool_)
    data = pa.array(blobs, type=pa.binary())
    paths = pa.nulls(len(blobs), pa.string())
    mask = None if present.all() else pa.array(~present)
    return pa.StructArray.from_arrays([data, paths], fields=list(IMAGE_TYPE), mask=mask)


# -- reading --------------------------------------------------------------------------------------
@dataclass
class TableInfo:
    """What a schema says: image column kind, raw pixel shape, class names, other columns."""

    encoding: str | None  # png, raw, or None when there is no image column
    raw_shape: tuple[int, ...] | None
    raw_dtype: str | None
    categories: tuple[str, ...] | None
    has_label: bool
    has_ids: bool
    attributes: tuple[str, ...]


def table_info(schema: Any, path: Any) -> TableInfo:
    """Reads the columns and metadata of a table; FormatError (naming `path`) when they are not
    this layout (an image column of another type, raw pixels whose shape does not fit)."""
    metadata = schema.metadata or {}
    ours = _json(metadata.get(ENGINE_KEY), path, "mnist_engine")
    hf = _json(metadata.get(HF_KEY), path, "huggingface")
    info = field_of(hf, "info", dict, path, {})
    features = field_of(info, "features", dict, path, {})
    label_feature = features.get(LABEL)
    categories = None
    if isinstance(label_feature, dict) and label_feature.get("_type") == "ClassLabel":
        names = label_feature.get("names")
        if isinstance(names, list):
            categories = tuple(str(n) for n in names)
    names = schema.names
    encoding = raw_shape = raw_dtype = None
    if IMAGE in names:
        kind = schema.field(IMAGE).type
        if (
            pa.types.is_struct(kind)
            and kind.get_field_index("bytes") >= 0
            and _is_binary(kind.field(kind.get_field_index("bytes")).type)
        ):
            encoding = "png"
        elif pa.types.is_fixed_size_binary(kind):
            encoding = "raw"
            raw_shape, raw_dtype = _raw_shape(ours, kind.byte_width, path)
        else:
            raise FormatError(
                path,
                f"column 'image' is {kind}; expected struct<bytes, path> (encoded images) or "
                "fixed-size binary (raw pixels)",
                field="image",
                expected="struct<bytes: binary, path: string> or fixed_size_binary",
                actual=str(kind),
            )
    if LABEL in names and not pa.types.is_integer(schema.field(LABEL).type):
        raise FormatError(
            path,
            f"column 'label' is {schema.field(LABEL).type}; expected integers",
            field="label",
            expected="int64",
            actual=str(schema.field(LABEL).type),
        )
    others = tuple(n for n in names if n not in (IMAGE, LABEL, ID))
    return TableInfo(
        encoding, raw_shape, raw_dtype, categories, LABEL in names, ID in names, others
    )


def _is_binary(kind: Any) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


def _json(raw: bytes | None, path: Any, key: str) -> dict:
    if raw is None:
        return {}
    return parse_json(raw, path, what=f"schema metadata {key!r}", expect=dict)


def _raw_shape(ours: dict, width: int, path: Any) -> tuple[tuple[int, ...], str]:
    shape = ours.get("shape")
    dtype = ours.get("dtype", "uint8")
    try:
        shape = tuple(int(d) for d in shape) if shape is not None else None
        if not isinstance(dtype, str) or np.dtype(dtype).kind not in "biuf":
            raise TypeError(dtype)
        itemsize = np.dtype(dtype).itemsize
    except (TypeError, ValueError, OverflowError):
        raise FormatError(
            path, f"raw image metadata shape={str(shape)[:80]} dtype={str(dtype)[:40]}"
        ) from None
    if shape is None:
        side = math.isqrt(width // itemsize)
        shape = (side, side)
    if math.prod(shape) * itemsize != width or any(d <= 0 for d in shape):
        raise FormatError(
            path,
            f"raw images of {width} bytes cannot hold shape {shape} of {dtype}",
            field="image",
            expected=math.prod(shape) * itemsize,
            actual=width,
        )
    return shape, dtype


class SubsetBuilder:
    """Collects record batches of one subset (one or several files) and makes the Subset.

    Encoded images are decoded with `engine.io.png.decode_pngs` on `workers` processes.
    """

    def __init__(self, name: str, info: TableInfo, *, workers: int | None = None) -> None:
        self.name = name
        self.info = info
        self.workers = workers
        self.labels: list[np.ndarray] = []
        self.images: list[Any] = []
        self.ids: list[Any] = []
        self.attributes: dict[str, list[Any]] = {n: [] for n in info.attributes}
        self.rows = 0

    def add(self, batch: Any, path: Any) -> None:
        """Adds one record batch read from `path` (named in errors with the row)."""
        count = batch.num_rows
        info = self.info
        if info.has_label:
            column = batch.column(LABEL)
            labels = column.fill_null(NO_LABEL).to_numpy(zero_copy_only=False).astype(np.int64)
            labels[labels < 0] = NO_LABEL
            self.labels.append(labels)
        else:
            self.labels.append(np.full(count, NO_LABEL, dtype=np.int64))
        if info.encoding == "raw":
            self.images.append(self._raw(batch.column(IMAGE), path))
        elif info.encoding == "png":
            self.images.extend(self._decoded(batch.column(IMAGE), path))
        if info.has_ids:
            self.ids.extend(batch.column(ID).to_pylist())
        for name in info.attributes:
            self.attributes[name].append(batch.column(name))
        self.rows += count

    def _raw(self, column: Any, path: Any) -> np.ndarray:
        if column.null_count:
            raise FormatError(path, "raw image column holds nulls", field="image")
        width = column.type.byte_width
        data = np.frombuffer(
            column.buffers()[1], np.uint8, len(column) * width, column.offset * width
        )
        shape, dtype = self.info.raw_shape, self.info.raw_dtype
        assert shape is not None and dtype is not None  # table_info sets both for raw columns
        return data.view(dtype).reshape((len(column), *shape))

    def _decoded(self, column: Any, path: Any) -> list[np.ndarray | None]:
        blobs = column.field("bytes")
        has_paths = column.type.get_field_index("path") >= 0  # Hugging Face's; optional here
        paths = column.field("path") if has_paths else None
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        values = blobs.to_pylist()
        wanted = []
        for row, (ok, blob) in enumerate(zip(valid.tolist(), values, strict=True)):
            if ok and blob is None and paths is not None and paths[row].is_valid:
                raise FormatError(
                    path,
                    f"row {self.rows + row}: the image is a path ({paths[row]}), not embedded "
                    "bytes",
                    field="image.bytes",
                )
            if ok and blob is not None:
                wanted.append(row)
        blobs = [values[row] for row in wanted]
        decoded = decode_pngs(blobs, workers=self.workers) if wanted else []
        out: list[np.ndarray | None] = [None] * len(values)
        for row, image in zip(wanted, decoded, strict=True):
            if isinstance(image, str):
                raise FormatError(path, f"row {self.rows + row}: {image}", field="image")
            out[row] = image
        return out

    def subset(self) -> Subset:
        """The collected rows as one Subset."""
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, np.int64)
        images: Any = None
        if self.info.encoding == "raw":
            images = np.concatenate(self.images) if self.images else None
        elif self.info.encoding == "png":
            images = stack_images(self.images)
        ids = None
        if self.info.has_ids:
            ids = np.array(
                [str(i) if i is not None else str(n) for n, i in enumerate(self.ids)],
                dtype=object,
            )
        attributes = {
            name: _column_array(chunks, self.rows) for name, chunks in self.attributes.items()
        }
        return Subset(
            name=self.name,
            labels=labels.astype(np.int32),
            images=images,
            ids=ids,
            attributes=attributes,
        )


def _column_array(chunks: list[Any], rows: int) -> np.ndarray:
    if not chunks:
        return np.zeros(rows, dtype=object)
    joined = pa.chunked_array(chunks)
    if joined.null_count or not (
        pa.types.is_integer(joined.type)
        or pa.types.is_floating(joined.type)
        or pa.types.is_boolean(joined.type)
    ):
        return np.array(joined.to_pylist(), dtype=object)
    return joined.to_numpy()
