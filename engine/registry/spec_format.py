"""A format declared by a spec: the codec its layout names reads and writes it (a spec with
`other_layouts` has one codec per layout; loading uses the first whose files are present)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.codecs.csv.codec import CsvCodec
from engine.codecs.idx.codec import IdxCodec
from engine.codecs.npz.codec import NpzCodec
from engine.codecs.prepare import check_class_names
from engine.errors import NotThisFormat, UnknownFormatError
from engine.io.categories import load_categories, save_categories
from engine.model import Dataset, Subset
from engine.ops.convert import Conversion, convert_dataset
from engine.registry import spec_detection
from engine.registry.format import Detection
from specs.schema import DatasetSpec

#: codec name (a spec layout's `codec`) -> codec class
CODECS: dict[str, type] = {"idx": IdxCodec, "csv": CsvCodec, "npz": NpzCodec}


class SpecFormat:
    """A format declared by a spec and read/written by the codec its layout names."""

    def __init__(self, spec: DatasetSpec) -> None:
        layouts = (spec.layout, *spec.other_layouts)
        for layout in layouts:
            if layout.codec not in CODECS:
                raise UnknownFormatError(f"{spec.name}: no codec {layout.codec!r}")
        self.spec = spec
        self.name = spec.name
        self.description = spec.description
        #: one codec per layout, the spec's main layout first
        self.codecs = {layout.codec: CODECS[layout.codec](spec, layout) for layout in layouts}
        self.codec = self.codecs[spec.layout.codec]

    def detect(self, path: Path) -> Detection:
        best = None
        for codec in self.codecs.values():
            try:
                found = spec_detection.score(self.spec, codec, Path(path))
            except NotThisFormat:
                continue
            if best is None or found[0] > best[0]:
                best = found
        if best is None:
            raise NotThisFormat(f"no {self.name} files")
        score, evidence, options = best
        return Detection(self.name, score, evidence, options)

    def _codec(self, options: dict[str, Any], path: Path | None = None) -> Any:
        """The codec `layout=` names, else (loading `path`) the first whose files are present."""
        if not self.spec.other_layouts:
            return self.codec
        chosen = options.pop("layout", None)
        if chosen is not None:
            if chosen not in self.codecs:
                raise ValueError(f"{self.name}: layout must be one of {list(self.codecs)}")
            return self.codecs[chosen]
        if path is not None:
            for codec in self.codecs.values():
                if codec.subset_files(path)[1]:
                    return codec
        return self.codec

    def load(self, path: Path, *, subset: str | None = None, **options: Any) -> Dataset:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        stored = self._stored_orientation(options)
        codec = self._codec(options, path)
        variant = self._variant(options, required=False)
        root, subsets, variant = codec.load_subsets(path, subset=subset, variant=variant)
        if not subsets:
            wanted = f" of subset {subset!r}" if subset else ""
            raise UnknownFormatError(f"{path}: no {self.name} files{wanted} found")
        classes = self.spec.variant(variant).classes if variant else self.spec.classes
        info = {self.spec.variant_option: variant} if variant else None  # saved back unasked
        if stored:
            subsets = [_transposed(subset) for subset in subsets]
        return Dataset(subsets, load_categories(root, classes), info)

    def _stored_orientation(self, options: dict[str, Any]) -> bool:
        """Pops `orientation=` ("upright", the default, or "stored": the on-disk transposed
        orientation torchvision and TFDS return), accepted by specs storing images transposed."""
        if "orientation" not in options or not _images_transposed(self.spec):
            return False
        value = options.pop("orientation")
        if value not in ("upright", "stored"):
            raise ValueError(
                f"{self.name}: orientation must be 'upright' or 'stored', not {value!r}"
            )
        return value == "stored"

    def _default_compression(self, codec: Any, subset: str) -> str:
        if codec is not self.codec:
            return _compressions(codec)[0]
        return self.spec.subset_compressions.get(subset, _compressions(codec)[0])

    def _variant(self, options: dict[str, Any], *, required: bool) -> str | None:
        """The variant the options select (validated); options the spec does not take fail."""
        key = self.spec.variant_option
        unknown = sorted(set(options) - ({key} if self.spec.variants else set()))
        if unknown:
            raise TypeError(f"{self.name}: unexpected option(s) {', '.join(unknown)}")
        chosen = options.get(key)
        if chosen is None:
            if required and self.spec.variants:
                choices = ", ".join(v.name for v in self.spec.variants)
                raise ValueError(f"{self.name}: pass {key}=... (one of {choices})")
            return None
        return self.spec.variant(chosen).name

    def save(
        self,
        dataset: Dataset,
        directory: Path,
        *,
        save_media: bool = True,
        save_dataset_meta: bool = False,
        image_ext: str | None = None,
        compression: str | None = None,
        compresslevel: int = 6,
        grayscale: bool = False,
        resize: str | int | tuple[int, int] | None = None,
        mnistify: bool = False,
        invert: bool = False,
        workers: int | None = None,
        progress: bool | None = None,
        **options: Any,
    ) -> None:
        key = self.spec.variant_option
        if self.spec.variants and options.get(key) is None and dataset.info.get(key):
            options = {**options, key: dataset.info[key]}  # the variant it was loaded from
        if self._stored_orientation(options):
            dataset = Dataset(
                [_transposed(s) for s in dataset.subsets().values()], dataset.categories
            )
        codec = self._codec(options)
        variant = self._variant(options, required=True)
        conversion = Conversion.from_options(
            grayscale=grayscale, resize=resize, mnistify=mnistify, invert=invert
        )
        if compression is not None and compression not in _compressions(codec):
            raise ValueError(
                f"{self.name}: compression {compression!r} is not one of "
                f"{list(_compressions(codec))}"
            )
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"compresslevel must be 0..9, not {compresslevel}")
        check_class_names(dataset.categories)
        dataset = convert_dataset(dataset, conversion, workers=workers, progress=progress)
        prepared = [
            codec.prepare(subset, save_media=save_media) for subset in dataset.subsets().values()
        ]
        for part in prepared:
            codec.write_subset(
                part,
                directory,
                compression=self._default_compression(codec, part.name)
                if compression is None
                else compression,
                compresslevel=compresslevel,
                variant=variant,
            )
        save_categories(directory, dataset.categories, dataset_meta=save_dataset_meta)


def _images_transposed(spec: DatasetSpec) -> bool:
    images = getattr(spec.layout, "images", None)
    return bool(getattr(images, "transposed", False))


def _transposed(subset: Subset) -> Subset:
    """The subset with every image's last two axes swapped (a view for an image array)."""
    images = subset.images
    if isinstance(images, np.ndarray) and images.ndim >= 3:
        images = images.swapaxes(-1, -2)
    elif isinstance(images, list):
        images = [None if i is None else np.asarray(i).swapaxes(0, 1) for i in images]
    return replace(subset, images=images)


def _compressions(codec: Any) -> tuple[str, ...]:
    """The compression suffixes a codec's layout accepts ("" only: no outer compression)."""
    return tuple(getattr(codec.layout, "compressions", ("",)))
