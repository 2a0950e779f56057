"""`Subset.batches(device=...)`: torch tensors (B, C, H, W) on a device (needs `[torch]`).

- `"cpu"`: one numpy gather per batch from the images (a memory map reads only the batch),
  normalized and made channels-first by numpy, shared with torch without a copy.
- another device (CUDA): the subset is copied there once, through a pinned staging buffer of
  `CHUNK_BYTES` (never a whole host copy), and kept while its images array lives, so later
  epochs copy nothing; each epoch moves only its order (8 bytes an item) and gathers every batch
  on the device. A subset whose pixels exceed the budget (`MNIST_ENGINE_DEVICE_BYTES`, default
  4 GiB, and at most half the device's free memory) is streamed instead: each chunk of the
  epoch order is gathered on the host into one of two pinned buffers and copied asynchronously.

`normalize=(mean, std)` gives float32 `(x / 255 - mean) / std` computed where the batch is.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.interop import require
from engine.model.batching import EpochPlan, Normalization, numpy_batches

if TYPE_CHECKING:
    import torch
else:
    torch = require("torch", "torch")


def _device_bytes() -> int:
    text = os.environ.get("MNIST_ENGINE_DEVICE_BYTES", "").strip()
    if not text:
        return 4 << 30
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"MNIST_ENGINE_DEVICE_BYTES={text!r} is not a number of bytes (e.g. 2147483648)"
        ) from None


#: pixels of one subset kept on a device at most (bytes); larger subsets stream in chunks
DEVICE_BYTES = _device_bytes()
#: one pinned staging buffer (bytes): how much is copied to the device in one transfer
CHUNK_BYTES = 64 << 20

Batch = tuple["torch.Tensor", "torch.Tensor"]


def resolve_device(device: Any) -> torch.device:
    """A torch.device, or ValueError naming `device` when torch cannot use it here."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ValueError(f"device={device!r} is not a torch device ({error})") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r}: this torch ({torch.__version__}) has no CUDA device "
                f"(torch.cuda.is_available() is False); use device='cpu' or leave device out"
            )
        index = torch.cuda.current_device() if resolved.index is None else resolved.index
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: there are only {torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", index)
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r}: this torch has no MPS device")
    return resolved


def device_batches(
    images: np.ndarray,
    labels: np.ndarray,
    plan: EpochPlan,
    device: torch.device,
    normalization: Normalization | None,
) -> Iterator[Batch]:
    """The plan's batches as tensors on `device` (see the module's notes for the paths)."""
    if device.type == "cpu":
        return host_batches(images, labels, plan, normalization)
    if images.nbytes <= device_budget(device):
        return resident_batches(images, labels, plan, device, normalization)
    return streamed_batches(images, labels, plan, device, normalization)


def device_budget(device: torch.device) -> int:
    """Bytes of pixels one subset may keep on `device`."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return min(DEVICE_BYTES, free // 2)
    return DEVICE_BYTES


def host_batches(
    images: np.ndarray, labels: np.ndarray, plan: EpochPlan, normalization: Normalization | None
) -> Iterator[Batch]:
    """CPU tensors: one numpy gather per batch (normalized by numpy, the same float32 arithmetic
    as on a GPU), made channels-first and shared with torch without a copy."""
    for pixels, targets in numpy_batches(images, labels, plan, normalization):
        if pixels.ndim == 3:
            pixels = pixels[:, None]
        else:
            pixels = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))
        yield torch.from_numpy(pixels), torch.from_numpy(targets)


@dataclass
class _Resident:
    """A subset's pixels (N, C, H, W) and labels (N,) int64 on one device."""

    images_ref: weakref.ref
    labels_ref: weakref.ref
    images: torch.Tensor
    labels: torch.Tensor


#: (id of the images, device) -> their copy on the device, dropped with the images
_RESIDENT: dict[tuple[int, str], _Resident] = {}


def forget_device_copies() -> None:
    """Drops every subset copy kept on a device (their memory returns to torch's allocator)."""
    _RESIDENT.clear()


