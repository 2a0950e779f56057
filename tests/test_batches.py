"""Whole batches for training: `Subset.batches` (numpy, CPU tensors, CUDA tensors), sharded and
seeded epochs, and the one-gather `__getitems__`/`loader()` of `to_torch()` against the
per-item path."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import Subset
from engine.model.batching import plan_epoch
from engine.model.filearray import file_origin


def numbered(count: int = 23, shape: tuple[int, ...] = (5, 4), seed: int = 0) -> Subset:
    """Random pixels; label i for row i, so each label names the row its image came from."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, *shape)).astype(np.uint8)
    return Subset("train", np.arange(count, dtype=np.int32), images)


def flatten(batches) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(np.asarray(x), np.asarray(y)) for x, y in batches]
    return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])


@pytest.fixture
def mapped(tmp_path: Path) -> Subset:
    """200 digits saved as plain IDX files and loaded back memory-mapped."""
    rng = np.random.default_rng(1)
    subset = Subset(
        "train",
        rng.integers(0, 10, 200).astype(np.int32),
        rng.integers(0, 256, (200, 28, 28)).astype(np.uint8),
    )
    engine.save(
        engine.Dataset([subset], [str(d) for d in range(10)]),
        "mnist",
        tmp_path / "idx",
        compression="",
    )
    loaded = engine.load("mnist", tmp_path / "idx")["train"]
    assert file_origin(loaded.images) is not None  # really a map of the file
    return loaded


# -- numpy batches ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3)])
def test_numpy_batches_hold_the_per_item_images_and_labels(shape) -> None:
    subset = numbered(23, shape)
    batches = subset.batches(5, shuffle=True, seed=3)
    sizes = []
    for images, labels in batches:
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert images.shape == (len(labels), *shape)
        expected = np.stack([subset[int(row)].image for row in labels])
        np.testing.assert_array_equal(images, expected)
        sizes.append(len(labels))
    assert sizes == [5, 5, 5, 5, 3] and len(batches) == 5
    _, labels = flatten(batches)
    assert sorted(labels.tolist()) == list(range(23))  # every item once
    assert labels.tolist() != list(range(23))  # shuffled


def test_without_shuffle_the_order_is_the_subsets() -> None:
    subset = numbered(11)
    images, labels = flatten(subset.batches(4))
    assert labels.tolist() == list(range(11))
    np.testing.assert_array_equal(images, subset.images)


def test_the_order_follows_seed_and_epoch() -> None:
    subset = numbered(50)

    def order(**kwargs) -> list[int]:
        return flatten(subset.batches(8, shuffle=True, **kwargs))[1].tolist()

    assert order(seed=1, epoch=2) == order(seed=1, epoch=2)
    assert order(seed=1, epoch=2) != order(seed=1, epoch=3)
    assert order(seed=1, epoch=2) != order(seed=2, epoch=2)
    assert order(seed=0, epoch=0) == order()
    batches = subset.batches(8, shuffle=True, epoch=4)
    assert flatten(batches)[1].tolist() == flatten(batches)[1].tolist()  # iterable again


