"""EMNIST (Cohen et al., 2017): NIST handwritten characters as 28x28 uint8 IDX files, one pair
per split and subset. Images are stored transposed (column-major); the engine loads them upright
and writes them back transposed. The split is chosen with `split=` (`engine.load('emnist', path,
split='balanced')`); detection reads it from the file names.
"""

from __future__ import annotations

import string

from specs.schema import (
    DatasetSpec,
    FetchFile,
    IdxLayout,
    KnownFile,
    Mirror,
    Sources,
    Tensor,
    Variant,
)

DIGITS = tuple(string.digits)
UPPER = tuple(string.ascii_uppercase)
LOWER = tuple(string.ascii_lowercase)
#: Lowercase letters merged into their uppercase class in bymerge/balanced (they look alike).
MERGED = set("cijklmopsuvwxyz")

BY_CLASS = DIGITS + UPPER + LOWER
BY_MERGE = DIGITS + UPPER + tuple(c for c in LOWER if c not in MERGED)
SPLITS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")

#: every split's files come in one published archive, under `gzip/`
ARCHIVE = KnownFile(
    name="gzip.zip",
    md5="58c8d27c78d21e728a6bc7b3cc06412e",
    size=561753746,
    sha256="fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e",
    source="TFDS url_checksums (size, SHA-256); torchvision EMNIST.md5 (MD5)",
)

SPEC = DatasetSpec(
    name="emnist",
    description="EMNIST characters in IDX files, one split per file-name group "
    "(emnist-<split>-<train|test>-...)",
    layout=IdxLayout(
        images_names=("emnist-{variant}-{prefix}-images-idx3-ubyte",),
        labels_names=("emnist-{variant}-{prefix}-labels-idx1-ubyte",),
        images=Tensor(dtype="uint8", item_shape=(28, 28), transposed=True),
        labels=Tensor(dtype="uint8"),
    ),
    classes=BY_CLASS,
    variant_option="split",
    variants=(
        Variant(name="byclass", classes=BY_CLASS, description="62 classes: 0-9, A-Z, a-z"),
        Variant(name="bymerge", classes=BY_MERGE, description="47 classes, look-alikes merged"),
        Variant(name="balanced", classes=BY_MERGE, description="47 classes, balanced counts"),
        Variant(name="letters", classes=("N/A", *LOWER), description="label 0 unused, 1-26 a-z"),
        Variant(name="digits", classes=DIGITS, description="10 digit classes"),
        Variant(name="mnist", classes=DIGITS, description="10 digits, MNIST's proportions"),
    ),
    sources=Sources(
        homepage="https://www.nist.gov/itl/products-and-services/emnist-dataset",
        license="NIST Special Database 19 terms of use (see the homepage)",
        citation="G. Cohen, S. Afshar, J. Tapson and A. van Schaik, EMNIST: an extension of "
        "MNIST to handwritten letters, arXiv:1702.05373, 2017.",
        mirrors=(
            Mirror(url="https://biometrics.nist.gov/cs_links/EMNIST/"),
            Mirror(url="https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/"),
        ),
        archives=(ARCHIVE,),
        files=tuple(
            FetchFile(
                name=f"emnist-{split}-{subset}-{kind}-ubyte.gz",
                subsets=(subset,),
                variant=split,
                archive=ARCHIVE.name,
                member=f"gzip/emnist-{split}-{subset}-{kind}-ubyte.gz",
            )
            for split in SPLITS
            for subset in ("train", "test")
            for kind in ("images-idx3", "labels-idx1")
        ),
        content_proof="only the archive's hashes are published; its members are vouched for "
        "by the archive's hash (and their CRC-32 in it)",
    ),
)
