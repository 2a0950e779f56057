"""Kuzushiji-MNIST (ROIS-DS CODH): 28x28 uint8 cursive hiragana, ten classes, MNIST's layout, and
the numpy archives the publisher also ships (`kmnist-{train,test}-{imgs,labels}.npz`, `arr_0`)."""

from __future__ import annotations

from specs.mnist import TFDS, idx_pair_files, like_mnist
from specs.schema import FetchFile, KnownFile, Mirror, NpzLayout, Sources, Tensor

CODH = "http://codh.rois.ac.jp/kmnist/dataset/"
CITATION = (
    "T. Clanuwat, M. Bober-Irizar, A. Kitamoto, A. Lamb, K. Yamamoto and D. Ha, Deep Learning "
    "for Classical Japanese Literature, arXiv:1812.01718, 2018."
)

IDX_SPEC = like_mnist(
    "kmnist",
    "Kuzushiji-MNIST hiragana in IDX files (MNIST's layout) or the published .npz archives",
    ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    (
        KnownFile(
            name="train-images-idx3-ubyte.gz",
            md5="bdb82020997e1d708af4cf47b453dcf7",
            size=18165135,
            sha256="51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
            source=TFDS,
        ),
        KnownFile(
            name="train-labels-idx1-ubyte.gz",
            md5="e144d726b3acfaa3e44228e80efcd344",
            size=29497,
            sha256="e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
            source=TFDS,
        ),
        KnownFile(
            name="t10k-images-idx3-ubyte.gz",
            md5="5c965bf0a639b31b8f53240b1b52f4d7",
            size=3041136,
            sha256="edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
            source=TFDS,
        ),
        KnownFile(
            name="t10k-labels-idx1-ubyte.gz",
            md5="7320c461ea6c1c855c0b718fb2a4b134",
            size=5120,
            sha256="20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
            source=TFDS,
        ),
    ),
    Sources(
        homepage="https://github.com/rois-codh/kmnist",
        license="CC BY-SA 4.0",
        citation=CITATION,
        mirrors=(Mirror(url=CODH + "kmnist/"),),
        files=(
            *idx_pair_files({"train": "train", "test": "t10k"}),
            # the .npz archives: no primary source publishes a hash for them
            *(
                FetchFile(name=f"kmnist-{subset}-{kind}.npz", subsets=(subset,), layout="npz")
                for subset in ("train", "test")
                for kind in ("imgs", "labels")
            ),
        ),
        content_proof="no content hash is published, so no converted copy can be proven equal",
    ),
)

SPEC = IDX_SPEC.model_copy(
    update={
        "other_layouts": (
            NpzLayout(
                images_names=("kmnist-{prefix}-imgs.npz",),
                labels_names=("kmnist-{prefix}-labels.npz",),
                images=Tensor(dtype="uint8", item_shape=(28, 28)),
                labels=Tensor(dtype="uint8"),
                subset_prefixes={},
            ),
        )
    }
)
