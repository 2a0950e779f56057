"""What a dataset spec is: pydantic models that a spec module fills in and the engine interprets.

A spec is pure data. `specs/<name>.py` defines one `SPEC = DatasetSpec(...)`; the engine finds it
through the registry and never branches on its name.
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DTypeName = Literal["uint8", "int8", "int16", "int32", "float32", "float64"]

#: smallest and largest value of each integer dtype name
INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Column(_Frozen):
    """One named column of a table-shaped labels file (e.g. QMNIST's N x 8 int32 labels)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    fill: int | None = Field(
        None,
        description="value written when a dataset lacks this attribute; None makes it an error",
    )


class Tensor(_Frozen):
    """The array one file holds: dtype and the shape of one item (the first axis counts items)."""

    dtype: DTypeName
    item_shape: tuple[int, ...] = ()
    transposed: bool = Field(
        False, description="items are stored transposed on disk (e.g. EMNIST); loaded upright"
    )
    columns: tuple[Column, ...] = Field(
        (),
        description="names of the last axis when each item is a row of values (labels tables); "
        "one per entry of `item_shape[-1]`",
    )

    @model_validator(mode="after")
    def _columns_fit_shape(self) -> Tensor:
        if self.columns and (len(self.item_shape) != 1 or self.item_shape[0] != len(self.columns)):
            raise ValueError(
                f"{len(self.columns)} columns need item_shape ({len(self.columns)},), "
                f"not {self.item_shape}"
            )
        return self


class TensorFiles(_Frozen):
    """Another kind of file that can stand in for a subset's labels (read only, never written)."""

    names: tuple[str, ...]
    tensor: Tensor


class RowRange(_Frozen):
    """A subset that is a row range of another (QMNIST's test10k = rows 0..10000 of test)."""

    source: str
    start: int = Field(0, ge=0)
    stop: int | None = Field(None, ge=0)


class Variant(_Frozen):
    """One of several datasets sharing a spec, named in the files (EMNIST's splits)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    classes: tuple[str, ...]
    description: str = ""


class KnownFile(_Frozen):
    """A published file: its name, the MD5 of the file and of its uncompressed content."""

    name: str
    md5: str
    content_md5: str | None = None


class SideFile(_Frozen):
    """Datumaro's per-subset side file holding custom item ids and image sizes.

    Rows are `[id]`, `[h, w]` or `[id, h, w]`; `encoding` says how the rows are stored:
    `numpy_u32` is a gzip of raw numpy '<U32' cells, `csv` is one comma-separated row per line.
    """

    name: str
    encoding: Literal["numpy_u32", "csv"]
    cell_chars: int = 32

    @field_validator("name")
    @classmethod
    def _one_subset_placeholder(cls, name: str) -> str:
        """The name is a template holding `{subset}` and no other placeholder or stray brace."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(name) if f is not None]
        except ValueError as error:
            raise ValueError(f"side-file name {name!r} is not a valid template: {error}") from None
        if fields != ["subset"] or "/" in name or "\\" in name:
            raise ValueError(
                f"side-file name {name!r} must hold '{{subset}}' once, no other '{{...}}' "
                "and no folder separator"
            )
        return name


class IdxLayout(_Frozen):
    """A dataset stored as pairs of IDX files per subset (images and labels)."""

    codec: Literal["idx"] = "idx"
    images_names: tuple[str, ...] = Field(
        description="file-name patterns for a subset's images, `{prefix}` = the subset's prefix; "
        "the first one is used when writing"
    )
    labels_names: tuple[str, ...]
    images: Tensor
    labels: Tensor
    compressions: tuple[str, ...] = Field(
        (".gz", "", ".xz", ".bz2"),
        description="suffixes accepted after a file name; the first is the default when writing",
    )
    side_file: SideFile | None = None
    label_column: int = Field(
        0, ge=0, description="for labels tables (`labels.columns`): the column holding the class"
    )
    labels_alternatives: tuple[TensorFiles, ...] = Field(
        (),
        description="other label files read when a subset has no file of the main kind "
        "(QMNIST's plain idx1 labels)",
    )
    header_count_may_be_element_count: bool = Field(
        True,
        description="tolerate writers (Datumaro) that store the number of elements, not of "
        "items, in the first dim; the labels file's count decides, with a warning",
    )


