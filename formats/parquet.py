"""`parquet`: Parquet files in the layout the Hugging Face Hub uses for MNIST (needs `[parquet]`).

One or more shards per subset, `<subset>-00000-of-00002.parquet` (also found under `data/`, and
`<name>.parquet` files such as `datasets`' `Dataset.to_parquet` writes), columns `image` (PNG
bytes in a struct `bytes`, `path`) and `label` (int64, -1 = no label), the `huggingface` schema
metadata giving `Image()` and `ClassLabel(names)`, plus `id` and attribute columns when needed.
`image_encoding="raw"` stores fixed-size binary pixels instead (fast for numpy, Spark, DuckDB;
`datasets` then sees bytes, not images: not Hub-compatible). Writing and reading stream one row
group at a time; each shard is written by its own ParquetWriter.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from engine.compute.pool import chunk_bounds, resolve_workers, run_chunks
from engine.compute.progress import Progress
from engine.errors import FormatError, NotThisFormat, ValidationError
from engine.format import Adapter, Detection, LoadOptions, PngSaveOptions
from engine.interop import require
from engine.io.categories import load_categories, save_categories
from engine.io.imagefolder import natural_key
from engine.io.images import MAX_IMAGE_FILE_BYTES
from engine.io.paths import check_relative_names
from engine.io.png import encode_pngs
from engine.io.regular import check_regular, open_regular
from engine.model import DEFAULT_SUBSET, Dataset, subset_order
from formats._common import non_empty_subsets

#: `<subset>-00000-of-00003.parquet`, with the Hub's older `-<hash>` tail accepted
SHARD_NAME = re.compile(
    r"^(?P<subset>.+?)-(?P<index>\d{5})-of-(?P<count>\d{5})(?:-[0-9a-f]+)?\.parquet$", re.I
)
#: the auto shard size aims at this many bytes per file (the Hub suggests 100-500 MB)
TARGET_SHARD_BYTES = 256 << 20
READ_BATCH_ROWS = 65536
IMAGE_COLUMN = "image"
MAGIC = b"PAR1"


def _pyarrow() -> tuple[Any, Any]:
    require("pyarrow", "parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def shard_name(subset: str, index: int, count: int) -> str:
    return f"{subset}-{index:05d}-of-{count:05d}.parquet"


def parquet_files(path: Path) -> dict[str, list[Path]]:
    """subset -> its files in shard order, for a file, a folder, or a folder with `data/`."""
    if path.is_file():
        return {_subset_of(path.name): [path]}
    folder = path
    if not any(folder.glob("*.parquet")) and (folder / "data").is_dir():
        folder = folder / "data"
    found: dict[str, list[Path]] = {}
    for file in sorted(folder.glob("*.parquet"), key=lambda p: natural_key(p.name)):
        if not file.is_dir():  # a FIFO or a device is refused when read, not skipped
            found.setdefault(_subset_of(file.name), []).append(file)
    for subset, files in found.items():
        _check_shards(subset, files)
    return dict(sorted(found.items(), key=lambda kv: subset_order(kv[0])))


def _subset_of(name: str) -> str:
    matched = SHARD_NAME.match(name)
    return matched["subset"] if matched else name[: -len(".parquet")] or DEFAULT_SUBSET


def _check_shards(subset: str, files: list[Path]) -> None:
    """Every shard `-of-N` names must be present once: a missing shard is a FormatError."""
    shards = [SHARD_NAME.match(f.name) for f in files]
    if not any(shards):
        return
    counts = {int(m["count"]) for m in shards if m}
    indices = sorted(int(m["index"]) for m in shards if m)
    expected = list(range(max(counts))) if len(counts) == 1 else None
    if expected is None or indices != expected:
        raise FormatError(
            files[0].parent,
            f"subset {subset!r}: shards {indices} of {sorted(counts)} are present; "
            "expected each of 0..N-1 exactly once",
            field="shards",
            expected=f"0..{max(counts) - 1}",
            actual=indices,
        )


class ParquetOptions(PngSaveOptions):
    """parquet's save options: shard and row-group sizes, column compression, pixel encoding."""

    rows_per_shard: int | None = Field(
        None, ge=1, description="rows per file (default: files of about 256 MB)"
    )
    row_group_size: int = Field(10_000, ge=1, description="rows per Parquet row group")
    compression: Literal["none", "snappy", "gzip", "brotli", "lz4", "zstd"] | None = Field(
        None,
        description="Parquet compression for every column (default: none for PNG bytes, snappy "
        "for the rest; zstd for raw pixels)",
    )
    image_encoding: Literal["png", "raw"] = Field(
        "png", description="png (Hugging Face Image(), Hub-compatible) or raw (fixed-size pixels)"
    )


