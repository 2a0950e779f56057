"""The public verbs: load, save, detect, verify, and the public `Dataset` and `Subset`, the model's
classes plus Datumaro's verbs and the training bridges (which live above the model, in interop).

Thin: they pick a format from the registry and hand the work to it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from engine import model
from engine.codecs.prepare import check_label_range
from engine.compute import executors
from engine.errors import (
    CardWarning,
    EngineError,
    NotOfferedError,
    NotSupportedError,
    OutputExistsError,
    UnknownFormatError,
    warn_caller,
)
from engine.format import Detection
from engine.io.output import atomic_output_dir, input_folder, input_path, recover
from engine.io.paths import check_dataset_names
from engine.model import ItemView
from engine.model.batching import Batches
from engine.model.categories import AnnotationType
from engine.model.lineage import Lineage, Step
from engine.project import CONFIG_NAME, Project
from engine.registry import all_formats, detections, get_format
from engine.registry.loading import detect_best, load_dataset

if TYPE_CHECKING:
    from engine.ops.compare import Comparison
    from engine.ops.verify import FileCheck

# The operations (XPath and lxml, merge, transforms ...) are imported by the verbs that use them,
# so loading and saving, and the quick commands, start without them.


def load(
    format: str | None,
    path: str | Path,
    *,
    subset: str | None = None,
    cache: bool | None = None,
    cache_dir: str | Path | None = None,
    executor: Any = None,
    download: bool = False,
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
    files) on that cluster, whose workers must see `path`. `download=True` (torchvision's habit)
    first fetches the published files the load needs that `path` lacks, verified (see
    `engine.fetch`); the format must then be named.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"load: path is a dataset folder, one of its files or a project folder (a str or "
            f"os.PathLike), found {type(path).__name__}"
        )
    path = Path(path)
    if download:
        _fetch_for_load(format, path, subset, options)
    if format is None and (path / CONFIG_NAME).exists():
        given = {"subset": subset, "cache": cache, "cache_dir": cache_dir, "executor": executor}
        ignored = sorted([*(k for k, v in given.items() if v is not None), *options])
        if ignored:
            raise TypeError(
                f"{path} is a project folder: its sources name their formats, so it takes no "
                f"{', '.join(ignored)} (load a source itself to pass them)"
            )
        project = Project.open(path)
        loaded = Dataset.adopt(project.dataset())
        loaded.sources = (input_path(path), *map(input_path, project.source_paths()))
        return loaded
    if format is None:  # detected here, so the dataset knows its format (Datumaro's `format`)
        if not path.is_file():
            recover(path)  # a save killed mid-swap leaves its leftovers beside the folder
        best = detect_best(path)
        format, options = best.format, {**best.options, **options}
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
    loaded.sources = (input_path(path),)  # absolute, and known after a rename
    loaded.partial = subset is not None or path.is_file()
    whole = frozenset() if loaded.partial else frozenset(loaded.subsets())
    for part in loaded.subsets().values():
        if isinstance(part, Subset):  # a dataset built from this subset remembers its folder
            part.sources, part.partial = loaded.sources, True  # one subset: part of the folder
            part.siblings = whole
            part.lineage = loaded.lineage
    loaded.data_path, loaded.format = str(path), get_format(format).name
    return loaded


def _fetch_for_load(
    format: str | None, path: Path, subset: str | None, options: Mapping[str, Any]
) -> None:
    """`download=True`: the files a load of `subset` (and the variant in `options`) needs."""
    from engine.fetching import fetch, spec_of

    if format is None:
        raise UnknownFormatError(f"{path}: download=True needs the dataset's name as format")
    spec = spec_of(format)
    fetch(
        format,
        path,
        subsets=[subset] if subset else None,
        split=options.get(spec.variant_option) if spec.variants else None,
    )


def save(
    dataset: model.Dataset,
    format: str,
    path: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    executor: Any = None,
    card: bool = False,
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

    `card=True` also writes a dataset card into the folder, part of the same atomic swap:
    `README.md` (a Hugging Face dataset card) and `croissant.json` (Croissant 1.0, each file's
    SHA-256), both with the dataset's provenance (see docs/cards.md). A `README.md` or
    `croissant.json` of the user's already in the folder is kept, with a CardWarning.
    """
    fmt = get_format(format)
    checked = fmt.options.of(fmt.name, options)
    # the floor every format gets (its own save checks more, e.g. ids that become paths)
    check_dataset_names(dataset)
    check_label_range(dataset)
    kept: list[str] = []
    protected = [*inputs, *(dataset.sources if isinstance(dataset, Dataset) else ())]
    if isinstance(dataset, Dataset) and dataset.partial:
        _refuse_partial_in_place(dataset, Path(path))
    with (
        executors.using(executor) as running,
        atomic_output_dir(
            path, overwrite=overwrite, owns=owns_with_card(fmt), inputs=protected, kept=kept
        ) as staging,
    ):
        if running is not None:
            running.check_paths([staging], what="output folder")
        fmt.save(dataset, staging, checked)
        if card:
            _write_card(dataset, fmt, staging, Path(path), checked)
    return kept


