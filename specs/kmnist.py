"""Kuzushiji-MNIST (ROIS-DS CODH): 28x28 uint8 cursive hiragana, ten classes, MNIST's layout, and
the numpy archives the publisher also ships (`kmnist-{train,test}-{imgs,labels}.npz`, `arr_0`)."""

from __future__ import annotations

from specs.mnist import like_mnist
from specs.schema import NpzLayout, Tensor

IDX_SPEC = like_mnist(
    "kmnist",
    "Kuzushiji-MNIST hiragana in IDX files (MNIST's layout) or the published .npz archives",
    ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    {
        "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
        "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
        "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
        "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
    },
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
