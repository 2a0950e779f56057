"""QMNIST (Yadav & Bottou, 2019): MNIST's images plus the full test set and NIST provenance.

Labels are idx2-int files (N x 8 big-endian int32): the class, then per-item attributes kept on
a round trip. `test10k` and `test50k` are row ranges of `test`, loaded with `subset=`; `nist` is
the xz-compressed `xnist-*` files. The plain `qmnist-test-labels-idx1-ubyte` file is read too
(no attributes) when the idx2 labels are absent.
"""

from __future__ import annotations

from specs.schema import (
    Column,
    DatasetSpec,
    FetchFile,
    IdxLayout,
    KnownFile,
    Mirror,
    RowRange,
    Sources,
    Tensor,
    TensorFiles,
)

TORCHVISION = "torchvision QMNIST.resources (MD5 only)"

#: Attributes without a value (a dataset converted from MNIST) are written as -1: "unknown".
UNKNOWN = -1

LABEL_COLUMNS = (
    Column(name="class"),
    Column(name="hsf_series", fill=UNKNOWN),
    Column(name="writer_id", fill=UNKNOWN),
    Column(name="writer_digit_index", fill=UNKNOWN),
    Column(name="nist_class", fill=UNKNOWN),
    Column(name="nist_index", fill=UNKNOWN),
    Column(name="duplicate", fill=UNKNOWN),
    Column(name="unused", fill=0),
)

SPEC = DatasetSpec(
    name="qmnist",
    description="QMNIST digits: MNIST-style images, N x 8 int32 labels with NIST provenance",
    layout=IdxLayout(
        images_names=("{prefix}-images-idx3-ubyte",),
        labels_names=("{prefix}-labels-idx2-int",),
        images=Tensor(dtype="uint8", item_shape=(28, 28)),
        labels=Tensor(dtype="int32", item_shape=(8,), columns=LABEL_COLUMNS),
        label_column=0,
        labels_alternatives=(
            TensorFiles(names=("{prefix}-labels-idx1-ubyte",), tensor=Tensor(dtype="uint8")),
        ),
    ),
    classes=tuple(str(digit) for digit in range(10)),
    subsets=("train", "test", "nist"),
    subset_prefixes={"train": "qmnist-train", "test": "qmnist-test", "nist": "xnist"},
    other_subset_prefix="qmnist-{subset}",
    subset_compressions={"nist": ".xz"},
    subset_views={
        "test10k": RowRange(source="test", start=0, stop=10_000),
        "test50k": RowRange(source="test", start=10_000),
    },
    known_files=(
        KnownFile(
            name="qmnist-train-images-idx3-ubyte.gz",
            md5="ed72d4157d28c017586c42bc6afe6370",
            source=TORCHVISION,
        ),
        KnownFile(
            name="qmnist-train-labels-idx2-int.gz",
            md5="0058f8dd561b90ffdd0f734c6a30e5e4",
            source=TORCHVISION,
        ),
        KnownFile(
            name="qmnist-test-images-idx3-ubyte.gz",
            md5="1394631089c404de565df7b7aeaf9412",
            source=TORCHVISION,
        ),
        KnownFile(
            name="qmnist-test-labels-idx2-int.gz",
            md5="5b5b05890a5e13444e108efe57b788aa",
            source=TORCHVISION,
        ),
        KnownFile(
            name="xnist-images-idx3-ubyte.xz",
            md5="7f124b3b8ab81486c9d8c2749c17f834",
            source=TORCHVISION,
        ),
        KnownFile(
            name="xnist-labels-idx2-int.xz",
            md5="5ed0e788978e45d4a8bd4b7caec3d79d",
            source=TORCHVISION,
        ),
    ),
    sources=Sources(
        homepage="https://github.com/facebookresearch/qmnist",
        license="BSD (see the repository's LICENSE)",
        citation="C. Yadav and L. Bottou, Cold Case: The Lost MNIST Digits, NeurIPS 2019.",
        mirrors=(Mirror(url="https://raw.githubusercontent.com/facebookresearch/qmnist/master/"),),
        files=(
            *(
                FetchFile(name=f"qmnist-{subset}-{kind}.gz", subsets=(subset,))
                for subset in ("train", "test")
                for kind in ("images-idx3-ubyte", "labels-idx2-int")
            ),
            FetchFile(name="xnist-images-idx3-ubyte.xz", subsets=("nist",)),
            FetchFile(name="xnist-labels-idx2-int.xz", subsets=("nist",)),
        ),
        content_proof="no content hash is published, so no converted copy can be proven equal",
    ),
)