def resident_copy(images: np.ndarray, labels: np.ndarray, device: torch.device) -> _Resident:
    """The subset on `device`, copied once and kept while its images array lives (new labels
    are copied again alone; the oldest copies on the device go first to stay within
    DEVICE_BYTES). Pixels changed in place are not seen: call forget_device_copies()."""
    key = (id(images), str(device))
    found = _RESIDENT.get(key)
    if found is not None and found.images_ref() is images:
        if found.labels_ref() is not labels:
            found.labels = _labels_on(labels, device)
            found.labels_ref = weakref.ref(labels)
        return found
    _RESIDENT.pop(key, None)
    on_device = [k for k in _RESIDENT if k[1] == str(device)]
    held = sum(_RESIDENT[k].images.nbytes for k in on_device)
    while on_device and held + images.nbytes > DEVICE_BYTES:
        held -= _RESIDENT.pop(on_device.pop(0)).images.nbytes
    pixels = torch.empty(images.shape, dtype=_torch_dtype(images.dtype), device=device)
    rows = max(1, CHUNK_BYTES // max(1, images[:1].nbytes))
    staging = _staging((min(rows, len(images)), *images.shape[1:]), images.dtype, device)
    for start in range(0, len(images), rows):
        part = images[start : start + rows]
        staging.numpy()[: len(part)] = part
        pixels[start : start + len(part)].copy_(staging[: len(part)])  # synchronous: reused next
    copy = _Resident(
        weakref.ref(images),
        weakref.ref(labels),
        _channels_first(pixels),
        _labels_on(labels, device),
    )
    _RESIDENT[key] = copy
    weakref.finalize(images, _RESIDENT.pop, key, None)
    return copy


def _labels_on(labels: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(labels.astype(np.int64)).to(device)


def resident_batches(
    images: np.ndarray,
    labels: np.ndarray,
    plan: EpochPlan,
    device: torch.device,
    normalization: Normalization | None,
) -> Iterator[Batch]:
    """Batches gathered on the device from the subset's copy there, by the epoch order moved
    there once."""
    copy = resident_copy(images, labels, device)
    scale = None if normalization is None else _normalization_tensors(normalization, device)
    order = torch.from_numpy(plan.rows).to(device)
    size = plan.batch_size
    for start in range(0, len(plan) * size, size):
        rows = order[start : start + size]
        yield _finish(copy.images.index_select(0, rows), scale), copy.labels.index_select(0, rows)


def streamed_batches(
    images: np.ndarray,
    labels: np.ndarray,
    plan: EpochPlan,
    device: torch.device,
    normalization: Normalization | None,
    chunk_bytes: int | None = None,
) -> Iterator[Batch]:
    """Batches of a subset too large to keep on the device: the epoch order in chunks of whole
    batches, each gathered on the host into one of two pinned buffers and copied asynchronously
    (the buffer is refilled only once its previous copy has finished)."""
    scale = None if normalization is None else _normalization_tensors(normalization, device)
    size = plan.batch_size
    per_chunk = max(1, (chunk_bytes or CHUNK_BYTES) // max(1, images[:1].nbytes * size)) * size
    used = plan.rows[: min(len(plan.rows), len(plan) * size)]
    shape = (min(per_chunk, len(used)), *images.shape[1:])
    buffers = [_staging(shape, images.dtype, device) for _ in range(2)]
    done: list[Any] = [None, None]
    cuda = device.type == "cuda"
    for number, start in enumerate(range(0, len(used), per_chunk)):
        rows = used[start : start + per_chunk]
        slot = number % 2
        if done[slot] is not None:
            done[slot].synchronize()
        host = buffers[slot].numpy()[: len(rows)]
        if host.dtype == images.dtype:
            np.take(images, rows, axis=0, out=host, mode="clip")  # rows are in range
        else:
            host[...] = images[rows]
        pixels = buffers[slot][: len(rows)].to(device, non_blocking=cuda, copy=True)
        if cuda:
            done[slot] = torch.cuda.Event()
            done[slot].record(torch.cuda.current_stream(device))
        targets = torch.from_numpy(labels[rows].astype(np.int64)).to(device, non_blocking=cuda)
        pixels = _channels_first(pixels)
        for offset in range(0, len(rows), size):
            yield _finish(pixels[offset : offset + size], scale), targets[offset : offset + size]


def _staging(shape: tuple[int, ...], dtype: np.dtype, device: torch.device) -> torch.Tensor:
    """A host buffer, pinned (page-locked) when feeding a CUDA device."""
    return torch.empty(shape, dtype=_torch_dtype(dtype), pin_memory=device.type == "cuda")


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.from_numpy(np.empty(0, np.dtype(dtype).newbyteorder("="))).dtype


def _channels_first(pixels: torch.Tensor) -> torch.Tensor:
    """(B, H, W) -> (B, 1, H, W); (B, H, W, C) -> (B, C, H, W), contiguous."""
    if pixels.dim() == 3:
        return pixels.unsqueeze(1)
    return pixels.permute(0, 3, 1, 2).contiguous()


def _normalization_tensors(
    normalization: Normalization, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(offset, factor), each float32 (1, C, 1, 1) on the device: x -> (x - offset) * factor."""
    return (
        torch.from_numpy(normalization.offset).reshape(1, -1, 1, 1).to(device),
        torch.from_numpy(normalization.factor).reshape(1, -1, 1, 1).to(device),
    )


def _finish(pixels: torch.Tensor, scale: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    if scale is None:
        return pixels
    offset, factor = scale
    return pixels.to(torch.float32).sub_(offset).mul_(factor)
