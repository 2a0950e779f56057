"""Kuzushiji-MNIST (ROIS-DS CODH): 28x28 uint8 cursive hiragana, ten classes, MNIST's layout."""

from __future__ import annotations

from specs.mnist import SPEC as MNIST
from specs.schema import DatasetSpec, KnownFile

SPEC = DatasetSpec(
    name="kmnist",
    description="Kuzushiji-MNIST hiragana in IDX files (MNIST's layout and file names)",
    layout=MNIST.layout,
    classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    subset_prefixes=MNIST.subset_prefixes,
    no_label=MNIST.no_label,
    max_label=MNIST.max_label,
    shares_layout_with=MNIST.name,
    known_files=(
        KnownFile(name="train-images-idx3-ubyte.gz", md5="bdb82020997e1d708af4cf47b453dcf7"),
        KnownFile(name="train-labels-idx1-ubyte.gz", md5="e144d726b3acfaa3e44228e80efcd344"),
        KnownFile(name="t10k-images-idx3-ubyte.gz", md5="5c965bf0a639b31b8f53240b1b52f4d7"),
        KnownFile(name="t10k-labels-idx1-ubyte.gz", md5="7320c461ea6c1c855c0b718fb2a4b134"),
    ),
)