def test_drop_last_drops_the_partial_batch() -> None:
    subset = numbered(23)
    batches = subset.batches(5, drop_last=True)
    assert len(batches) == 4
    assert [len(labels) for _, labels in batches] == [5, 5, 5, 5]
    assert len(subset.batches(5, drop_last=True, world_size=1)) == 4
    assert len(numbered(4).batches(5, drop_last=True)) == 0


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("count", [0, 1, 7, 10, 23])
@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_get_equal_disjoint_shares_that_cover_the_epoch(world_size, count, drop_last):
    subset = numbered(count)
    shares = [
        subset.batches(
            3, shuffle=True, seed=7, epoch=1, rank=rank, world_size=world_size, drop_last=drop_last
        )
        for rank in range(world_size)
    ]
    sizes = [[len(labels) for _, labels in share] for share in shares]
    assert all(s == sizes[0] for s in sizes)  # the same batches on every rank: DDP stays in step
    assert all(len(share) == len(sizes[0]) for share in shares)
    seen = [label for share in shares for _, labels in share for label in labels.tolist()]
    if drop_last:
        per_rank = count // world_size
        assert all(size == 3 for size in sizes[0])
        assert len(sizes[0]) == per_rank // 3
        assert len(seen) == len(set(seen))  # disjoint
    else:
        per_rank = -(-count // world_size)
        assert sum(sizes[0]) == per_rank
        assert set(seen) == set(range(count))  # complete
        assert len(seen) - len(set(seen)) == per_rank * world_size - count  # only the padding


def test_shards_interleave_one_epoch_order() -> None:
    """Rank r holds positions r, r + w, ... of the rank-free epoch order, as DistributedSampler."""
    whole = flatten(numbered(12).batches(12, shuffle=True, seed=5))[1]
    for rank in range(3):
        share = flatten(numbered(12).batches(2, shuffle=True, seed=5, rank=rank, world_size=3))[1]
        assert share.tolist() == whole[rank::3].tolist()


@settings(max_examples=80, deadline=None)
@given(
    count=st.integers(0, 300),
    batch_size=st.integers(1, 40),
    world_size=st.integers(1, 9),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    epoch=st.integers(0, 5),
)
def test_every_epoch_plan_keeps_the_rules(count, batch_size, world_size, drop_last, shuffle, epoch):
    plans = [
        plan_epoch(
            count,
            batch_size,
            shuffle=shuffle,
            epoch=epoch,
            drop_last=drop_last,
            rank=rank,
            world_size=world_size,
        )
        for rank in range(world_size)
    ]
    shares = [[len(rows) for rows in plan.batch_rows()] for plan in plans]
    assert all(share == shares[0] for share in shares)
    assert all(len(plan) == len(shares[0]) for plan in plans)
    held = np.concatenate([plan.rows for plan in plans]) if plans else np.zeros(0)
    if drop_last:
        assert all(size == batch_size for size in shares[0])
        assert len(np.unique(held)) == len(held) == count // world_size * world_size
    else:
        assert set(held.tolist()) == set(range(count))
        assert len(held) == -(-count // world_size) * world_size
        assert sum(shares[0]) == len(plans[0].rows)


def test_padding_repeats_the_first_items_of_the_epoch() -> None:
    plan = [plan_epoch(2, 1, rank=rank, world_size=5).rows.tolist() for rank in range(5)]
    assert plan == [[0], [1], [0], [1], [0]]


def test_normalize_gives_float32_per_channel() -> None:
    gray = numbered(9)
    images, _ = next(iter(gray.batches(9, normalize=(0.1307, 0.3081))))
    assert images.dtype == np.float32
    expected = (gray.images / 255.0 - 0.1307) / 0.3081
    np.testing.assert_allclose(images, expected, rtol=1e-5, atol=1e-5)
    color = numbered(6, (3, 2, 3))
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    images, _ = next(iter(color.batches(6, normalize=(mean, std))))
    expected = (color.images / 255.0 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(images, expected, rtol=1e-5, atol=1e-5)


def test_big_endian_pixels_come_out_native() -> None:
    values = np.arange(24, dtype=">i2").reshape(6, 2, 2) * 1000
    subset = Subset("t", np.zeros(6, np.int32), values)
    images, _ = flatten(subset.batches(4))
    assert images.dtype == np.dtype("int16") and images.dtype.isnative
    np.testing.assert_array_equal(images, values)
    scaled, _ = next(iter(subset.batches(6, normalize=(0, 1))))
    np.testing.assert_allclose(scaled, values / 32767, rtol=1e-6)


def test_a_memory_mapped_epoch_reads_batch_by_batch(tmp_path: Path) -> None:
    """An epoch over 16 MB of mapped pixels allocates about one batch, never the whole."""
    count, batch = 20_000, 64
    rng = np.random.default_rng(2)
    subset = Subset(
        "train",
        rng.integers(0, 10, count).astype(np.int32),
        rng.integers(0, 256, (count, 28, 28)).astype(np.uint8),
    )
    engine.save(
        engine.Dataset([subset], [str(d) for d in range(10)]),
        "mnist",
        tmp_path / "big",
        compression="",
    )
    del subset
    gc.collect()
    loaded = engine.load("mnist", tmp_path / "big")["train"]
    assert file_origin(loaded.images) is not None
    whole = loaded.images.nbytes
    for device in (None, "cpu") if "torch" in sys.modules or _has_torch() else (None,):
        tracemalloc.start()
        try:
            total = 0
            for _images, labels in loaded.batches(batch, shuffle=True, device=device):
                total += len(labels)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert total == count
        assert peak < whole / 10, (device, peak, whole)  # order (160 kB) + a batch or two


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_memory_mapped_batches_equal_in_memory_ones(mapped) -> None:
    in_memory = Subset("train", np.array(mapped.labels), np.array(mapped.images))
    for kwargs in ({}, {"shuffle": True, "epoch": 2, "rank": 1, "world_size": 3}):
        ours, theirs = (
            flatten(mapped.batches(16, **kwargs)),
            flatten(in_memory.batches(16, **kwargs)),
        )
        np.testing.assert_array_equal(ours[0], theirs[0])
        np.testing.assert_array_equal(ours[1], theirs[1])


# -- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -3}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": 2, "rank": 2, "world_size": 2}, "rank"),
        ({"batch_size": 2, "rank": -1, "world_size": 2}, "rank"),
        ({"batch_size": 2, "world_size": 0}, "world_size"),
        ({"batch_size": 2, "seed": -1, "shuffle": True}, "seed"),
        ({"batch_size": 2, "epoch": -1}, "epoch"),
        ({"batch_size": 2, "normalize": (0.5, 0)}, "normalize"),
        ({"batch_size": 2, "normalize": 0.5}, "normalize"),
        ({"batch_size": 2, "normalize": ((0.1, 0.2), 1)}, "normalize"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(kwargs, named) -> None:
    with pytest.raises(ValueError, match=named):
        numbered(5).batches(**kwargs)


def test_images_of_several_shapes_name_the_first_two() -> None:
    images = [np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), np.zeros((3, 2), np.uint8)]
    ragged = Subset("r", np.zeros(4, np.int32), [*images, np.zeros((4, 4), np.uint8)])
    with pytest.raises(ValueError, match=r"\(2, 2\) uint8 and \(3, 2\) uint8"):
        ragged.batches(2)


def test_items_without_images_are_named() -> None:
    holes = Subset(
        "h", np.zeros(3, np.int32), [np.zeros((2, 2), np.uint8), None, None], ids=["a", "b", "c"]
    )
    with pytest.raises(ValueError, match=r"items without an image: \['b', 'c'\]"):
        holes.batches(2)
    with pytest.raises(ValueError, match="has no images"):
        Subset("n", np.zeros(3, np.int32)).batches(2)


def test_a_list_of_one_shape_is_batched() -> None:
    subset = numbered(5)
    listed = Subset("l", subset.labels, list(subset.images))
    np.testing.assert_array_equal(flatten(listed.batches(2))[0], subset.images)


def test_numpy_batches_need_no_torch_and_devices_name_the_extra(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "engine.interop.torch_batches", raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)
    subset = numbered(5)
    assert len(list(subset.batches(2))) == 3
    with pytest.raises(ImportError, match=r"mnist-engine\[torch\]"):
        subset.batches(2, device="cpu")


# -- torch: device batches ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3)])
def test_cpu_tensors_equal_the_per_item_tensors(shape) -> None:
    torch = pytest.importorskip("torch")
    subset = numbered(13, shape)
    per_item = subset.to_torch()
    batches = subset.batches(4, shuffle=True, device="cpu")
    assert len(batches) == 4
    for images, labels in batches:
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert images.is_contiguous() and images.device.type == "cpu"
        expected = torch.stack([per_item[int(row)][0] for row in labels])
        assert torch.equal(images, expected)
    device = torch.device("cpu")
    assert len(subset.batches(4, device=device)) == 4


def test_cpu_normalize_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    subset = numbered(10, (5, 4, 3))
    norm = ((0.4, 0.5, 0.6), (0.2, 0.25, 0.3))
    for (x, _), (x_np, _) in zip(
        subset.batches(3, device="cpu", normalize=norm),
        subset.batches(3, normalize=norm),
        strict=True,
    ):
        assert x.dtype == torch.float32
        assert torch.equal(x, torch.from_numpy(x_np).permute(0, 3, 1, 2))


def test_cuda_without_cuda_is_a_value_error(monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0", torch.device("cuda", 1)):
        with pytest.raises(ValueError, match=r"device=.*no CUDA"):
            numbered(5).batches(2, device=device)
    with pytest.raises(ValueError, match="device='tpu9' is not a torch device"):
        numbered(5).batches(2, device="tpu9")


@pytest.mark.parametrize("path", ["resident", "streamed"])
@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3)])
def test_the_device_paths_give_the_host_batches(path, shape) -> None:
    """The GPU code paths (copy kept on the device; pinned chunks) run on the CPU too."""
    torch = pytest.importorskip("torch")
    from engine.interop import torch_batches
    from engine.model.batching import parse_normalization

    subset = numbered(29, shape)
    cpu = torch.device("cpu")
    for normalize in (None, (0.5, 0.2)):
        normalization = parse_normalization(normalize, subset.images)
        for world_size, drop_last in ((1, False), (3, True), (4, False)):
            plan = plan_epoch(
                29,
                4,
                shuffle=True,
                epoch=1,
                world_size=world_size,
                rank=world_size - 1,
                drop_last=drop_last,
            )
            host = list(
                torch_batches.host_batches(subset.images, subset.labels, plan, normalization)
            )
            if path == "resident":
                found = list(
                    torch_batches.resident_batches(
                        subset.images, subset.labels, plan, cpu, normalization
                    )
                )
            else:  # chunks of two batches: several chunks, both buffers reused
                found = list(
                    torch_batches.streamed_batches(
                        subset.images,
                        subset.labels,
                        plan,
                        cpu,
                        normalization,
                        chunk_bytes=2 * 4 * subset.images[0].nbytes,
                    )
                )
            assert len(found) == len(host) == len(plan)
            for (x, y), (x_ref, y_ref) in zip(found, host, strict=True):
                assert torch.equal(x, x_ref) and torch.equal(y, y_ref)
                assert x.is_contiguous()
    torch_batches.forget_device_copies()


def test_streamed_batches_do_not_share_a_reused_buffer() -> None:
    torch = pytest.importorskip("torch")
    from engine.interop import torch_batches

    subset = numbered(20)
    plan = plan_epoch(20, 2)
    kept = list(
        torch_batches.streamed_batches(
            subset.images, subset.labels, plan, torch.device("cpu"), None, chunk_bytes=1
        )
    )
    np.testing.assert_array_equal(torch.cat([x for x, _ in kept])[:, 0].numpy(), subset.images)


def test_the_device_copy_is_kept_while_the_arrays_live() -> None:
    torch = pytest.importorskip("torch")
    from engine.interop import torch_batches

    torch_batches.forget_device_copies()
    subset = numbered(8)
    cpu = torch.device("cpu")
    first = torch_batches.resident_copy(subset.images, subset.labels, cpu)
    assert torch_batches.resident_copy(subset.images, subset.labels, cpu) is first
    subset.labels = subset.labels[::-1].copy()  # new labels: copied again, pixels kept
    again = torch_batches.resident_copy(subset.images, subset.labels, cpu)
    assert again is first and again.labels.tolist() == list(range(7, -1, -1))
    assert len(torch_batches._RESIDENT) == 1
    other = numbered(8, seed=1)
    assert torch_batches.resident_copy(other.images, other.labels, cpu) is not first
    del other
    gc.collect()
    assert len(torch_batches._RESIDENT) == 1
    del subset, first, again
    gc.collect()
    assert torch_batches._RESIDENT == {}


cuda = pytest.mark.skipif(
    not (_has_torch() and __import__("torch").cuda.is_available()), reason="needs CUDA"
)


@cuda
@pytest.mark.parametrize("shape", [(28, 28), (8, 8, 3)])
def test_cuda_batches_equal_cpu_batches(shape, monkeypatch) -> None:
    import torch

    from engine.interop import torch_batches

    subset = numbered(300, shape)
    norm = (0.5, 0.25)
    # chunks of 3 batches: the copy to the device in several steps, both pinned buffers reused
    monkeypatch.setattr(torch_batches, "CHUNK_BYTES", 3 * 32 * subset.images[0].nbytes)
    for budget in (torch_batches.DEVICE_BYTES, 1):  # kept on the device; streamed
        monkeypatch.setattr(torch_batches, "DEVICE_BYTES", budget)
        torch_batches.forget_device_copies()
        for normalize in (None, norm):
            kwargs = {
                "shuffle": True,
                "epoch": 3,
                "rank": 1,
                "world_size": 2,
                "normalize": normalize,
            }
            gpu = list(subset.batches(32, device="cuda", **kwargs))
            cpu = list(subset.batches(32, device="cpu", **kwargs))
            assert len(gpu) == len(cpu)
            for (x, y), (x_ref, y_ref) in zip(gpu, cpu, strict=True):
                assert x.device.type == "cuda" and y.device.type == "cuda"
                assert x.dtype == x_ref.dtype and y.dtype == torch.int64
                torch.testing.assert_close(x.cpu(), x_ref, rtol=1e-6, atol=1e-6)
                assert torch.equal(y.cpu(), y_ref)
        assert len(torch_batches._RESIDENT) == (1 if budget > 1 else 0)
    torch_batches.forget_device_copies()


@cuda
def test_cuda_device_out_of_range_is_a_value_error() -> None:
    import torch

    with pytest.raises(ValueError, match="device="):
        numbered(5).batches(2, device=f"cuda:{torch.cuda.device_count()}")


# -- torch: __getitems__ and loader() -------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (6, 5, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_yields_the_batches_a_plain_dataloader_yields(shape, drop_last) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    subset = numbered(37, shape)
    dataset = subset.to_torch()

    class PerItem(torch.utils.data.Dataset):  # what DataLoader did before __getitems__
        def __len__(self) -> int:
            return len(dataset)

        def __getitem__(self, index):
            return dataset[index]

    def run(make):
        return list(
            make(
                batch_size=5,
                shuffle=True,
                drop_last=drop_last,
                generator=torch.Generator().manual_seed(11),
            )
        )

    fast = run(dataset.loader)
    default = run(lambda **kw: DataLoader(dataset, **kw))
    per_item = run(lambda **kw: DataLoader(PerItem(), **kw))
    assert len(fast) == len(default) == len(per_item) == (7 if drop_last else 8)
    for (x, y), (x_d, y_d), (x_p, y_p) in zip(fast, default, per_item, strict=True):
        assert x.dtype == torch.uint8 and y.dtype == torch.int64
        assert x.shape == (len(y), *((1, *shape) if len(shape) == 2 else (shape[2], *shape[:2])))
        for other_x, other_y in ((x_d, y_d), (x_p, y_p)):
            assert torch.equal(x, other_x) and torch.equal(y, other_y)
            assert other_x.dtype == x.dtype and other_y.dtype == y.dtype


def test_loader_through_samplers_and_torch_subsets(mapped) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, DistributedSampler, random_split

    dataset = mapped.to_torch()
    sampler = DistributedSampler(dataset, num_replicas=3, rank=2, shuffle=True, seed=4)
    ours = list(dataset.loader(batch_size=16, sampler=sampler))
    theirs = list(DataLoader(dataset, batch_size=16, sampler=sampler))
    assert len(ours) == len(theirs) == 5
    for (x, y), (x_ref, y_ref) in zip(ours, theirs, strict=True):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)
    part, _ = random_split(dataset, [50, 150], generator=torch.Generator().manual_seed(0))
    images, labels = next(iter(DataLoader(part, batch_size=50)))
    rows = part.indices
    assert torch.equal(labels, torch.from_numpy(mapped.labels[rows].astype(np.int64)))
    assert torch.equal(images[:, 0], torch.from_numpy(np.array(mapped.images[rows])))
    single = list(dataset.loader(batch_size=None))  # no batching: items as DataLoader gives them
    assert len(single) == 200 and tuple(single[0][0].shape) == (1, 28, 28)
    with pytest.raises(TypeError, match="collate_fn"):
        dataset.loader(batch_size=4, collate_fn=lambda b: b)


