"""The dataset codec for NPZ layouts: per subset, one archive of images and one of labels (each
holding one array, `arr_0` for KMNIST), found by the spec's name patterns. Driven entirely by a
`NpzLayout`; validation and categories are the engine's shared mechanisms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.codecs.base import Clue, SubsetFiles, chosen_layout
from engine.codecs.names import NamePattern, find_files
from engine.codecs.npz.container import read_npz_array, write_npz_array
from engine.codecs.prepare import PreparedSubset, prepare_subset
from engine.errors import FormatError, NotThisFormat
from engine.model import NO_LABEL, Subset, subset_order
from specs.schema import DatasetSpec, NpzLayout, Tensor

#: .npz archives are zip files: compression is inside them, never a suffix
NO_SUFFIX = ("",)


class NpzCodec:
    """Reads and writes the subsets of a dataset whose spec (or one of its layouts) is NPZ."""

    def __init__(self, spec: DatasetSpec, layout: NpzLayout | None = None) -> None:
        chosen = chosen_layout(spec, layout, NpzLayout, "an NPZ")
        self.spec = spec
        self.layout: NpzLayout = chosen
        #: the spec as this layout names subsets in files (its own prefixes, if it declares any)
        self.names = spec
        if chosen.subset_prefixes is not None:
            self.names = spec.model_copy(update={"subset_prefixes": dict(chosen.subset_prefixes)})

    # -- finding files ----------------------------------------------------------------------------
    def subset_files(self, path: Path) -> tuple[Path, list[SubsetFiles]]:
        """(dataset root, the subsets found); `path` is the folder or one archive of a subset."""
        root = path if path.is_dir() else path.parent
        images = find_files(root, self.layout.images_names, NO_SUFFIX)
        labels = find_files(root, self.layout.labels_names, NO_SUFFIX)
        found = []
        for prefix in set(images) | set(labels):
            subset = self.names.subset_of(prefix)
            if subset is not None:
                found.append(SubsetFiles(subset, labels.get(prefix), images.get(prefix)))
        found.sort(key=lambda files: subset_order(files.subset))
        if path.is_file():
            found = [f for f in found if path in (f.labels, f.images)]
        return root, found

    def load_subsets(
        self, path: Path, *, subset: str | None, variant: str | None
    ) -> tuple[Path, list[Subset], None]:
        if variant is not None:
            raise ValueError(f"{self.spec.name}: the NPZ layout has no variants")
        root, found = self.subset_files(path)
        if subset is not None:
            found = [files for files in found if files.subset == subset]
        return root, [self.read_subset(files) for files in found], None

    # -- reading ----------------------------------------------------------------------------------
    def read_subset(self, files: SubsetFiles) -> Subset:
        labels = images = None
        labels_name = ""
        if files.labels is not None:
            labels = self._read(files.labels, self.layout.labels)
            labels_name = files.labels.name
        if files.images is not None:
            images = self._read(files.images, self.layout.images)
        if labels is not None and images is not None and len(labels) != len(images):
            raise FormatError(
                files.images,
                f"holds {len(images)} images where {labels_name} holds {len(labels)} labels",
                field="shape[0]",
                expected=len(labels),
                actual=len(images),
            )
        if labels is None:
            assert images is not None  # a subset has a labels archive, an images archive or both
            model_labels = np.full(len(images), NO_LABEL, dtype=np.int32)
        else:
            model_labels = labels.astype(np.int32)
            if self.spec.no_label is not None:
                model_labels[labels == self.spec.no_label] = NO_LABEL
        return Subset(name=files.subset, labels=model_labels, images=images)

    def _read(self, path: Path, tensor: Tensor) -> np.ndarray:
        array = read_npz_array(path, self.layout.array)
        expected = (tensor.dtype, tensor.item_shape)
        if (str(array.dtype), tuple(array.shape[1:])) != expected or array.ndim < 1:
            raise FormatError(
                path,
                f"array {self.layout.array!r} is {array.dtype} items of shape "
                f"{tuple(array.shape[1:])}; {self.spec.name} declares {tensor.dtype} items of "
                f"shape {tensor.item_shape}",
                field=self.layout.array,
                expected=f"{tensor.dtype} {tensor.item_shape}",
                actual=f"{array.dtype} {tuple(array.shape[1:])}",
            )
        return array

    # -- writing ----------------------------------------------------------------------------------
    def prepare(self, subset: Subset, *, save_media: bool) -> PreparedSubset:
        layout = self.layout
        return prepare_subset(
            subset,
            image_shape=layout.images.item_shape,
            image_dtype=layout.images.dtype,
            label_dtype=layout.labels.dtype,
            no_label=self.spec.no_label,
            max_label=self.spec.max_label,
            side=None,
            save_media=save_media,
        )

    def write_subset(
        self,
        prepared: PreparedSubset,
        root: Path,
        *,
        compression: str,
        compresslevel: int,
        variant: str | None = None,
    ) -> list[Path]:
        """Writes one prepared subset's archives into `root`; returns the files written."""
        prefix = self.names.prefix_of(prepared.name)
        layout = self.layout
        labels_path = root / NamePattern(layout.labels_names[0], ()).name_for(prefix, "")
        write_npz_array(labels_path, layout.array, prepared.labels, compressed=layout.compressed)
        written = [labels_path]
        if prepared.images is not None:
            images_path = root / NamePattern(layout.images_names[0], ()).name_for(prefix, "")
            write_npz_array(
                images_path, layout.array, prepared.images, compressed=layout.compressed
            )
            written.append(images_path)
        return written

    # -- detection --------------------------------------------------------------------------------
    def probe(self, path: Path) -> tuple[list[Clue], list[SubsetFiles]]:
        """Evidence from file names and zip magic; raises NotThisFormat when nothing fits."""
        _, found = self.subset_files(path)
        if not found:
            raise NotThisFormat(f"no file named like {self.layout.labels_names[0]}")
        known = {*self.spec.subsets, *self.names.subset_prefixes}
        clues = []
        for files in found:
            weight = 1.0 if files.subset in known else 0.5
            for kind, file in (("labels", files.labels), ("images", files.images)):
                if file is None:
                    continue
                with open(file, "rb") as handle:
                    if handle.read(4) != b"PK\x03\x04":
                        raise NotThisFormat(f"{file.name}: not a zip (.npz) archive")
                clues.append(Clue(weight, f"{file.name}: {kind} of subset {files.subset!r}"))
        return clues, found
