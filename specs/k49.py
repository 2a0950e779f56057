"""Kuzushiji-49 (ROIS-DS CODH): 28x28 uint8 cursive hiragana in 49 classes, published as numpy
archives `k49-{train,test}-{imgs,labels}.npz` (array `arr_0`).

Class names are the romanised readings of the characters in the order of the published
`k49_classmap.csv` (U+3042 あ ... U+3093 ん, then the iteration mark ゝ U+309D), spelled as the
`kmnist` spec spells its ten.
"""

from __future__ import annotations

from specs.kmnist import CITATION, CODH
from specs.schema import DatasetSpec, FetchFile, Mirror, NpzLayout, Sources, Tensor

CLASSES = (
    *("a", "i", "u", "e", "o"),
    *("ka", "ki", "ku", "ke", "ko"),
    *("sa", "shi", "su", "se", "so"),
    *("ta", "chi", "tsu", "te", "to"),
    *("na", "ni", "nu", "ne", "no"),
    *("ha", "hi", "fu", "he", "ho"),
    *("ma", "mi", "mu", "me", "mo"),
    *("ya", "yu", "yo"),
    *("ra", "ri", "ru", "re", "ro"),
    *("wa", "wi", "we", "wo", "n"),
    "iteration_mark",
)

SPEC = DatasetSpec(
    name="k49",
    description="Kuzushiji-49 hiragana (49 classes) in numpy archives k49-<subset>-imgs.npz",
    layout=NpzLayout(
        images_names=("k49-{prefix}-imgs.npz",),
        labels_names=("k49-{prefix}-labels.npz",),
        images=Tensor(dtype="uint8", item_shape=(28, 28)),
        labels=Tensor(dtype="uint8"),
    ),
    classes=CLASSES,
    no_label=255,
    max_label=254,
    sources=Sources(
        homepage="https://github.com/rois-codh/kmnist",
        license="CC BY-SA 4.0",
        citation=CITATION,
        mirrors=(Mirror(url=CODH + "k49/"),),
        # no primary source publishes a hash of these archives: checked as zip files only
        files=tuple(
            FetchFile(name=f"k49-{subset}-{kind}.npz", subsets=(subset,))
            for subset in ("train", "test")
            for kind in ("imgs", "labels")
        ),
        content_proof="no hash is published, so no converted copy can be proven equal",
    ),
)