class CsvLayout(_Frozen):
    """A dataset stored as one CSV file per subset: a label column then the pixels in row-major.

    A row holding only the label is an item without image; `-1`-style label markers come from the
    spec's `no_label`. Files are found by `name_regex` and written as `file_names[0]`.
    """

    codec: Literal["csv"] = "csv"
    file_names: tuple[str, ...] = Field(
        description="file-name patterns, `{prefix}` = the subset's prefix; the first is written"
    )
    name_regex: str = Field(
        description="regex a file name (without compression suffix) must match to be read; its "
        "group `prefix` gives the subset's prefix"
    )
    image_shape: tuple[int, ...]
    pixel_range: tuple[int, int] = (0, 255)
    pixel_dtype: DTypeName = "uint8"
    label_dtype: DTypeName = Field("int16", description="dtype that holds every label value")
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: Literal["detect", "none", "always"] = Field(
        "detect",
        description="`detect`: a first line that does not start with a number is a header and "
        "is skipped; files are written without one (an empty subset gets `header_names`). "
        "`always`: every file starts with a header line, read and written",
    )
    header_names: tuple[str, str] = Field(
        ("label", "{row}x{col}"),
        description="the label column's name and the pixel columns' pattern (`{row}`, `{col}` "
        "from 1, or `{index}` from 0), for header lines",
    )
    label_column: Literal["required", "optional"] = Field(
        "required",
        description="`optional`: a file whose header does not start with the label column's "
        "name holds pixels only, and its items are unlabeled (Kaggle's test.csv); a subset "
        "without any label is written so",
    )
    compressions: tuple[str, ...] = Field(
        ("", ".gz", ".xz", ".bz2"),
        description="suffixes accepted after a file name; the first is the default when writing",
    )
    side_file: SideFile | None = None

    @model_validator(mode="after")
    def _pixels_fit_dtype(self) -> CsvLayout:
        bounds = INTEGER_BOUNDS.get(self.pixel_dtype)
        low, high = self.pixel_range
        if low > high or (bounds is not None and not bounds[0] <= low <= high <= bounds[1]):
            raise ValueError(f"pixel_range {self.pixel_range} does not fit {self.pixel_dtype}")
        if self.label_column == "optional" and self.header != "always":
            raise ValueError("an optional label column needs header='always' to tell files apart")
        return self


class NpzLayout(_Frozen):
    """A dataset stored as numpy `.npz` archives per subset, one for images and one for labels
    (KMNIST's published `kmnist-train-imgs.npz`, array `arr_0`). Never unpickled."""

    codec: Literal["npz"] = "npz"
    images_names: tuple[str, ...] = Field(
        description="file-name patterns, `{prefix}` = the subset's prefix; the first is written"
    )
    labels_names: tuple[str, ...]
    array: str = Field("arr_0", description="the array's name inside each archive")
    images: Tensor
    labels: Tensor
    compressed: bool = Field(True, description="write with np.savez_compressed (deflate)")
    subset_prefixes: dict[str, str] | None = Field(
        None,
        description="subset name -> file prefix for this layout's files, where they differ from "
        "the spec's (KMNIST's archives say `test` where its IDX files say `t10k`)",
    )


Layout = Annotated[IdxLayout | CsvLayout | NpzLayout, Field(discriminator="codec")]

#: the version of this schema; a spec declaring a newer one needs a newer engine
SCHEMA_VERSION = 1