def test_loader_with_two_workers_maps_the_file_in_each(mapped) -> None:
    torch = pytest.importorskip("torch")

    dataset = mapped.to_torch()
    ours = list(dataset.loader(batch_size=64, num_workers=2))
    assert len(ours) == 4
    images = torch.cat([x for x, _ in ours])
    labels = torch.cat([y for _, y in ours])
    assert torch.equal(images[:, 0], torch.from_numpy(np.array(mapped.images)))
    assert torch.equal(labels, torch.from_numpy(mapped.labels.astype(np.int64)))


def test_transforms_still_see_one_pil_image_at_a_time() -> None:
    torch = pytest.importorskip("torch")
    from PIL import Image

    subset = numbered(9, (5, 4))
    seen: list[tuple[int, int]] = []

    def transform(picture):
        assert isinstance(picture, Image.Image)
        seen.append(picture.size)
        return torch.from_numpy(np.asarray(picture).copy()).float()

    dataset = subset.to_torch(transform=transform, target_transform=lambda t: t * 2)
    batches = list(dataset.loader(batch_size=4))
    assert len(seen) == 9 and seen[0] == (4, 5)
    images = torch.cat([x for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    assert torch.equal(images, torch.from_numpy(subset.images.astype(np.float32)))
    assert labels.tolist() == [2 * i for i in range(9)]


def test_getitems_collates_to_the_same_batch() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate

    from engine.interop.torch_dataset import GatheredBatch, collate_gathered

    dataset = numbered(10, (3, 2, 3)).to_torch()
    gathered = dataset.__getitems__([7, 2, 2, -1])
    assert isinstance(gathered, GatheredBatch) and len(gathered) == 4
    image, label = gathered[1]
    assert torch.equal(image, dataset[2][0]) and label == 2
    fast, default = collate_gathered(gathered), default_collate(gathered)
    assert torch.equal(fast[0], default[0]) and torch.equal(fast[1], default[1])
    assert fast[1].tolist() == [7, 2, 2, 9]
    with pytest.raises(IndexError):
        dataset.__getitems__([10])


def test_big_endian_pixels_reach_every_device_path() -> None:
    torch = pytest.importorskip("torch")
    from engine.interop import torch_batches

    values = np.arange(60, dtype=">i2").reshape(5, 3, 4) * 500
    subset = Subset("t", np.arange(5, dtype=np.int32), values)
    expected = torch.from_numpy(values.astype(np.int16))[:, None]
    plan = plan_epoch(5, 2)
    cpu = torch.device("cpu")
    for batches in (
        subset.batches(2, device="cpu"),
        torch_batches.resident_batches(values, subset.labels, plan, cpu, None),
        torch_batches.streamed_batches(values, subset.labels, plan, cpu, None, chunk_bytes=1),
    ):
        assert torch.equal(torch.cat([x for x, _ in batches]), expected)
    torch_batches.forget_device_copies()


def test_a_custom_collate_gets_a_sequence_of_items() -> None:
    torch = pytest.importorskip("torch")
    import pickle

    from torch.utils.data import DataLoader

    subset = numbered(7, (3, 2))
    dataset = subset.to_torch()
    batches = list(DataLoader(dataset, batch_size=3, collate_fn=lambda items: items))
    assert [len(b) for b in batches] == [3, 3, 1]
    for batch, start in zip(batches, (0, 3, 6), strict=True):
        items = list(batch)
        again = pickle.loads(pickle.dumps(batch))  # what a worker sends back
        for offset, (image, label) in enumerate(items):
            expected, target = dataset[start + offset]
            assert torch.equal(image, expected) and label == target
            assert torch.equal(again[offset][0], expected) and again[offset][1] == target