def owns_with_card(fmt: Any) -> Callable[[Path], bool]:
    """The format's ownership rule plus the card files this engine wrote (an overwrite replaces
    them; a user's own README.md or croissant.json is never ours)."""
    from engine.ops.card import is_our_card

    return lambda entry: fmt.owns(entry) or is_our_card(entry)


def _write_card(dataset: model.Dataset, fmt: Any, staging: Path, target: Path, opts: Any) -> None:
    """Writes the card beside the staged export, leaving out a card file the user owns there."""
    from engine.model.lineage import Step
    from engine.ops.card import CARD_FILES, is_our_card, sources_in, write_card

    kept = [n for n in CARD_FILES if (target / n).exists() and not is_our_card(target / n)]
    if kept:
        warn_caller(
            f"{target}: {', '.join(kept)} there is not a card of mnist-engine; it is kept and "
            "the card is written without it",
            CardWarning,
        )
    specs = {}
    for name in sources_in(dataset.lineage):
        try:
            spec = get_format(name).spec
        except UnknownFormatError:
            continue
        if spec is not None:
            specs[name] = spec
    recorded = opts.model_dump(exclude_defaults=True, exclude={"workers", "progress"})
    prefixes = {name: fmt.spec.prefix_of(name) for name in dataset.subsets()} if fmt.spec else {}
    write_card(
        dataset,
        staging,
        format_name=fmt.name,
        specs=specs,
        save_step=Step("save", fmt.name, recorded),
        skip=kept,
        prefixes=prefixes,
        target=target,
        owns=_files_read,
    )


def _files_read(source: Any) -> Callable[[Path], bool] | None:
    """Which entries of a folder source were read: its format's files (of the one subset read,
    for a spec whose file names tell the subset); None for a format no longer registered."""
    try:
        fmt = get_format(source.format)
    except UnknownFormatError:
        return None
    spec = fmt.spec
    if source.subset is None or spec is None:
        return fmt.owns
    prefix = spec.prefix_of(source.subset)
    return lambda entry: (
        fmt.owns(entry)
        and (
            entry.name.startswith(prefix)
            or not any(entry.name.startswith(spec.prefix_of(other)) for other in spec.subsets)
        )
    )


def _refuse_partial_in_place(dataset: Dataset, output: Path) -> None:
    """A dataset read from part of a folder (one subset, one file) never replaces that folder's
    dataset: the swap would drop the parts it was not read with."""
    target = output.resolve()
    for source in dataset.sources:
        if input_folder(source, target)[1] == target:
            raise OutputExistsError(
                f"{output}: the dataset was read from part of this folder (one subset or file); "
                "writing it here would replace the rest: read the whole folder to edit it in place"
            )


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


#: the samples shipped inside the package (engine/samples/NAME)
SAMPLES = Path(__file__).resolve().parent / "samples"


def sample_path(name: str = "mnist") -> Path:
    """The folder of a sample shipped with the package (`mnist`: 700 synthetic digits made by
    this project's own code), wherever the package is installed."""
    folder = SAMPLES / name
    if not folder.is_dir() or name.startswith((".", "_")) or "/" in name:
        known = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir()) if SAMPLES.is_dir() else []
        raise EngineError(f"no sample {name!r} is shipped; the samples are {known}")
    return folder


