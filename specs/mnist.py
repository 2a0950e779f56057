"""MNIST (LeCun, Cortes, Burges): 28x28 uint8 handwritten digits, labels 0..9, in IDX files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from specs.schema import (
    ConvertedCopy,
    DatasetSpec,
    FetchFile,
    IdxLayout,
    KnownFile,
    Mirror,
    SideFile,
    Sources,
    Tensor,
)

TFDS = "TFDS url_checksums (size, SHA-256); torchvision resources (MD5)"
HF_MNIST = "https://huggingface.co/datasets/ylecun/mnist/resolve/main/mnist/"


def idx_pair_files(prefixes: dict[str, str], suffix: str = ".gz") -> tuple[FetchFile, ...]:
    """The images and labels files MNIST-style publishers release per subset (`prefixes`:
    subset -> file prefix)."""
    return tuple(
        FetchFile(name=f"{prefix}-{kind}-ubyte{suffix}", subsets=(subset,))
        for subset, prefix in prefixes.items()
        for kind in ("images-idx3", "labels-idx1")
    )


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
        KnownFile(
            name="train-images-idx3-ubyte.gz",
            md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
            size=9912422,
            sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            source=TFDS,
        ),
        KnownFile(
            name="train-labels-idx1-ubyte.gz",
            md5="d53e105ee54ea40749a09fcbcd1e9432",
            content_md5="a25bea736e30d166cdddb491f175f624",
            size=28881,
            sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            source=TFDS,
        ),
        KnownFile(
            name="t10k-images-idx3-ubyte.gz",
            md5="9fb629c4189551a2d022fa330f9573f3",
            content_md5="2646ac647ad5339dbf082846283269ea",
            size=1648877,
            sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            source=TFDS,
        ),
        KnownFile(
            name="t10k-labels-idx1-ubyte.gz",
            md5="ec29112dd5afa0611ce80d1b7f02629c",
            content_md5="27ae3e4e09519cfbb04c329615203637",
            size=4542,
            sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            source=TFDS,
        ),
    ),
    sources=Sources(
        homepage="http://yann.lecun.com/exdb/mnist/",
        license="CC BY-SA 3.0",
        citation="Y. LeCun, C. Cortes and C. J. C. Burges, The MNIST database of handwritten "
        "digits, 1998.",
        mirrors=(
            Mirror(url="https://ossci-datasets.s3.amazonaws.com/mnist/"),
            Mirror(url="https://storage.googleapis.com/cvdf-datasets/mnist/"),
        ),
        files=idx_pair_files({"train": "train", "test": "t10k"}),
        converted=(
            ConvertedCopy(
                format="parquet",
                subsets={
                    "train": HF_MNIST + "train-00000-of-00001.parquet",
                    "test": HF_MNIST + "test-00000-of-00001.parquet",
                },
                note="the Hugging Face Hub's Parquet copy (ylecun/mnist)",
            ),
        ),
        content_proof="the content MD5s of train-labels and both t10k files are known, so a "
        "rebuilt copy of those is proven equal; train-images has no published content hash and "
        "is never taken from a converted copy",
    ),
)


def like_mnist(
    name: str,
    description: str,
    classes: tuple[str, ...],
    published: Mapping[str, str] | Sequence[KnownFile],
    sources: Sources | None = None,
) -> DatasetSpec:
    """A dataset stored exactly as MNIST is (same files, arrays, markers) with its own classes,
    published files (KnownFiles, or a mapping file name -> MD5 of the published file) and
    sources."""
    if isinstance(published, Mapping):
        known_files = tuple(KnownFile(name=n, md5=m) for n, m in published.items())
    else:
        known_files = tuple(published)
    return SPEC.model_copy(
        update={
            "name": name,
            "description": description,
            "classes": classes,
            "shares_layout_with": SPEC.name,
            "known_files": known_files,
            "sources": sources,
        }
    )
