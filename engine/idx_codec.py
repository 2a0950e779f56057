"""The dataset codec for IDX layouts: finds a spec's image/label files per subset, reads them into
the columnar model, and writes prepared subsets back. Driven entirely by the spec's `IdxLayout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.compression import read_head
from engine.errors import FormatError, NotThisFormat
from engine.idx import check_against, read_header, read_idx, read_idx_flat, write_idx
from engine.layout import NamePattern, find_files
from engine.model import NO_LABEL, Subset
from engine.sidefile import read_side_file, side_path, write_side_file
from engine.validate import PreparedSubset, prepare_subset
from specs.schema import DatasetSpec, IdxLayout


@dataclass(frozen=True)
class SubsetFiles:
    """The files a subset is stored in; either may be missing (labels-only, images-only)."""

    subset: str
    labels: Path | None
    images: Path | None


class IdxCodec:
    """Reads and writes the subsets of a dataset whose spec has an `IdxLayout`."""

    def __init__(self, spec: DatasetSpec) -> None:
        if not isinstance(spec.layout, IdxLayout):
            raise TypeError(f"{spec.name}: not an IDX layout")
        self.spec = spec
        self.layout: IdxLayout = spec.layout

    # -- finding files ----------------------------------------------------------------------------
    def subset_files(self, path: Path) -> tuple[Path, list[SubsetFiles]]:
        """(dataset root, the subsets found); `path` is the folder or one file of a subset."""
        root = path if path.is_dir() else path.parent
        labels = find_files(root, self.layout.labels_names, self.layout.compressions)
        images = find_files(root, self.layout.images_names, self.layout.compressions)
        found = [
            SubsetFiles(self.spec.subset_of(prefix), labels.get(prefix), images.get(prefix))
            for prefix in set(labels) | set(images)
        ]
        found.sort(key=lambda files: subset_order(files.subset))
        if path.is_file():
            found = [f for f in found if path in (f.labels, f.images)]
        return root, found

    # -- reading ----------------------------------------------------------------------------------
    def read_subset(self, root: Path, files: SubsetFiles) -> Subset:
        """Reads one subset's label and image files (and its side file, if any)."""
        layout = self.layout
        labels = None
        if files.labels is not None:
            labels = read_idx(files.labels, layout.labels)
        side = self._read_side(root, files.subset, labels)
        images = None
        if files.images is not None:
            if side is not None and side.sizes is not None:
                images = self._read_ragged(files.images, side.sizes, root, files.subset)
            else:
                images = read_idx(
                    files.images,
                    layout.images,
                    count=None if labels is None else len(labels),
                    tolerate_element_count=layout.header_count_may_be_element_count,
                )
        if labels is None:
            labels = np.full(len(images), NO_LABEL, dtype=np.int32)
            model_labels = labels
        else:
            model_labels = self._model_labels(labels)
        return Subset(
            name=files.subset,
            labels=model_labels,
            images=images,
            ids=None if side is None else side.ids,
        )

    def _model_labels(self, raw: np.ndarray) -> np.ndarray:
        labels = raw.astype(np.int32) if raw.ndim == 1 else raw[:, 0].astype(np.int32)
        if self.spec.no_label is not None:
            labels[raw == self.spec.no_label] = NO_LABEL
        return labels

    def _read_side(self, root: Path, subset: str, labels: np.ndarray | None):
        side = self.layout.side_file
        if side is None or labels is None:
            return None
        path = side_path(root, side, subset)
        if not path.is_file():
            return None
        return read_side_file(path, side, len(labels))

    def _read_ragged(self, path: Path, sizes: np.ndarray, root: Path, subset: str):
        """Images whose sizes a side file gives: consecutive h*w runs of pixels; 0x0 = no image."""
        header, flat = read_idx_flat(path, self.layout.images)
        ends = np.cumsum(sizes[:, 0] * sizes[:, 1])
        total = int(ends[-1]) if len(ends) else 0
        if total != len(flat):
            side_name = side_path(root, self.layout.side_file, subset).name
            raise FormatError(
                path,
                f"{side_name} gives image sizes totalling {total} pixels, the payload holds "
                f"{len(flat)}",
                offset=header.size,
                field="payload",
                expected=total,
                actual=len(flat),
            )
        item_shape = self.layout.images.item_shape
        if all(tuple(s) == item_shape for s in sizes.tolist()):
            return flat.reshape((len(sizes), *item_shape))
        starts = ends - sizes[:, 0] * sizes[:, 1]
        return [
            None if h * w == 0 else flat[start : start + h * w].reshape(h, w)
            for start, (h, w) in zip(starts.tolist(), sizes.tolist(), strict=True)
        ]

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
            side=layout.side_file,
            save_media=save_media,
        )

    def write_subset(
        self, prepared: PreparedSubset, root: Path, *, compression: str, compresslevel: int
    ) -> list[Path]:
        """Writes one prepared subset into `root`; returns the files written."""
        layout = self.layout
        prefix = self.spec.prefix_of(prepared.name)
        written = []
        labels_path = root / NamePattern(layout.labels_names[0], ()).name_for(prefix, compression)
        write_idx(labels_path, prepared.labels, layout.labels, compresslevel=compresslevel)
        written.append(labels_path)
        if prepared.images is not None:
            name = NamePattern(layout.images_names[0], ()).name_for(prefix, compression)
            write_idx(root / name, prepared.images, layout.images, compresslevel=compresslevel)
            written.append(root / name)
        if prepared.side:
            path = side_path(root, layout.side_file, prepared.name)
            write_side_file(path, layout.side_file, prepared.side, compresslevel)
            written.append(path)
        return written

    # -- detection --------------------------------------------------------------------------------
    def probe(self, path: Path) -> list[str]:
        """Evidence that `path` holds this layout; raises NotThisFormat when it does not."""
        _, found = self.subset_files(path)
        if not found:
            raise NotThisFormat(f"no file named like {self.layout.labels_names[0]}")
        evidence = []
        for files in found:
            for kind, file, tensor in (
                ("labels", files.labels, self.layout.labels),
                ("images", files.images, self.layout.images),
            ):
                if file is None:
                    continue
                try:
                    head = read_head(file, 4 + 4 * (1 + len(tensor.item_shape)))
                    check_against(read_header(head, file), tensor, file)
                except FormatError as error:
                    raise NotThisFormat(str(error)) from None
                evidence.append(f"{file.name}: {kind} of subset {files.subset!r}, header matches")
        return evidence


def subset_order(name: str) -> tuple[int, str]:
    """Train, then validation, then test, then the rest by name: the order users expect."""
    known = ("train", "val", "validation", "test")
    return (known.index(name) if name in known else len(known), name)