def from_hf(dataset_dict: Any, *, workers: int | None = None) -> Dataset:
    """A `datasets.DatasetDict` (or `Dataset`) as an engine dataset: splits become subsets, the
    `Image()`/`ArrayND` column the images, the `ClassLabel` column the labels and its names the
    classes; `id` and other columns become ids and attributes (needs `[hf]`)."""
    from engine.interop.hf import from_hf as subsets_from_hf

    subsets, categories = subsets_from_hf(dataset_dict, workers=workers)
    return Dataset(subsets, categories)


def verify(path: str | Path, format: str | None = None) -> list[FileCheck]:
    """Checks a file, or every file in a folder, against the published files of the registered
    formats (or of `format` only), by MD5 of the file and of its uncompressed content; in a
    folder with a dataset card of ours, also against the SHA-256 the card records."""
    from engine.ops.verify import against_card, verify_files

    return against_card(path, verify_files(path, [get_format(format)] if format else all_formats()))


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
    from engine.ops.merge import merge_by_policy

    merged = Dataset.adopt(merge_by_policy(sources, merge_policy, renumber=renumber))
    if any(merged is dataset for dataset in given):  # one dataset: a dataset of its own
        merged = merged.clone()
    # the merged dataset comes from every input's folders: a save never writes over them
    merged.sources = tuple(dict.fromkeys(p for d in given for p in getattr(d, "sources", ())))
    merged.partial = any(getattr(d, "partial", False) for d in given)
    return merged


def compare(a: model.Dataset, b: model.Dataset) -> Comparison:
    """What differs between two datasets: items only in one (by subset and id), labels (by class
    name) and pixels of the items they share; `.equal` when nothing does."""
    from engine.ops.compare import compare_datasets

    return compare_datasets(a, b)


def _holds_export_of(folder: Path, fmt: Any) -> bool:
    """Whether `folder` holds files of `fmt` (an earlier export, which an export replaces)."""
    try:
        return folder.is_dir() and any(fmt.owns(entry) for entry in folder.iterdir())
    except OSError:
        return False


#: Datumaro `Dataset` names this engine does not offer, with what to use instead
_NOT_OFFERED = {
    "run_model": "model inference is not part of this engine",
    "get_patch": "datasets are not patched; export again (Dataset.export replaces its files)",
    "env": "plugin environments are not supported; use engine.register_format / register_spec",
    "load": "Datumaro's own project format is not supported; use Dataset.import_from(path, fmt)",
    "get_datasetitem_by_path": "items are found by id: dataset.get(id, subset)",
    "update": "use engine.merge(a, b) (or HLOps.merge) to add the items of another dataset",
}


def _part_of_folder(part: Any, names: set[str]) -> bool:
    """Whether a subset among ``names`` leaves out part of its source folder: every subset the
    folder held, under its own name (a transform that rebuilds the dataset keeps them all), is
    the whole folder again."""
    if not getattr(part, "partial", False):
        return False
    siblings: frozenset[str] = getattr(part, "siblings", frozenset())
    return not siblings or not siblings <= names