class DatasetSpec(_Frozen):
    """One dataset format: its files, arrays, classes and published checksums."""

    schema_version: int = Field(
        SCHEMA_VERSION,
        ge=1,
        description="the version of this schema the spec is written for; the engine refuses a "
        "user spec written for a newer one (as Kaitai's runtime pins its version)",
    )
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    layout: Layout
    other_layouts: tuple[Layout, ...] = Field(
        (),
        description="further ways the publisher ships the same dataset (KMNIST's .npz beside its "
        "IDX files); loading reads the first layout whose files are present, saving writes "
        "`layout` unless `layout=<codec>` is passed",
    )
    classes: tuple[str, ...] = Field(description="default class names, in label-index order")
    subset_prefixes: dict[str, str] = Field(
        default_factory=dict,
        description="subset name -> file prefix where they differ (MNIST's test <-> t10k)",
    )
    no_label: int | None = Field(
        None, description="label value that marks an item without a label, if the format has one"
    )
    max_label: int | None = Field(None, description="largest label index the files can hold")
    known_files: tuple[KnownFile, ...] = ()
    default_image_ext: str = ".png"
    subsets: tuple[str, ...] = Field(
        ("train", "test"),
        description="the subsets the publisher ships; files of these count most in detection",
    )
    other_subset_prefix: str = Field(
        "{subset}",
        description="how a subset without an entry in `subset_prefixes` is named in files; "
        "files whose prefix fits neither are not this format's",
    )
    subset_compressions: dict[str, str] = Field(
        default_factory=dict,
        description="subset -> compression suffix written by default where it differs from the "
        "layout's first (QMNIST's nist files are xz)",
    )
    subset_views: dict[str, RowRange] = Field(
        default_factory=dict,
        description="subsets that are row ranges of another, loaded on request (`subset=`)",
    )
    variants: tuple[Variant, ...] = Field(
        (),
        description="datasets sharing this layout, told apart by `{variant}` in the file names",
    )
    variant_option: str = Field(
        "variant", description="keyword that selects a variant in load/save (EMNIST: `split`)"
    )
    shares_layout_with: str | None = Field(
        None,
        description="format that claims a folder of this layout unless checksums or labels.txt "
        "name this one (Fashion-MNIST and KMNIST defer to MNIST)",
    )

    @model_validator(mode="after")
    def _no_label_outside_range(self) -> DatasetSpec:
        if (
            self.no_label is not None
            and self.max_label is not None
            and 0 <= self.no_label <= self.max_label
        ):
            raise ValueError("no_label must lie outside 0..max_label")
        return self

    @model_validator(mode="after")
    def _variants_named_in_files(self) -> DatasetSpec:
        if self.variants and isinstance(self.layout, IdxLayout):
            names = (*self.layout.images_names, *self.layout.labels_names)
            if not all("{variant}" in name for name in names):
                raise ValueError("a spec with variants needs {variant} in every file name")
        if "{subset}" not in self.other_subset_prefix:
            raise ValueError("other_subset_prefix needs a {subset} placeholder")
        codecs = [self.layout.codec, *(other.codec for other in self.other_layouts)]
        if len(set(codecs)) != len(codecs):
            raise ValueError(f"each layout needs its own codec; found {codecs}")
        return self

    def variant(self, name: str) -> Variant:
        """The variant called `name`; ValueError listing the choices otherwise."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        choices = ", ".join(v.name for v in self.variants)
        raise ValueError(f"{self.name}: no {self.variant_option} {name!r}; choose one of {choices}")

    def prefix_of(self, subset: str) -> str:
        """The file prefix a subset is stored under."""
        if subset in self.subset_prefixes:
            return self.subset_prefixes[subset]
        return self.other_subset_prefix.format(subset=subset)

    def subset_of(self, prefix: str) -> str | None:
        """The subset a file prefix stands for; None when the prefix is not this format's."""
        for subset, known in self.subset_prefixes.items():
            if known.lower() == prefix.lower():
                return subset
        head, _, tail = self.other_subset_prefix.partition("{subset}")
        body = prefix[len(head) : len(prefix) - len(tail)]
        fits = prefix.lower().startswith(head.lower()) and prefix.lower().endswith(tail.lower())
        if not fits or not body:
            return None
        return body
