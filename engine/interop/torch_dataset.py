"""A subset as a `torch.utils.data.Dataset` shaped like torchvision's MNIST (needs `[torch]`).

`ds[i]` is `(image, label)`: a PIL image passed through `transform` when one is given (torchvision's
convention), else a uint8 tensor (C, H, W); the label is an int (collated to int64), -1 for an
unlabeled item, passed through `target_transform`. `.data`, `.targets`, `.classes` and
`.class_to_idx` are torchvision's. Pickling (DataLoader workers started with spawn or forkserver)
does not copy memory-mapped pixels: the worker maps the same file again.

The fast path: torch's DataLoader hands a batch of indices to `__getitems__`, which gathers the
whole batch in one step (without `transform`/`target_transform`); `loader(**kwargs)` adds a
collate that passes those batches through as they are, about 10x faster than per-item fetching
at 0 workers. The default collate also works on what `__getitems__` returns, with the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.interop import require
from engine.model.batching import native

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
            sample = torch.from_numpy(_channels_first(native(image)))
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __getitems__(self, indices: Sequence[int]) -> Sequence[tuple[Any, Any]]:
        """The items at `indices` (what DataLoader asks for a batch): gathered in one step into a
        `GatheredBatch` when the images are one array and there is no transform, else item by
        item (a transform sees one PIL image at a time, as in torchvision)."""
        if (
            self.transform is not None
            or self.target_transform is not None
            or not isinstance(self._images, np.ndarray)
        ):
            return [self[int(index)] for index in indices]
        rows = np.asarray(indices, dtype=np.int64).reshape(-1)
        pixels = torch.from_numpy(native(self._images[rows]))
        if pixels.dim() == 3:
            pixels = pixels.unsqueeze(1)
        else:
            pixels = pixels.permute(0, 3, 1, 2).contiguous()
        return GatheredBatch(pixels, torch.from_numpy(self._labels[rows]))

    def loader(self, **kwargs: Any) -> torch.utils.data.DataLoader:
        """`DataLoader(self, **kwargs)` with a collate that passes whole batches through:
        batches are `[uint8 (B, C, H, W), int64 (B,)]`, the same (order, pixels, labels) that
        `DataLoader(self, **kwargs)` yields. Fast without workers (`num_workers=0`, the default):
        workers only add copies between processes to a batched path. With `transform=` the items
        still go through it one by one (correct, not fast); `Subset.batches` is faster still."""
        if "collate_fn" in kwargs:
            raise TypeError(
                "loader() brings its own collate_fn (whole batches passed through); for another "
                "one use torch.utils.data.DataLoader(dataset, collate_fn=...)"
            )
        batched = kwargs.get("batch_sampler") is not None or kwargs.get("batch_size", 1) is not None
        collate = collate_gathered if batched else None
        return torch.utils.data.DataLoader(self, collate_fn=collate, **kwargs)

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


class GatheredBatch(Sequence):
    """A batch gathered in one step: `images` (B, C, H, W) and `labels` (B,) int64. As a sequence
    its items are `(image (C, H, W), label int)`, made on access, so torch's default collate
    stacks them back into the same batch; `collate_gathered` takes the tensors as they are."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images
        self.labels = labels
        self._items: list[tuple[Any, int]] | None = None

    def items(self) -> list[tuple[Any, int]]:
        """The items, made in two calls (`unbind`, `tolist`) on first use, not one by one."""
        if self._items is None:
            self._items = list(zip(self.images.unbind(0), self.labels.tolist(), strict=True))
        return self._items

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: Any) -> Any:
        return self.items()[index]

    def __iter__(self) -> Iterator[tuple[Any, int]]:
        return iter(self.items())


def collate_gathered(batch: Any) -> Any:
    """DataLoader collate for `loader()`: a `GatheredBatch` as `[images, labels]` without copies;
    anything else (items of a transform) through torch's default collate."""
    if isinstance(batch, GatheredBatch):
        return [batch.images, batch.labels]
    return torch.utils.data.default_collate(batch)


def _squeeze(image: np.ndarray) -> np.ndarray:
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _channels_first(image: np.ndarray) -> np.ndarray:
    """(H, W) -> (1, H, W); (H, W, C) -> (C, H, W); a writable copy torch can own."""
    if image.ndim == 2:
        return np.array(image[None])
    return np.array(image.transpose(2, 0, 1))
