"""A format declared by a spec: the codec its layout names reads and writes it (a spec with
`other_layouts` has one codec per layout; loading uses the first whose files are present). Its
options models are generated from the spec (engine.format.spec_options)."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from engine.codecs.base import Codec, SubsetWrite
from engine.codecs.csv.codec import CsvCodec
from engine.codecs.idx.codec import IdxCodec
from engine.codecs.names import NamePattern
from engine.codecs.npz.codec import NpzCodec
from engine.codecs.prepare import check_class_names, check_label_range
from engine.errors import NotThisFormat, UnknownFormatError, ValidationError, hint
from engine.format import spec_detection
from engine.format.options import Options, SaveOptions
from engine.format.protocol import Detection
from engine.format.spec_options import (
    SpecOptions,
    SpecSaveOptions,
    layout_compressions,
    options_models,
)
from engine.io.categories import LABELS_FILE, META_FILE, load_categories, save_categories
from engine.io.paths import check_dataset_names
from engine.model import Dataset, Subset
from engine.ops.pixels import edit_pixels
from specs.schema import CsvLayout, DatasetSpec, IdxLayout, Layout, SideFile

#: codec name (a spec layout's `codec`) -> codec class
CODECS: dict[str, type[IdxCodec] | type[CsvCodec] | type[NpzCodec]] = {
    "idx": IdxCodec,
    "csv": CsvCodec,
    "npz": NpzCodec,
}


class SpecFormat:
    """A format declared by a spec and read/written by the codec its layout names."""

    def __init__(self, spec: DatasetSpec) -> None:
        layouts = (spec.layout, *spec.other_layouts)
        for layout in layouts:
            if layout.codec not in CODECS:
                raise UnknownFormatError(f"{spec.name}: no codec {layout.codec!r}")
        self.spec: DatasetSpec = spec
        self.name = spec.name
        self.description = spec.description
        #: one codec per layout, the spec's main layout first
        self.codecs: dict[str, Codec] = {}
        for layout in layouts:
            self.codecs[layout.codec] = CODECS[layout.codec](spec, layout)
        self.codec: Codec = self.codecs[spec.layout.codec]

    @property
    def options(self) -> type[SpecSaveOptions]:
        """The save options model, generated from the spec when first asked for."""
        return self._models[0]

    @property
    def load_options(self) -> type[Options]:
        """The load options model, generated from the spec when first asked for."""
        return self._models[1]

    @cached_property
    def _models(self) -> tuple[type[SpecSaveOptions], type[Options]]:
        return options_models(self.spec)

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

    def _codec(self, options: Options, path: Path | None = None) -> Codec:
        """The codec `layout=` names, else (loading `path`) the first whose files are present."""
        chosen = _choice(options, "layout")
        if chosen is not None:
            return self.codecs[chosen]
        if path is not None and len(self.codecs) > 1:
            for codec in self.codecs.values():
                if codec.subset_files(path)[1]:
                    return codec
        return self.codec

    def load(self, path: Path, options: Options, *, subset: str | None = None) -> Dataset:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        codec = self._codec(options, path)
        variant = _choice(options, self.spec.variant_option) if self.spec.variants else None
        root, subsets, variant = codec.load_subsets(path, subset=subset, variant=variant)
        if not subsets:
            wanted = f" of subset {subset!r}" if subset else ""
            raise UnknownFormatError(f"{path}: no {self.name} files{wanted} found")
        classes = self.spec.variant(variant).classes if variant else self.spec.classes
        info = {self.spec.variant_option: variant} if variant else None  # saved back unasked
        if _choice(options, "orientation") == "stored":
            subsets = [_transposed(subset) for subset in subsets]
        return Dataset(subsets, load_categories(root, classes), info)

    def named_like(self, entry: Path) -> bool:
        """The spec's file names decide ownership (content unread), so the two agree."""
        return self.owns(entry)

    def owns(self, entry: Path) -> bool:
        """Files named by any of the spec's layouts (any subset, any compression), their side
        files and the class-name files."""
        if not entry.is_file() or entry.is_symlink():
            return False
        if entry.name in (LABELS_FILE, META_FILE):
            return True
        layouts = (self.spec.layout, *self.spec.other_layouts)
        return any(self._layout_owns(layout, entry.name) for layout in layouts)

    def _layout_owns(self, layout: Layout, name: str) -> bool:
        compressions = layout_compressions(layout)
        variants = [v.name for v in self.spec.variants]
        side_file: SideFile | None = None
        if isinstance(layout, CsvLayout):
            patterns = list(layout.file_names)
            name_regex = re.compile(layout.name_regex)
            side_file = layout.side_file
            for suffix in compressions:
                stem = name[: -len(suffix)] if suffix else name
                if name.endswith(suffix) and name_regex.match(stem):
                    return True
        else:
            patterns = [*layout.images_names, *layout.labels_names]
            if isinstance(layout, IdxLayout):
                patterns += [n for alt in layout.labels_alternatives for n in alt.names]
                side_file = layout.side_file
        if any(NamePattern(p, compressions, variants).match_fields(name) for p in patterns):
            return True
        if side_file is not None:
            side = re.escape(side_file.name).replace(re.escape("{subset}"), ".+")
            return re.fullmatch(side, name) is not None
        return False

    def _variant(self, options: SaveOptions, dataset: Dataset) -> str | None:
        """The variant to write: the option, else the one the dataset was loaded from; a spec
        with variants needs one."""
        if not self.spec.variants:
            return None
        key = self.spec.variant_option
        chosen = _choice(options, key) or dataset.info.get(key)
        if chosen is None:
            choices = ", ".join(v.name for v in self.spec.variants)
            option = hint(f"{key}=...", f"-- --{key.replace('_', '-')} NAME")
            raise ValueError(f"{self.name}: pass {option} (one of {choices})")
        return self.spec.variant(chosen).name

    def check(self, dataset: Dataset, options: SaveOptions | None = None) -> list[str]:
        """What the spec's layout cannot hold: its class names, and each subset's rows as the
        codec prepares them for writing (nothing is written)."""
        codec = self._codec(options or self.options())
        problems = []
        try:
            check_class_names(dataset.categories)
        except ValidationError as error:
            problems.append(str(error))
        for name, subset in dataset.subsets().items():
            try:
                codec.prepare(subset, save_media=True)
            except ValidationError as error:
                problems.append(f"subset {name!r}: {error}")
        return problems

    def save(self, dataset: Dataset, directory: Path, options: SaveOptions) -> None:
        if _choice(options, "orientation") == "stored":
            dataset = Dataset(
                [_transposed(s) for s in dataset.subsets().values()], dataset.categories
            )
        codec = self._codec(options)
        variant = self._variant(options, dataset)
        compression = _choice(options, "compression")
        accepted = layout_compressions(codec.layout)
        if compression is not None and compression not in accepted:
            raise ValueError(
                f"{self.name}: compression {compression!r} is not one of {list(accepted)}"
            )
        check_class_names(dataset.categories)
        check_dataset_names(dataset)
        check_label_range(dataset)
        dataset = edit_pixels(
            dataset, options.pixel_edit(), workers=options.workers, progress=options.progress
        )
        prepared = [
            codec.prepare(subset, save_media=options.save_media)
            for subset in dataset.subsets().values()
        ]
        for part in prepared:
            suffix = compression
            if suffix is None:
                suffix = self._default_compression(codec, part.name)
            codec.write_subset(part, directory, SubsetWrite(suffix, options.compresslevel, variant))
        save_categories(directory, dataset.categories, dataset_meta=options.save_dataset_meta)

    def _default_compression(self, codec: Codec, subset: str) -> str:
        first = layout_compressions(codec.layout)[0]
        if codec is not self.codec:
            return first
        return self.spec.subset_compressions.get(subset, first)


def _choice(options: Options, name: str) -> str | None:
    """A spec-generated option's value (None when the model has no such option or it is unset)."""
    return options.choice(name) if isinstance(options, SpecOptions) else None


def _transposed(subset: Subset) -> Subset:
    """The subset with every image's last two axes swapped (a view for an image array)."""
    images = subset.images
    if isinstance(images, np.ndarray) and images.ndim >= 3:
        images = images.swapaxes(-1, -2)
    elif isinstance(images, list):
        images = [None if i is None else np.asarray(i).swapaxes(0, 1) for i in images]
    return replace(subset, images=images)
