"""Fashion-MNIST (Zalando Research): 28x28 uint8 clothing images in MNIST's exact file layout."""

from __future__ import annotations

from specs.mnist import like_mnist

SPEC = like_mnist(
    "fashion_mnist",
    "Fashion-MNIST clothing images in IDX files (MNIST's layout and file names)",
    (
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
    {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
)
