"""Fashion-MNIST (Zalando Research): 28x28 uint8 clothing images in MNIST's exact file layout."""

from __future__ import annotations

from specs.mnist import SPEC as MNIST
from specs.schema import DatasetSpec, KnownFile

SPEC = DatasetSpec(
    name="fashion_mnist",
    description="Fashion-MNIST clothing images in IDX files (MNIST's layout and file names)",
    layout=MNIST.layout,
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    subset_prefixes=MNIST.subset_prefixes,
    no_label=MNIST.no_label,
    max_label=MNIST.max_label,
    shares_layout_with=MNIST.name,
    known_files=(
        KnownFile(name="train-images-idx3-ubyte.gz", md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        KnownFile(name="train-labels-idx1-ubyte.gz", md5="25c81989df183df01b3e8a0aad5dffbe"),
        KnownFile(name="t10k-images-idx3-ubyte.gz", md5="bef4ecab320f06d8554ea6380940ec79"),
        KnownFile(name="t10k-labels-idx1-ubyte.gz", md5="bb300cfdad3c16e7a12a480ee83cd310"),
    ),
)
