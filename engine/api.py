"""The public verbs: load, save, detect, verify, and the public `Dataset` and `Subset`, the model's
classes plus Datumaro's verbs and the training bridges (which live above the model, in interop).

Thin: they pick a format from the registry and hand the work to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from engine import model
from engine.codecs.prepare import check_label_range
from engine.compute import executors
from engine.format import Detection
from engine.io.output import atomic_output_dir
from engine.io.paths import check_dataset_names
from engine.model import ItemView
from engine.model.batching import Batches
from engine.ops.compare import Comparison, compare_datasets
from engine.ops.filters import filter_dataset
from engine.ops.merge import merge_by_policy
from engine.ops.transforms import random_split
from engine.ops.transforms import remap_labels as _remap_labels
from engine.ops.transforms import transform as _transform
from engine.ops.verify import FileCheck, verify_files
from engine.project import CONFIG_NAME, Project
from engine.registry import all_formats, detections, get_format
from engine.registry.loading import detect_best, load_dataset


def load(
    format: str | None,
    path: str | Path,
    *,
    subset: str | None = None,
    cache: bool | None = None,
    cache_dir: str | Path | None = None,
    executor: Any = None,
    **options: Any,
) -> Dataset:
    """Loads the dataset at `path` (a folder, or one file of a subset) in `format`, or the merged,
    filtered sources of the project folder `path` (one holding `project.toml`, format None).

    With `format=None` the format is detected; detection must give one clear answer, and the
    options it detected (a spec's variant, e.g. `split=...`) apply unless given. `options` are
    the format's own, checked against its load options model (`engine.get_format(name)
    .load_options`): e.g. `split=` for EMNIST, `skip_broken=True`, `workers=2` for formats made
    of image files; a misspelled or ill-typed one raises OptionError naming those accepted.
    `cache=True` decompresses compressed files once into `cache_dir` (default: the user's cache
    folder) and memory-maps them, for data larger than memory (see `engine.io.cache`). `executor`
    (a `distributed.Client` or a Dask scheduler address) runs the per-chunk work (decoding image
    files) on that cluster, whose workers must see `path`.
    """
    path = Path(path)
    if format is None and (path / CONFIG_NAME).is_file():
        project = Project.open(path)
        loaded = Dataset.adopt(project.dataset())
        loaded.sources = (path, *project.source_paths())
        return loaded
    found = load_dataset(
        format,
        path,
        subset=subset,
        cache=cache,
        cache_dir=cache_dir,
        executor=executor,
        **options,
    )
    loaded = Dataset.adopt(found)
    loaded.sources = (path,)
    return loaded


def save(
    dataset: model.Dataset,
    format: str,
    path: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    executor: Any = None,
    **options: Any,
) -> list[str]:
    """Writes `dataset` in `format` into the directory `path`, atomically.

    `options` are the format's save options, declared once in its options model
    (`engine.get_format(name).options`; `mnist-engine formats --options` lists them): e.g.
    `save_media=False`, `image_ext=".jpg"`, `compression=".xz"`, `grayscale=True`. A misspelled
    or ill-typed one raises OptionError naming those accepted, before anything is written.

    A non-empty `path` is refused unless `overwrite`; then its dataset is replaced: entries that
    are not files of `format` survive, and their names are returned. An output that is, or
    contains, one of `inputs` (or the folder the dataset was loaded from) is refused. Data the
    format cannot hold raises ValidationError before anything is written. `executor` (a
    `distributed.Client` or a Dask scheduler address) runs the per-chunk work (conversions, image
    encoding) on that cluster; its workers must see the inputs' files and the output folder. The
    files written are byte-identical to a local save.
    """
    fmt = get_format(format)
    checked = fmt.options.of(fmt.name, options)
    # the floor every format gets (its own save checks more, e.g. ids that become paths)
    check_dataset_names(dataset)
    check_label_range(dataset)
    kept: list[str] = []
    protected = [*inputs, *(dataset.sources if isinstance(dataset, Dataset) else ())]
    with (
        executors.using(executor) as running,
        atomic_output_dir(
            path, overwrite=overwrite, owns=fmt.owns, inputs=protected, kept=kept
        ) as staging,
    ):
        if running is not None:
            running.check_paths([staging], what="output folder")
        fmt.save(dataset, staging, checked)
    return kept


@overload
def detect(path: str | Path, *, evidence: Literal[False] = False) -> list[str]: ...
@overload
def detect(path: str | Path, *, evidence: Literal[True]) -> list[Detection]: ...
def detect(path: str | Path, *, evidence: bool = False) -> list[str] | list[Detection]:
    """The formats that recognise `path`, best first: their names, or with `evidence=True` each
    `Detection` (format, score, the evidence seen, the load options detected)."""
    found = detections(path)
    return found if evidence else [d.format for d in found]


@overload
def detect_one(path: str | Path, *, evidence: Literal[False] = False) -> str: ...
@overload
def detect_one(path: str | Path, *, evidence: Literal[True]) -> Detection: ...
def detect_one(path: str | Path, *, evidence: bool = False) -> str | Detection:
    """The single best format for `path` (its `Detection` with `evidence=True`); raises
    UnknownFormatError when none recognises it or several tie."""
    best = detect_best(path)
    return best if evidence else best.format


def from_hf(dataset_dict: Any, *, workers: int | None = None) -> Dataset:
    """A `datasets.DatasetDict` (or `Dataset`) as an engine dataset: splits become subsets, the
    `Image()`/`ArrayND` column the images, the `ClassLabel` column the labels and its names the
    classes; `id` and other columns become ids and attributes (needs `[hf]`)."""
    from engine.interop.hf import from_hf as subsets_from_hf

    subsets, categories = subsets_from_hf(dataset_dict, workers=workers)
    return Dataset(subsets, categories)


def verify(path: str | Path, format: str | None = None) -> list[FileCheck]:
    """Checks a file, or every file in a folder, against the published files of the registered
    formats (or of `format` only), by MD5 of the file and of its uncompressed content."""
    return verify_files(path, [get_format(format)] if format else all_formats())


def merge(
    *datasets: model.Dataset | Sequence[model.Dataset],
    renumber: bool = True,
    merge_policy: str = "union",
) -> Dataset:
    """One dataset holding the items of all `datasets`, subsets joined by name.

    Class lists are united by name (the first dataset's order, then new names as met) and labels
    follow their names. Ids a previous dataset holds in the same subset are renumbered with an
    `IdsRenumberedWarning` naming them, or refused (ValidationError) with `renumber=False`.
    `merge_policy` is Datumaro's: "union" (the above), "exact" (class lists must be equal and
    no id may repeat within a subset: ValidationError naming them) or "intersect" (only the items,
    by subset and id, that every dataset holds; labels kept where all agree, else unlabeled with a
    `LabelsDisagreeWarning`).
    """
    given: list[model.Dataset] = []
    for entry in datasets:  # datasets, or one list of them
        given.extend([entry] if isinstance(entry, model.Dataset) else entry)
    sources = [(f"#{number + 1}", dataset) for number, dataset in enumerate(given)]
    return Dataset.adopt(merge_by_policy(sources, merge_policy, renumber=renumber))


def compare(a: model.Dataset, b: model.Dataset) -> Comparison:
    """What differs between two datasets: items only in one (by subset and id), labels (by class
    name) and pixels of the items they share; `.equal` when nothing does."""
    return compare_datasets(a, b)


class Subset(model.Subset):
    """One subset's columns (see `engine.model.Subset`) plus the bridges to torch (`to_torch`,
    `batches(device=...)`), which live here because they sit above the model (engine.interop)."""

    @classmethod
    def adopt(cls, subset: model.Subset) -> Subset:
        """The same columns as a public `Subset` (no copy of any column)."""
        if isinstance(subset, cls):
            return subset
        return cls(**{f.name: subset.__dict__[f.name] for f in fields(subset) if f.init})

    def to_torch(self, transform: Any = None, target_transform: Any = None) -> Any:
        """A `torch.utils.data.Dataset` shaped like `torchvision.datasets.MNIST` (needs `[torch]`).

        DataLoader fetches whole batches from it in one gather (`__getitems__`); its
        `loader(**kwargs)` passes them through uncollated, ~10x faster than per-item fetching,
        with no workers needed. Use it for samplers and per-item `transform`s; without those,
        `batches()` is faster still. See engine.interop.torch_dataset."""
        from engine.interop.torch_dataset import MnistStyleDataset

        if self.images is None:
            raise ValueError(f"subset {self.name!r} has no images")
        missing = [self.id_at(i) for i, image in enumerate(self.images) if image is None]
        if missing:
            raise ValueError(f"subset {self.name!r}: items without an image: {missing[:10]}")
        images: np.ndarray | list[np.ndarray] = (
            self.images
            if isinstance(self.images, np.ndarray)
            else [image for image in self.images if image is not None]  # all are: checked above
        )
        return MnistStyleDataset(images, self.labels, self.classes, transform, target_transform)

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        epoch: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        device: Any = None,
        normalize: tuple[Any, Any] | None = None,
    ) -> Batches:
        """One epoch as `(images, labels)` batches, each gathered in one step: the fastest way
        to feed training, with no DataLoader and no workers (see docs/training.md).

        Without `device`: numpy, images (B, H, W) or (B, H, W, C) as stored, labels int64 (-1
        for an unlabeled item), for JAX, Keras or numpy loops; a memory-mapped subset is read
        batch by batch. With `device` (a torch device or its name, "cpu" too; needs `[torch]`):
        tensors (B, C, H, W) there; on a GPU the subset is copied once and kept (larger than
        the budget of engine.interop.torch_batches: streamed in pinned chunks), and each batch
        is gathered on the GPU. `normalize=(mean, std)` gives float32 `(x / 255 - mean) / std`,
        computed where the batch is. `shuffle` follows (seed, epoch): pass `epoch=e` for epoch
        e. `rank`/`world_size` shard the epoch as DistributedSampler does: without `drop_last`
        the order is padded by repeating its first items so every rank gets
        ceil(n / world_size) items; with it, the tail is cut to n // world_size items a rank and
        a last partial batch is dropped. Every rank gets `len(batches)` batches. Prefer
        `to_torch()` with a DataLoader only for samplers or per-item `transform`s.
        """
        options: dict[str, Any] = {
            "shuffle": shuffle,
            "seed": seed,
            "epoch": epoch,
            "drop_last": drop_last,
            "rank": rank,
            "world_size": world_size,
            "normalize": normalize,
        }
        if device is None:
            return super().batches(batch_size, **options)
        plan, images, normalization = self.plan_batches(batch_size, **options)
        from engine.interop.torch_batches import device_batches, resolve_device

        target = resolve_device(device)
        labels = self.labels
        return Batches(plan, lambda p: device_batches(images, labels, p, target, normalization))


class Dataset(model.Dataset):
    """The dataset users hold: the columnar model plus Datumaro's verbs (`import_from`, `export`,
    `filter`, `transform`), `split` / `remap_labels` and the training bridges (`to_hf`, and
    `to_torch` on its subsets), which live here because they reach the registry, the
    operations and engine.interop.

    `sources` are the paths it was loaded from: a save never writes over them."""

    sources: tuple[Path, ...] = ()

    def __init__(
        self,
        subsets: Mapping[str, model.Subset] | Iterable[model.Subset] = (),
        categories: Iterable = (),
        info: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(subsets, categories, info)
        self._subsets = {name: Subset.adopt(part) for name, part in self._subsets.items()}

    def to_hf(self, images: str = "image") -> Any:
        """The dataset as a `datasets.DatasetDict`, one split per subset (needs `[hf]`).

        `images="image"` gives the Hub's `Image()` feature (PNG-encoded once); `"array"` gives
        `Array2D`/`Array3D` with the pixels as they are. Labels are `ClassLabel(names)`.
        """
        from engine.interop.hf import to_hf

        return to_hf(self.subsets(), self.categories, images)

    @classmethod
    def adopt(cls, dataset: model.Dataset) -> Dataset:
        """The same subsets and classes as a public `Dataset` (no copy)."""
        if isinstance(dataset, cls):
            return dataset
        return cls(dataset.subsets(), dataset.categories, dataset.info)

    @classmethod
    def import_from(cls, path: str | Path, format: str | None = None, **options: Any) -> Dataset:
        return load(format, path, **options)

    def export(self, path: str | Path, format: str, **options: Any) -> list[str]:
        return save(self, format, path, **options)

    def filter(
        self,
        expr: str | Callable[[ItemView], bool],
        mode: str = "items",
        *,
        filter_annotations: bool = False,
        remove_empty: bool = False,
    ) -> Dataset:
        """A new dataset filtered by an XPath expression (see engine.ops.filters) or an item
        predicate.

        `mode` is items, annotations or items+annotations; Datumaro's `filter_annotations` and
        `remove_empty` flags are accepted too.
        """
        if filter_annotations:
            mode = "items+annotations" if remove_empty else "annotations"
        return self._derived(filter_dataset(self, expr, mode))

    def transform(self, method: str, **options: Any) -> Dataset:
        """A new dataset made by the transform named `method`, with Datumaro's names and options:
        `random_split` (`splits=[("train", 0.8), ("val", 0.2)]`, `seed=`, `stratified=True`),
        `remap_labels` (`mapping={"src": "dst"}`, `default="keep"|"delete"`), `map_subsets`
        (`mapping=`), `reindex` (`start=0`), `id_from_image_name`."""
        return self._derived(_transform(self, method, **options))

    def split(
        self,
        splits: Sequence[tuple[str, float]] | Mapping[str, float] | None = None,
        *,
        seed: int | None = None,
        stratified: bool = True,
        **ratios: float,
    ) -> Dataset:
        """The items dealt into new subsets: `dataset.split(train=0.8, val=0.2, seed=0)` or
        `dataset.split([("train", 0.8), ("val", 0.2)])`; stratified by label by default."""
        if splits is not None and ratios:
            raise TypeError("give the splits either as a list or as keywords, not both")
        chosen = splits if splits is not None else ratios
        return self._derived(random_split(self, chosen, seed=seed, stratified=stratified))

    def remap_labels(self, mapping: Mapping[str, str | None], default: str = "keep") -> Dataset:
        """Classes renamed, merged or deleted by name (see engine.ops.transforms.remap_labels)."""
        return self._derived(_remap_labels(self, mapping, default))

    def _derived(self, result: model.Dataset) -> Dataset:
        """`result` as a public Dataset that remembers this one's sources (saves never overwrite
        the files a derived dataset still comes from)."""
        derived = Dataset.adopt(result)
        derived.sources = self.sources
        return derived
