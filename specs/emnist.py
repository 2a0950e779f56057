"""EMNIST (Cohen et al., 2017): NIST handwritten characters as 28x28 uint8 IDX files, one pair
per split and subset. Images are stored transposed (column-major); the engine loads them upright
and writes them back transposed. The split is chosen with `split=` (`engine.load('emnist', path,
split='balanced')`); detection reads it from the file names.
"""

from __future__ import annotations

import string

from specs.schema import DatasetSpec, IdxLayout, Tensor, Variant

DIGITS = tuple(string.digits)
UPPER = tuple(string.ascii_uppercase)
LOWER = tuple(string.ascii_lowercase)
#: Lowercase letters merged into their uppercase class in bymerge/balanced (they look alike).
MERGED = set("cijklmopsuvwxyz")

BY_CLASS = DIGITS + UPPER + LOWER
BY_MERGE = DIGITS + UPPER + tuple(c for c in LOWER if c not in MERGED)

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
)
