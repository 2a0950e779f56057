"""Fashion-MNIST (Zalando Research): 28x28 uint8 clothing images in MNIST's exact file layout."""

from __future__ import annotations

from specs.mnist import TFDS, idx_pair_files, like_mnist
from specs.schema import KnownFile, Mirror, Sources

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
    (
        KnownFile(
            name="train-images-idx3-ubyte.gz",
            md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            size=26421880,
            sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            source=TFDS,
        ),
        KnownFile(
            name="train-labels-idx1-ubyte.gz",
            md5="25c81989df183df01b3e8a0aad5dffbe",
            size=29515,
            sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            source=TFDS,
        ),
        KnownFile(
            name="t10k-images-idx3-ubyte.gz",
            md5="bef4ecab320f06d8554ea6380940ec79",
            size=4422102,
            sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            source=TFDS,
        ),
        KnownFile(
            name="t10k-labels-idx1-ubyte.gz",
            md5="bb300cfdad3c16e7a12a480ee83cd310",
            size=5148,
            sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            source=TFDS,
        ),
    ),
    Sources(
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        license="MIT",
        citation="H. Xiao, K. Rasul and R. Vollgraf, Fashion-MNIST: a Novel Image Dataset for "
        "Benchmarking Machine Learning Algorithms, arXiv:1708.07747, 2017.",
        mirrors=(
            Mirror(url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
            Mirror(
                url="https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                "data/fashion/"
            ),
        ),
        files=idx_pair_files({"train": "train", "test": "t10k"}),
        content_proof="no content hash is published, so no converted copy can be proven equal",
    ),
)
