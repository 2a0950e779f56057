"""MNIST (LeCun, Cortes, Burges): 28x28 uint8 handwritten digits, labels 0..9, in IDX files."""

from __future__ import annotations

from specs.schema import DatasetSpec, IdxLayout, KnownFile, SideFile, Tensor

SPEC = DatasetSpec(
    name="mnist",
    description="MNIST handwritten digits in IDX files (train/t10k, gzipped or plain)",
    layout=IdxLayout(
        images_names=("{prefix}-images-idx3-ubyte", "{prefix}-images.idx3-ubyte"),
        labels_names=("{prefix}-labels-idx1-ubyte", "{prefix}-labels.idx1-ubyte"),
        images=Tensor(dtype="uint8", item_shape=(28, 28)),
        labels=Tensor(dtype="uint8"),
        side_file=SideFile(name="{subset}-meta.gz", encoding="numpy_u32"),
    ),
    classes=tuple(str(digit) for digit in range(10)),
    subset_prefixes={"test": "t10k"},
    no_label=255,
    max_label=254,
    known_files=(
        KnownFile(name="train-images-idx3-ubyte.gz", md5="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        KnownFile(
            name="train-labels-idx1-ubyte.gz",
            md5="d53e105ee54ea40749a09fcbcd1e9432",
            content_md5="a25bea736e30d166cdddb491f175f624",
        ),
        KnownFile(
            name="t10k-images-idx3-ubyte.gz",
            md5="9fb629c4189551a2d022fa330f9573f3",
            content_md5="2646ac647ad5339dbf082846283269ea",
        ),
        KnownFile(
            name="t10k-labels-idx1-ubyte.gz",
            md5="ec29112dd5afa0611ce80d1b7f02629c",
            content_md5="27ae3e4e09519cfbb04c329615203637",
        ),
    ),
)


def like_mnist(
    name: str, description: str, classes: tuple[str, ...], md5s: dict[str, str]
) -> DatasetSpec:
    """A dataset stored exactly as MNIST is (same files, arrays, markers) with its own classes and
    published MD5s (`md5s`: file name -> MD5 of the published file)."""
    return SPEC.model_copy(
        update={
            "name": name,
            "description": description,
            "classes": classes,
            "shares_layout_with": SPEC.name,
            "known_files": tuple(KnownFile(name=n, md5=m) for n, m in md5s.items()),
        }
    )
