"""Whole batches for training, framework-neutral (numpy only): which items each rank sees in an
epoch, in what order, and one gather per batch from the images array (a memory map is read batch
by batch, never whole).

The epoch order follows torch's `DistributedSampler` rules (not its random numbers): the order is
a permutation seeded by `(seed, epoch)` (or 0..n-1 without shuffling); without `drop_last` it is
padded by repeating its first items until it divides by `world_size`; with `drop_last` its tail
is cut instead; rank r takes positions r, r + world_size, ... Every rank thus holds the same
number of items, so the same number of batches (DDP hangs otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EpochPlan:
    """What one rank iterates in one epoch: the item rows in order, cut into batches."""

    rows: np.ndarray  # int64, this rank's items in epoch order
    batch_size: int
    drop_last: bool

    def __len__(self) -> int:
        whole, rest = divmod(len(self.rows), self.batch_size)
        return whole + (1 if rest and not self.drop_last else 0)

    def batch_rows(self) -> Iterator[np.ndarray]:
        """Each batch's rows (views of `rows`): full batches, then the rest unless `drop_last`."""
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.rows[start : start + self.batch_size]


def check_batch_arguments(
    batch_size: int, *, seed: int, epoch: int, rank: int, world_size: int
) -> None:
    """ValueError naming the argument when one cannot describe an epoch."""
    for name, value in (
        ("batch_size", batch_size),
        ("seed", seed),
        ("epoch", epoch),
        ("rank", rank),
        ("world_size", world_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an integer, not {value!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, not {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(
            f"rank must be in 0..{world_size - 1} (world_size={world_size}), not {rank}"
        )
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, not {seed}")
    if epoch < 0:
        raise ValueError(f"epoch must be 0 or more, not {epoch}")


def epoch_order(count: int, *, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    """All rows of an epoch in order: a permutation seeded by (seed, epoch), else 0..count-1.

    The same (seed, epoch) gives the same order on every machine, rank and device.
    """
    if not shuffle:
        return np.arange(count, dtype=np.int64)
    return np.random.default_rng([seed, epoch]).permutation(count).astype(np.int64, copy=False)


def plan_epoch(
    count: int,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
) -> EpochPlan:
    """Rank `rank`'s share of an epoch over `count` items (see the module's rules)."""
    check_batch_arguments(batch_size, seed=seed, epoch=epoch, rank=rank, world_size=world_size)
    order = epoch_order(count, shuffle=shuffle, seed=seed, epoch=epoch)
    if world_size > 1:
        if drop_last:
            total = count // world_size * world_size
            order = order[:total]
        else:
            total = -(-count // world_size) * world_size
            order = np.resize(order, total) if count else order  # repeats from the start
        order = order[rank::world_size]
    return EpochPlan(np.ascontiguousarray(order), batch_size, drop_last)


def uniform_images(
    name: str, images: np.ndarray | Sequence[np.ndarray | None] | None, id_at: Callable[[int], str]
) -> np.ndarray:
    """The images as one array (N, H, W[, C]); ValueError when some item has none or the shapes
    differ (naming the first two shapes). A list of one shape is stacked (it is in memory)."""
    if images is None:
        raise ValueError(f"subset {name!r} has no images: there is nothing to batch")
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"subset {name!r}: images of shape {images.shape[1:]}: batches need (H, W) "
                f"or (H, W, C) images"
            )
        return images
    missing = [str(id_at(i)) for i, image in enumerate(images) if image is None]
    if missing:
        raise ValueError(f"subset {name!r}: items without an image: {missing[:10]}")
    present = [np.asarray(image) for image in images if image is not None]
    kinds: list[tuple[tuple[int, ...], np.dtype]] = []
    for image in present:
        kind = (image.shape, image.dtype)
        if kind not in kinds:
            kinds.append(kind)
            if len(kinds) == 2:
                (shape_a, dtype_a), (shape_b, dtype_b) = kinds
                raise ValueError(
                    f"subset {name!r} holds images of several shapes, e.g. {shape_a} {dtype_a} "
                    f"and {shape_b} {dtype_b}: batches need one shape (resize them first)"
                )
    if not present:
        raise ValueError(f"subset {name!r} has no items")
    return np.stack(present)


@dataclass(frozen=True)
class Normalization:
    """`(x / scale - mean) / std` per channel, as float32 (x / 255 for uint8 pixels), computed
    as `(x - offset) * factor` with float32 `offset = mean * scale`, `factor = 1 / (std * scale)`
    (one subtraction and one multiplication, the same on every device)."""

    offset: np.ndarray  # float32 (C,)
    factor: np.ndarray  # float32 (C,)

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """Channels-last pixels (B, H, W[, C]) -> float32, normalized."""
        offset, factor = self.offset, self.factor
        if pixels.ndim == 3:
            offset, factor = offset[0], factor[0]
        out = pixels.astype(np.float32)
        out -= offset
        out *= factor
        return out


def parse_normalization(normalize: Any, images: np.ndarray) -> Normalization | None:
    """`normalize=(mean, std)`, each a number or one per channel, checked against the images."""
    if normalize is None:
        return None
    try:
        mean, std = normalize
        means = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        stds = np.atleast_1d(np.asarray(std, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(
            f"normalize must be (mean, std), each a number or one per channel, not {normalize!r}"
        ) from None
    channels = images.shape[3] if images.ndim == 4 else 1
    for label, values in (("mean", means), ("std", stds)):
        if values.ndim != 1 or len(values) not in (1, channels):
            raise ValueError(
                f"normalize: {label} has {values.size} values for images of {channels} "
                f"channel(s): give one number or one per channel"
            )
    if not np.all(np.isfinite(means)) or not np.all(np.isfinite(stds)) or np.any(stds == 0):
        raise ValueError(
            f"normalize: std must be non-zero and all values finite, not {normalize!r}"
        )
    scale = pixel_scale(images.dtype)
    return Normalization(
        np.broadcast_to(means * scale, (channels,)).astype(np.float32),
        np.broadcast_to(1.0 / (stds * scale), (channels,)).astype(np.float32),
    )


def pixel_scale(dtype: np.dtype) -> float:
    """What maps the pixels to [0, 1]: 255 for uint8 (torchvision's ToTensor), the largest value
    of other integer types (its convert_image_dtype), 1 for floats (taken as already scaled)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype.kind in "iu":
        return float(np.iinfo(dtype).max)
    return 1.0


def numpy_batches(
    images: np.ndarray,
    labels: np.ndarray,
    plan: EpochPlan,
    normalization: Normalization | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One gather per batch: (images (B, H, W[, C]) as stored or float32, labels int64 (B,))."""
    for rows in plan.batch_rows():
        pixels = native(images[rows])  # a memory map reads these rows only
        if normalization is not None:
            pixels = normalization.apply(pixels)
        yield pixels, labels[rows].astype(np.int64)


def native(array: np.ndarray) -> np.ndarray:
    """The array in the machine's byte order (IDX stores big-endian; torch and JAX want native)."""
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


class Batches:
    """An epoch's batches: iterable (again and again, the same epoch) with a length (the number
    of batches this rank gets), as progress bars and schedulers want."""

    def __init__(self, plan: EpochPlan, produce: Callable[[EpochPlan], Iterator[Any]]) -> None:
        self.plan = plan
        self._produce = produce

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self) -> Iterator[Any]:
        return self._produce(self.plan)

    def __repr__(self) -> str:
        return (
            f"Batches({len(self)} batches of up to {self.plan.batch_size}, "
            f"{len(self.plan.rows)} items)"
        )
