"""A subset as a `torch.utils.data.Dataset` shaped like torchvision's MNIST (needs `[torch]`).

`ds[i]` is `(image, label)`: a PIL image passed through `transform` when one is given (torchvision's
convention), else a uint8 tensor (C, H, W); the label is an int (collated to int64), -1 for an
unlabeled item, passed through `target_transform`. `.data`, `.targets`, `.classes` and
`.class_to_idx` are torchvision's. Pickling (DataLoader workers started with spawn or forkserver)
does not copy memory-mapped pixels: the worker maps the same file again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.interop import require

if TYPE_CHECKING:
    import torch
    import torch.utils.data
else:
    torch = require("torch", "torch")


class MappedArray:
    """Where a memory-mapped array's bytes are in its file, to map it again in another process."""

    def __init__(self, array: np.ndarray, top: np.memmap) -> None:
        start = np.asarray(top).__array_interface__["data"][0]
        self.filename = str(top.filename)
        self.offset = int(top.offset) + array.__array_interface__["data"][0] - start
        self.dtype = array.dtype.str
        self.shape = array.shape
        self.strides = array.strides

    @classmethod
    def of(cls, array: Any) -> MappedArray | None:
        """The description of `array` when it views a memory-mapped file, else None."""
        if not isinstance(array, np.ndarray) or any(s < 0 for s in array.strides):
            return None
        top: np.memmap | None = None
        base: object = array
        while isinstance(base, np.ndarray):
            if isinstance(base, np.memmap) and base.filename:
                top = base
            base = base.base
        return None if top is None else cls(array, top)

    def open(self) -> np.ndarray:
        mapped = np.memmap(self.filename, dtype=np.uint8, mode="r")
        return np.ndarray(
            self.shape, self.dtype, buffer=mapped, offset=self.offset, strides=self.strides
        )


class MnistStyleDataset(torch.utils.data.Dataset):
    """Images and labels of one subset, served the way torchvision's MNIST serves them."""

    def __init__(
        self,
        images: np.ndarray | Sequence[np.ndarray],
        labels: np.ndarray,
        classes: Sequence[str],
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        self._images = images
        self._labels = np.asarray(labels, dtype=np.int64)
        self.classes = list(classes)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = np.asarray(self._images[index])
        target: Any = int(self._labels[index])
        if self.transform is not None:
            from PIL import Image

            picture = Image.fromarray(np.ascontiguousarray(_squeeze(image)))
            sample = self.transform(picture)
        else:
            sample = torch.from_numpy(_channels_first(image))
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    @property
    def data(self) -> Any:
        """All images as one uint8 tensor (N, H, W) (or (N, H, W, C)), as torchvision's `.data`."""
        if not isinstance(self._images, np.ndarray):
            raise ValueError("the images differ in shape: there is no single .data tensor")
        return torch.from_numpy(np.array(self._images))

    @property
    def targets(self) -> Any:
        return torch.from_numpy(self._labels.copy())

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.classes)}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        mapped = MappedArray.of(self._images)
        if mapped is not None:
            state["_images"] = mapped
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("_images"), MappedArray):
            state["_images"] = state["_images"].open()
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"MnistStyleDataset({len(self)} items, {len(self.classes)} classes)"


def _squeeze(image: np.ndarray) -> np.ndarray:
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _channels_first(image: np.ndarray) -> np.ndarray:
    """(H, W) -> (1, H, W); (H, W, C) -> (C, H, W); a writable copy torch can own."""
    if image.ndim == 2:
        return np.array(image[None])
    return np.array(image.transpose(2, 0, 1))
