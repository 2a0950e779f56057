"""The columnar dataset model: datasets, subsets, item views and labels.

Imports only numpy, Pillow (lazily, for image files) and nothing else of the engine.
"""

from engine.model.dataset import Dataset
from engine.model.items import DEFAULT_SUBSET, NO_LABEL, DatasetItem, Image, Label
from engine.model.subset import ItemView, Subset, stack_images, subset_order

__all__ = [
    "DEFAULT_SUBSET",
    "NO_LABEL",
    "Dataset",
    "DatasetItem",
    "Image",
    "ItemView",
    "Label",
    "Subset",
    "stack_images",
    "subset_order",
]