class Subset(model.Subset):
    """One subset's columns (see `engine.model.Subset`) plus the bridges to torch (`to_torch`,
    `batches(device=...)`), which live here because they sit above the model (engine.interop)."""

    #: the folders its items were read from (set by `engine.load`; see `Dataset.sources`)
    sources: tuple[Path, ...] = ()
    #: whether it is part of what its source folder holds (then never written over the folder)
    partial = False
    #: the subsets its folder held when read whole: a dataset of all of them is the whole folder
    siblings: frozenset[str] = frozenset()
    #: the provenance of the dataset it was taken from (see engine.model.lineage)
    lineage: Lineage | None = None

    @classmethod
    def adopt(cls, subset: model.Subset) -> Subset:
        """The same columns as a public `Subset` (no copy of any column)."""
        if isinstance(subset, cls):
            return subset
        return cls(**{f.name: subset.__dict__[f.name] for f in fields(subset) if f.init})

    def as_dataset(self) -> Dataset:
        """A dataset holding this subset alone, with its classes (Datumaro's
        `get_subset(name).as_dataset()`); a copy of the object, not of the arrays."""
        dataset = Dataset([dataclasses.replace(self)], self.categories)
        dataset.sources, dataset.partial = self.sources, bool(self.sources)
        if self.lineage:
            dataset.lineage = self.lineage.then(Step("edit", "subsets", {"keep": [self.name]}))
        return dataset

    def get(self, id: str | int, subset: str | None = None) -> ItemView | None:
        """The item with this id, or None (Datumaro's `DatasetSubset.get`)."""
        if subset not in (None, self.name):
            raise ValueError(f"this is subset {self.name!r}, not {subset!r}")
        return self.as_dataset().get(id, self.name)

    def get_annotated_items(self) -> int:
        """How many items hold a label."""
        return int((np.asarray(self.labels) != model.NO_LABEL).sum())

    def get_annotations(self) -> int:
        """How many labels the items hold in all."""
        return self.get_annotated_items() + sum(len(v) - 1 for v in self.multi_labels.values())

    def to_torch(self, transform: Any = None, target_transform: Any = None) -> Any:
        """A `torch.utils.data.Dataset` shaped like `torchvision.datasets.MNIST` (needs `[torch]`).

        DataLoader fetches whole batches from it in one gather (`__getitems__`); its
        `loader(**kwargs)` passes them through uncollated, ~10x faster than per-item fetching,
        with no workers needed. Use it for samplers and a per-item `transform`; without those,
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
        `to_torch()` with a DataLoader only for samplers or a per-item `transform`.
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
    """The dataset users hold: the columnar model plus Datumaro 1.x's verbs and the training
    bridges (`to_hf`, and `to_torch` on its subsets), which live here because they reach the
    registry, the operations and engine.interop.

    As in Datumaro, `filter`, `transform`, `select`, `remap_labels`, `split`, `put` and `remove`
    change the dataset **in place** and return it (so `ds = ds.filter(...)` and plain
    `ds.filter(...)` both work); `clone()` first, or `HLOps`, leaves the original unchanged.

    `sources` are the folders it was read from (kept through verbs and `engine.merge`): a save
    never writes inside them, nor into a folder holding one, and writes over one only when asked
    (`overwrite=True`: an in-place edit, done by the atomic swap)."""

    def __init__(
        self,
        subsets: Mapping[str, model.Subset] | Iterable[model.Subset] = (),
        categories: Any = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        parts = list(subsets.values() if isinstance(subsets, Mapping) else subsets)
        super().__init__(subsets if isinstance(subsets, Mapping) else parts, categories, info)
        self._subsets = {name: Subset.adopt(part) for name, part in self._subsets.items()}
        # the folders the subsets were read from: a save never writes over them either
        found = (p for part in parts for p in getattr(part, "sources", ()))
        self.sources: tuple[Path, ...] = tuple(dict.fromkeys(found))
        # subsets taken from one dataset bring its provenance (a dataset of some of its subsets)
        lineages = {id(lin): lin for part in parts if (lin := getattr(part, "lineage", None))}
        if len(lineages) == 1:
            (lineage,) = lineages.values()
            kept = [part.name for part in parts]
            self.lineage = lineage.then(Step("edit", "subsets", {"keep": kept}))
        #: read from part of its source folder (one subset or one file): never written over it
        names = set(subsets) if isinstance(subsets, Mapping) else {p.name for p in parts}
        self.partial = any(_part_of_folder(part, names) for part in parts)
        #: where it was read from or last exported to, and in which format (Datumaro's)
        self.data_path: str | None = None
        self.format: str | None = None
        self._bound_options: dict[str, Any] = {}
        self._modified = False

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
        adopted = cls(dataset.subsets(), dataset.categories, dataset.info)
        adopted.lineage = dataset.lineage
        return adopted

    # -- Datumaro's constructors -----------------------------------------------------------------
    @classmethod
    def import_from(cls, path: str | Path, format: str | None = None, **options: Any) -> Dataset:
        """Reads a dataset (Datumaro's name for `engine.load`; `format=None` detects it)."""
        for name in ("env", "progress_reporter", "error_policy"):
            if options.get(name) is not None:
                raise NotSupportedError(
                    f"import_from({name}=...): not supported; errors raise FormatError, "
                    "`skip_broken=True` skips unreadable image files"
                )
            options.pop(name, None)
        return load(format, path, **options)

    @classmethod
    def from_extractors(cls, *sources: model.Dataset, merge_policy: str = "union", env: Any = None):
        """One source: a copy of it; several: merged with Datumaro's `merge_policy` (as
        `engine.merge`). Sources are datasets of this engine (there are no extractors)."""
        if env is not None:
            raise NotSupportedError(
                "from_extractors(env=...): plugin environments are not supported"
            )
        foreign = [type(s).__name__ for s in sources if not isinstance(s, model.Dataset)]
        if foreign:
            raise NotSupportedError(
                f"from_extractors: {foreign[0]} is not a dataset of this engine; read it with "
                "Dataset.import_from or build one with Dataset.from_iterable"
            )
        if len(sources) == 1:
            return (
                cls.adopt(sources[0]).clone()
                if isinstance(sources[0], Dataset)
                else cls.adopt(sources[0])
            )
        return merge(*sources, merge_policy=merge_policy)

    @staticmethod
    def detect(path: str | Path, *, env: Any = None, depth: int = 2) -> str:
        """The one format of `path` (Datumaro's `Dataset.detect`): UnknownFormatError when no
        format, or several equally, recognise it. `depth` is accepted for Datumaro scripts:
        detection looks at the folder and the layouts formats define below it."""
        if env is not None:
            raise NotSupportedError("detect(env=...): plugin environments are not supported")
        if depth < 0:
            raise ValueError("depth cannot be less than zero")
        if depth != 2:
            warn_caller(
                f"Dataset.detect(depth={depth}): the depth is not used; each format looks where "
                "its layout says (the folder, and its class or subset folders)",
                UserWarning,
            )
        return detect_one(path)

    # -- reading, as Datumaro -----------------------------------------------------------------
    def media_type(self) -> type:
        """The media of the items: always images."""
        return model.Image

    def ann_types(self) -> set[AnnotationType]:
        """The annotation kinds present: labels, when any item has one."""
        labelled = any((s.labels != model.NO_LABEL).any() for s in self.subsets().values())
        return {AnnotationType.label} if labelled else set()

    def get_label_cat_names(self) -> list[str]:
        return list(self.categories)

    def get_annotated_items(self) -> int:
        """How many items hold at least one label."""
        return sum(Subset.adopt(s).get_annotated_items() for s in self.subsets().values())

    def get_annotations(self) -> int:
        """How many labels the items hold in all."""
        return sum(Subset.adopt(s).get_annotations() for s in self.subsets().values())

    def get_subset_info(self) -> Iterator[str]:
        """One line per subset, sorted: items, annotated items, annotations (Datumaro's)."""
        for name in sorted(self.subsets()):
            part = Subset.adopt(self.subsets()[name])
            yield (
                f"{name}: # of items={len(part)}, # of annotated items="
                f"{part.get_annotated_items()}, # of annotations={part.get_annotations()}\n"
            )

    def get_infos(self) -> Iterator[str]:
        """One line per dataset-level fact (Datumaro's)."""
        yield from (f"{key}: {value}\n" for key, value in self.infos().items())

    def get_categories_info(self) -> Iterator[str]:
        """The class names, as Datumaro lists them."""
        yield f"label: {list(self.categories)}\n"

    def define_categories(self, categories: Any) -> None:
        """Sets the class names (names, `LabelCategories` or `{AnnotationType.label: ...}`)."""
        self.categories = categories

    def define_infos(self, infos: Mapping[str, Any]) -> None:
        self.info = dict(infos)

    def init_cache(self) -> None:
        """Nothing to do: a loaded dataset is already held (or memory-mapped) whole."""

    def flush_changes(self) -> None:
        """Nothing to do: changes are applied when made."""

    is_eager = True
    is_stream = False
    is_cache_initialized = True

    @property
    def is_bound(self) -> bool:
        return bool(self.data_path) and bool(self.format)

    @property
    def is_modified(self) -> bool:
        return self._modified

    def bind(self, path: str | Path, format: str | None = None, *, options: Any = None) -> None:
        """Sets the folder and format a later `save()` writes to (Datumaro's `bind`)."""
        self.data_path, self.format = str(path), format
        self._bound_options = dict(options or {})

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._bound_options)

    def __getitem__(self, key: Any) -> Any:
        """`ds["train"]`: a subset; `ds[5]`: the item at that position over all subsets
        (Datumaro's `dataset[idx]`)."""
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            index = int(key)
            total = len(self)
            if not -total <= index < total:
                raise IndexError(f"the dataset has {total} items")
            index %= total
            for subset in self.subsets().values():
                if index < len(subset):
                    return subset[index]
                index -= len(subset)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        """A subset name; or, as in Datumaro, an item, `(id, subset)` or an id."""
        if isinstance(key, str) and key in self.subsets():
            return True
        if isinstance(key, model.DatasetItem | ItemView):
            key = (key.id, key.subset)
        if isinstance(key, tuple | list) and len(key) == 2:
            return self.get(str(key[0]), str(key[1])) is not None
        if isinstance(key, str | int):
            try:
                return self.get(key) is not None
            except ValueError:  # held by several subsets
                return True
        return False

    # -- writing ---------------------------------------------------------------------------------
    def export(self, save_dir: str | Path, format: str, **options: Any) -> list[str]:
        """Writes the dataset (Datumaro's `export`). Running it again replaces the earlier export
        of `format` there: the format's own files are replaced (atomically), other files in the
        folder are kept, and a folder the dataset was read from is written only as an in-place
        edit. A non-empty folder holding no file of `format` is refused unless
        `overwrite=True`; `overwrite=False` refuses any non-empty folder."""
        for name in ("progress_reporter", "error_policy"):
            if options.pop(name, None) is not None:
                raise NotSupportedError(f"export({name}=...): not supported")
        if "overwrite" not in options:
            options["overwrite"] = _holds_export_of(Path(save_dir), get_format(format))
        kept = save(self, format, save_dir, **options)
        bound = {key: value for key, value in options.items() if key != "overwrite"}
        self.bind(save_dir, get_format(format).name, options=bound)
        self._modified = False
        return kept

    def save(self, save_dir: str | Path | None = None, **options: Any) -> list[str]:
        """Exports again to the folder and format of the last `export`/`import_from`
        (Datumaro's `save`)."""
        target = save_dir or self.data_path
        if not target or not self.format:
            raise EngineError(
                "save(): the dataset is bound to no folder and format; call "
                "export(path, format) first (or import it with Dataset.import_from)"
            )
        return self.export(target, self.format, **{**self._bound_options, **options})

    # -- verbs: in place, as in Datumaro ---------------------------------------------------------
    def filter(
        self,
        expr: str | Callable[..., bool],
        mode: str | bool = "items",
        *,
        filter_annotations: bool = False,
        remove_empty: bool = False,
    ) -> Dataset:
        """Keeps what an XPath expression (see engine.ops.filters) or a predicate selects, in
        place; returns this dataset.

        `mode` is items, annotations or items+annotations; Datumaro's `filter_annotations` and
        `remove_empty` flags are accepted too. A predicate takes the item (items mode) or the
        item and a `Label` (annotation modes), as in Datumaro.
        """
        if isinstance(mode, bool):  # Datumaro 0.x: filter(expr, filter_annotations, remove_empty)
            filter_annotations, mode = mode, "items"
        if filter_annotations:
            mode = "items+annotations" if remove_empty else "annotations"
        from engine.ops.filters import filter_dataset

        return self._become(filter_dataset(self, expr, str(mode)))

    def select(self, pred: Callable[[ItemView], bool]) -> Dataset:
        """Keeps the items for which `pred(item)` is true, in place (Datumaro's `select`)."""
        from engine.ops.filters import filter_dataset

        return self._become(filter_dataset(self, pred, "items"))

    def transform(self, method: str, **options: Any) -> Dataset:
        """Applies the transform named `method` in place and returns this dataset, with
        Datumaro's names and options: `random_split` (`splits=[("train", 0.8), ("val", 0.2)]`,
        `seed=`, `stratified=True`), `remap_labels` (`mapping={"src": "dst"}`,
        `default="keep"|"delete"`), `map_subsets` (`mapping=`), `reindex` (`start=0`),
        `id_from_image_name`."""
        from engine.ops.transforms import TRANSFORMS, transform

        if not isinstance(method, str):
            raise NotSupportedError(
                f"transform({getattr(method, '__name__', method)!r}): Transform classes are not "
                f"supported; name one of this engine's transforms: {', '.join(TRANSFORMS)}"
            )
        return self._become(transform(self, method, **options))

    def split(
        self,
        splits: Sequence[tuple[str, float]] | Mapping[str, float] | None = None,
        *,
        seed: int | None = None,
        stratified: bool = True,
        **ratios: float,
    ) -> Dataset:
        """Deals the items into new subsets, in place: `dataset.split(train=0.8, val=0.2,
        seed=0)` or `dataset.split([("train", 0.8), ("val", 0.2)])`; stratified by label by
        default; ids are kept."""
        if splits is not None and ratios:
            raise TypeError("give the splits either as a list or as keywords, not both")
        chosen = splits if splits is not None else ratios
        from engine.ops.transforms import transform

        split = transform(self, "random_split", splits=chosen, seed=seed, stratified=stratified)
        return self._become(split)

    def remap_labels(self, mapping: Mapping[str, str | None], default: str = "keep") -> Dataset:
        """Renames, merges or deletes classes by name, in place (see
        engine.ops.transforms.remap_labels)."""
        from engine.ops.transforms import transform

        return self._become(transform(self, "remap_labels", mapping=mapping, default=default))

    def put(
        self, item: model.DatasetItem, id: str | int | None = None, subset: str | None = None
    ) -> None:
        """Adds an item, or replaces the one with its id in its subset (Datumaro's `put`)."""
        if id is not None or subset is not None:
            item = model.DatasetItem(
                id=item.id if id is None else id,
                subset=item.subset if subset is None else subset,
                image=item.image,
                annotations=item.annotations,
                attributes=item.attributes,
            )
        if self.get(item.id, item.subset) is not None:
            self.remove(item.id, item.subset)
        added = model.Dataset.from_iterable([item], categories=self.categories)
        from engine.ops.merge import merge_by_policy

        merged = merge_by_policy([("dataset", self), ("item", added)], "exact")
        merged.lineage = self.lineage.then(
            Step("edit", "put", {"id": item.id, "subset": item.subset})
        )
        self._become(merged)

    def remove(self, id: str | int, subset: str | None = None) -> None:
        """Removes the item with this id (in `subset`, or the only subset holding it)."""
        found = self.get(id, subset)
        if found is None:
            return
        part = self.subsets()[found.subset]
        keep = np.ones(len(part), dtype=bool)
        keep[found.index] = False
        subsets = self.subsets()
        subsets[found.subset] = part.take(keep)
        edited = type(self)(subsets, self.categories, self.info)
        edited.lineage = self.lineage.then(
            Step("edit", "remove", {"id": str(id), "subset": found.subset})
        )
        self._become(edited)

    # -- copies ----------------------------------------------------------------------------------
    def clone(self) -> Dataset:
        """A dataset of its own with the same items (the arrays are shared, not copied: no verb
        changes an array in place), so verbs on either leave the other unchanged."""
        twin = type(self)(
            [dataclasses.replace(part) for part in self.subsets().values()],
            self.categories,
            self.info,
        )
        twin.sources, twin.data_path, twin.format = self.sources, self.data_path, self.format
        twin.partial = self.partial
        twin.lineage = self.lineage
        twin._bound_options = dict(self._bound_options)
        return twin

    def __copy__(self) -> Dataset:
        return self.clone()

    def _become(self, result: model.Dataset) -> Dataset:
        """Takes the subsets, classes and facts of `result` (a verb's output) as its own."""
        self._subsets = {name: Subset.adopt(part) for name, part in result.subsets().items()}
        self.categories = result.categories
        self.info = dict(result.info)
        self.lineage = result.lineage
        self._modified = True
        return self

    def __getattr__(self, name: str) -> Any:
        reason = _NOT_OFFERED.get(name)
        if reason:
            raise NotOfferedError(f"Dataset.{name}: not supported by this engine; {reason}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