class ParquetFormat(Adapter[ParquetOptions, LoadOptions]):
    """Hugging Face-layout Parquet shards."""

    name = "parquet"
    description = (
        "Parquet in the Hugging Face Hub layout (<subset>-00000-of-0000N.parquet; image + "
        "label with Image()/ClassLabel features); needs the [parquet] extra"
    )
    options = ParquetOptions

    # -- detection and reading ----------------------------------------------------------------
    def owns(self, entry: Path) -> bool:
        """Shard files, and a `data/` folder holding only shard files (the Hub's layout)."""
        if entry.is_symlink():
            return False
        if entry.is_file():
            return SHARD_NAME.match(entry.name) is not None
        return (
            entry.name == "data"
            and entry.is_dir()
            and all(c.is_file() and SHARD_NAME.match(c.name) for c in entry.iterdir())
        )

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        if not path.exists():
            raise NotThisFormat("no such path")
        files = [f for group in _safe_files(path).values() for f in group]
        evidence = []
        for file in files[:4]:
            try:
                with open_regular(file) as handle:
                    if handle.read(4) != MAGIC:
                        raise NotThisFormat(f"{file.name}: no Parquet magic")
            except FormatError as error:
                raise NotThisFormat(str(error)) from None
            evidence.append(f"{file.name}: Parquet file")
        if not evidence:
            raise NotThisFormat("no .parquet file")
        return Detection(self.name, 2.0, evidence)

    def read(self, path: Path, subset: str | None, opts: LoadOptions) -> Dataset:
        _pyarrow()
        groups = parquet_files(path)
        if subset is not None:
            groups = {name: files for name, files in groups.items() if name == subset}
        if not groups:
            raise FormatError(
                path,
                "the folder holds no .parquet file",
                field="files",
                expected="a .parquet file",
                actual="none",
            )
        subsets, categories = [], None
        for name, files in groups.items():
            part, names = self._read_subset(name, files, opts)
            subsets.append(part)
            if names is not None:
                if categories is not None and names != categories:
                    raise FormatError(
                        files[0],
                        f"class names {list(names)[:5]}... differ from another file's",
                        field="ClassLabel names",
                        expected=categories,
                        actual=names,
                    )
                categories = names
        root = path if path.is_dir() else path.parent
        if categories is None:
            top = max((int(s.labels.max()) for s in subsets if len(s)), default=-1)
            categories = load_categories(root, tuple(str(i) for i in range(top + 1)))
        return Dataset(subsets, categories)

    def _read_subset(self, name: str, files: list[Path], opts: LoadOptions):
        from engine.interop.arrow import SubsetBuilder, table_info

        pa, pq = _pyarrow()

        builder = None
        categories = None
        for file in files:
            try:
                check_regular(file)  # a FIFO would block Arrow's open, /dev/zero never end
                handle = pq.ParquetFile(file)
                info = table_info(handle.schema_arrow, file)
                if builder is None:
                    builder = SubsetBuilder(name, info, workers=opts.workers)
                    categories = info.categories
                elif info != builder.info:
                    raise FormatError(
                        file, "columns or metadata differ from the subset's first file"
                    )
                check_declared_sizes(handle.metadata, file)
                for batch in handle.iter_batches(batch_size=READ_BATCH_ROWS):
                    builder.add(batch, file)
            except (pa.ArrowException, OSError, UnicodeDecodeError) as error:
                # Arrow decodes column paths as UTF-8: a damaged footer raises UnicodeDecodeError
                raise FormatError(file, f"not a readable Parquet file ({error})") from None
        assert builder is not None  # parquet_files lists at least one file per subset
        return builder.subset(), categories

    # -- writing --------------------------------------------------------------------------------
    def plan(self, dataset: Dataset, opts: ParquetOptions) -> None:
        self._plans(dataset, opts)

    def write(self, dataset: Dataset, directory: Path, opts: ParquetOptions) -> None:
        _, pq = _pyarrow()
        for plan in self._plans(dataset, opts):
            self._write_subset(plan, directory, opts, pq)
        if opts.save_dataset_meta:
            save_categories(directory, dataset.categories, dataset_meta=True)

    def _plans(self, dataset: Dataset, opts: ParquetOptions) -> list[Any]:
        """One table plan per non-empty subset; ValidationError for what a table cannot hold."""
        from engine.interop.arrow import plan_table

        subsets = non_empty_subsets(dataset)
        check_relative_names([s.name for s in subsets], "subset names")
        nested = [s.name for s in subsets if "/" in s.name or SHARD_NAME.match(f"{s.name}.parquet")]
        if nested:
            raise ValidationError("these subset names cannot be Parquet shard names", nested)
        plans = []
        for subset in subsets:
            if not opts.save_media:
                subset = replace(subset, images=None)
            encoding = opts.image_encoding if subset.images is not None else "png"
            plans.append(plan_table(subset, dataset.categories, encoding, opts.compresslevel))
        return plans

    def _write_subset(self, plan: Any, directory: Path, opts: ParquetOptions, pq: Any) -> None:
        count = len(plan.subset)
        group = opts.row_group_size
        per_shard = opts.rows_per_shard or _auto_rows_per_shard(plan, group)
        shards = max(1, math.ceil(count / per_shard))
        schema = plan.schema()
        compression = opts.compression or _default_compression(plan.encoding, schema)
        for shard in range(shards):
            start, stop = shard * per_shard, min(count, (shard + 1) * per_shard)
            target = directory / shard_name(plan.subset.name, shard, shards)
            blobs = _pool_encoded(plan, start, stop, opts)
            with pq.ParquetWriter(target, schema, compression=compression) as writer:
                for first in range(start, stop, group):
                    last = min(stop, first + group)
                    part = None if blobs is None else blobs[first - start : last - start]
                    writer.write_batch(plan.batch(first, last, part))


