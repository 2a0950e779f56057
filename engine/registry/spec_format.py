"""A format declared by a spec: the codec its layout names reads and writes it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.codecs.csv.codec import CsvCodec
from engine.codecs.idx.codec import IdxCodec
from engine.codecs.layout import NamePattern
from engine.codecs.prepare import check_class_names, check_label_range
from engine.errors import UnknownFormatError, hint
from engine.io.categories import LABELS_FILE, META_FILE, load_categories, save_categories
from engine.io.paths import check_dataset_names
from engine.model import Dataset
from engine.ops.convert import Conversion, convert_dataset
from engine.registry import spec_detection
from engine.registry.format import Detection
from specs.schema import DatasetSpec, IdxLayout

#: codec name (a spec layout's `codec`) -> codec class
CODECS: dict[str, type] = {"idx": IdxCodec, "csv": CsvCodec}


class SpecFormat:
    """A format declared by a spec and read/written by the codec its layout names."""

    def __init__(self, spec: DatasetSpec) -> None:
        if spec.layout.codec not in CODECS:
            raise UnknownFormatError(f"{spec.name}: no codec {spec.layout.codec!r}")
        self.spec = spec
        self.name = spec.name
        self.description = spec.description
        self.codec = CODECS[spec.layout.codec](spec)

    def detect(self, path: Path) -> Detection:
        score, evidence, options = spec_detection.score(self.spec, self.codec, Path(path))
        return Detection(self.name, score, evidence, options)

    def load(self, path: Path, *, subset: str | None = None, **options: Any) -> Dataset:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        variant = self._variant(options, required=False)
        root, subsets, variant = self.codec.load_subsets(path, subset=subset, variant=variant)
        if not subsets:
            wanted = f" of subset {subset!r}" if subset else ""
            raise UnknownFormatError(f"{path}: no {self.name} files{wanted} found")
        classes = self.spec.variant(variant).classes if variant else self.spec.classes
        return Dataset(subsets, load_categories(root, classes))

    def owns(self, entry: Path) -> bool:
        """Files named by the spec's patterns (any subset, any compression), its side files and
        the class-name files."""
        if not entry.is_file() or entry.is_symlink():
            return False
        if entry.name in (LABELS_FILE, META_FILE):
            return True
        layout = self.spec.layout
        compressions = tuple(layout.compressions)
        variants = [v.name for v in self.spec.variants]
        if isinstance(layout, IdxLayout):
            patterns = [*layout.images_names, *layout.labels_names]
            patterns += [n for alt in layout.labels_alternatives for n in alt.names]
        else:
            patterns = list(layout.file_names)
            stems = [entry.name[: -len(c)] if c else entry.name for c in compressions]
            name_regex = re.compile(layout.name_regex)
            if any(
                entry.name.endswith(c) and name_regex.match(stem)
                for c, stem in zip(compressions, stems, strict=True)
            ):
                return True
        if any(NamePattern(p, compressions, variants).match(entry.name) for p in patterns):
            return True
        if layout.side_file is not None:
            side = re.escape(layout.side_file.name).replace(re.escape("{subset}"), ".+")
            return re.fullmatch(side, entry.name) is not None
        return False

    def _default_compression(self, subset: str) -> str:
        return self.spec.subset_compressions.get(subset, self.spec.layout.compressions[0])

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
                option = hint(f"{key}=...", f"-- --{key.replace('_', '-')} NAME")
                raise ValueError(f"{self.name}: pass {option} (one of {choices})")
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
        variant = self._variant(options, required=True)
        conversion = Conversion.from_options(
            grayscale=grayscale, resize=resize, mnistify=mnistify, invert=invert
        )
        if compression is not None and compression not in self.spec.layout.compressions:
            raise ValueError(
                f"{self.name}: compression {compression!r} is not one of "
                f"{list(self.spec.layout.compressions)}"
            )
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"compresslevel must be 0..9, not {compresslevel}")
        check_class_names(dataset.categories)
        check_dataset_names(dataset)
        check_label_range(dataset)
        dataset = convert_dataset(dataset, conversion, workers=workers, progress=progress)
        prepared = [
            self.codec.prepare(subset, save_media=save_media)
            for subset in dataset.subsets().values()
        ]
        for part in prepared:
            self.codec.write_subset(
                part,
                directory,
                compression=self._default_compression(part.name)
                if compression is None
                else compression,
                compresslevel=compresslevel,
                variant=variant,
            )
        save_categories(directory, dataset.categories, dataset_meta=save_dataset_meta)