#: a column chunk of image files larger than one image may be inflates at most this many times
#: (PNG bytes are compressed already; a chunk inflating more holds something else, a bomb)
MAX_IMAGE_CHUNK_RATIO = 100


def check_declared_sizes(metadata: Any, file: Path) -> None:
    """Refuses, from the footer alone and before any page is read, a column chunk whose values
    may not be what a cell holds: more uncompressed bytes than its rows times the largest image
    file (a 30 KB file holding one 600 MB value peaked at 2.6 GB), fixed-size values wider than
    an image, or a chunk of image bytes inflating more than MAX_IMAGE_CHUNK_RATIO times."""
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        rows = max(row_group.num_rows, 1)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            column = chunk.path_in_schema
            size, packed = chunk.total_uncompressed_size, chunk.total_compressed_size
            width = metadata.schema.column(index).length or 0
            if size > rows * MAX_IMAGE_FILE_BYTES or width > MAX_IMAGE_FILE_BYTES:
                reason = f"{size} uncompressed bytes for {rows} rows"
                if width > MAX_IMAGE_FILE_BYTES:
                    reason = f"values of {width} bytes each"
            elif (
                column.split(".")[0] == IMAGE_COLUMN
                and chunk.physical_type == "BYTE_ARRAY"
                and size > MAX_IMAGE_FILE_BYTES
                and size > MAX_IMAGE_CHUNK_RATIO * max(packed, 1)
            ):
                reason = f"{size} uncompressed bytes from {packed} stored"
            else:
                continue
            raise FormatError(
                file,
                f"row group {group}, column {column!r} declares {reason}, more than cells of "
                f"at most {MAX_IMAGE_FILE_BYTES} bytes (an image) may hold; refusing to "
                "inflate it",
                offset=chunk.dictionary_page_offset or chunk.data_page_offset,
                field=f"row group {group} column {column}",
                expected=f"<= {MAX_IMAGE_FILE_BYTES} bytes per cell",
                actual=reason,
            )


def _safe_files(path: Path) -> dict[str, list[Path]]:
    try:
        return parquet_files(path)
    except FormatError as error:
        raise NotThisFormat(str(error)) from None


def _pool_encoded(plan: Any, start: int, stop: int, opts: ParquetOptions) -> list | None:
    """One shard's PNG bytes encoded in the process pool, or None to encode batch by batch
    inline (raw pixels, ragged images, or a job too small for the pool)."""
    images = plan.subset.images
    workers = resolve_workers(opts.workers, stop - start)
    if plan.encoding != "png" or not isinstance(images, np.ndarray) or workers <= 1:
        return None
    bounds = chunk_bounds(stop - start, workers)
    level = opts.compresslevel
    chunks = [(images[start + a : start + b], level) for a, b in bounds]
    with Progress(stop - start, "encoding images", enabled=opts.progress) as bar:
        parts = run_chunks(
            encode_pngs, chunks, workers=workers, sizes=[b - a for a, b in bounds], progress=bar
        )
    return [blob for part in parts for blob in part]


def _auto_rows_per_shard(plan: Any, group: int) -> int:
    """Rows that make a file of about TARGET_SHARD_BYTES, from a sample's encoded size."""
    sample = min(len(plan.subset), 256)
    if sample == 0:
        return 1
    size = plan.batch(0, sample).nbytes / sample
    return max(1, int(TARGET_SHARD_BYTES // max(size, 1.0)))


def _default_compression(encoding: str, schema: Any) -> Any:
    """PNG bytes are compressed already (stored plain, as `datasets` does); raw pixels get zstd."""
    if encoding == "raw":
        return "zstd"
    columns = {name: "snappy" for name in schema.names if name != "image"}
    columns["image.bytes"] = "none"
    columns["image.path"] = "snappy"
    return columns


FORMAT = ParquetFormat()
