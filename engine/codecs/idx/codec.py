"""The dataset codec for IDX layouts: finds a spec's image/label files per subset, reads them into
the columnar model, and writes prepared subsets back. Driven entirely by the spec's `IdxLayout`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.codecs.base import Clue, LayoutCodec, SubsetFiles, SubsetWrite
from engine.codecs.idx.container import (
    check_against,
    read_header,
    read_idx,
    read_idx_flat,
    write_idx,
)
from engine.codecs.idx.label_table import is_table, join_table, split_table
from engine.codecs.idx.streamed import read_idx_spilled
from engine.codecs.names import NamePattern, find_variant_files
from engine.codecs.prepare import PreparedSubset, prepare_tensors
from engine.codecs.sidefile import SideRows, read_side_file, side_path, write_side_file
from engine.errors import FormatError, NotThisFormat
from engine.io.compression import read_head
from engine.io.regular import check_regular
from engine.model import NO_LABEL, Subset, subset_order
from specs.schema import IdxLayout, RowRange


class IdxCodec(LayoutCodec[IdxLayout]):
    """Reads and writes the subsets of a dataset whose spec has an `IdxLayout`."""

    kind = IdxLayout
    label = "IDX"

    # -- finding files ----------------------------------------------------------------------------
    def subset_files(
        self, path: Path, variant: str | None = None
    ) -> tuple[Path, list[SubsetFiles]]:
        """(dataset root, the subsets found); `path` is the folder or one file of a subset.

        With `variant`, only files of that variant count; files whose prefix is not this
        format's (see `DatasetSpec.other_subset_prefix`) are ignored.
        """
        root = path if path.is_dir() else path.parent
        layout = self.layout
        variants = [v.name for v in self.spec.variants]
        images = find_variant_files(root, layout.images_names, layout.compressions, variants)
        labels = {
            key: (file, layout.labels)
            for key, file in find_variant_files(
                root, layout.labels_names, layout.compressions, variants
            ).items()
        }
        for alternative in layout.labels_alternatives:
            extra = find_variant_files(root, alternative.names, layout.compressions, variants)
            for key, file in extra.items():
                labels.setdefault(key, (file, alternative.tensor))
        found = []
        for key in set(labels) | set(images):
            file_variant, prefix = key
            subset = self.spec.subset_of(prefix)
            if subset is None or (variant is not None and file_variant != variant):
                continue
            labels_file, tensor = labels.get(key, (None, None))
            found.append(
                SubsetFiles(subset, labels_file, images.get(key), tensor, file_variant, prefix)
            )
        found.sort(key=lambda files: (subset_order(files.subset), files.variant or ""))
        if path.is_file():
            found = [f for f in found if path in (f.labels, f.images)]
        return root, found

    def load_subsets(
        self, path: Path, *, subset: str | None, variant: str | None
    ) -> tuple[Path, list[Subset], str | None]:
        """(root, the subsets read, the variant they belong to) for `load`."""
        root, found = self.subset_files(path, variant)
        present = sorted({f.variant for f in found if f.variant is not None})
        if variant is None and len(present) > 1:
            raise ValueError(
                f"{path}: holds several {self.spec.name} {self.spec.variant_option}s "
                f"({', '.join(present)}); pass {self.spec.variant_option}=... to choose one"
            )
        chosen = variant if variant is not None else (present[0] if present else None)
        if subset is not None:
            wanted = [files for files in found if files.subset == subset]
            view = self.spec.subset_views.get(subset)
            if not wanted and view is not None:
                return root, [self.read_view(root, found, subset, view)], chosen
            found = wanted
        return root, [self.read_subset(root, files) for files in found], chosen

    def read_view(self, root: Path, found: list[SubsetFiles], name: str, view: RowRange) -> Subset:
        """The subset `name` that is rows `view.start:view.stop` of subset `view.source`."""
        sources = [files for files in found if files.subset == view.source]
        if not sources:
            raise FileNotFoundError(
                f"{root}: subset {name!r} is rows of subset {view.source!r}, whose files are absent"
            )
        source = self.read_subset(root, sources[0])
        path = sources[0].labels or sources[0].images
        needed = view.stop if view.stop is not None else view.start + 1
        if len(source) < needed:
            raise FormatError(
                path,
                f"subset {name!r} is rows {view.start}..{view.stop or 'end'} of "
                f"{view.source!r}, which holds only {len(source)} items",
                field="dims[0]",
                expected=needed,
                actual=len(source),
            )
        rows = slice(view.start, view.stop)
        return Subset(
            name=name,
            labels=source.labels[rows],
            images=None if source.images is None else source.images[rows],
            ids=None if source.ids is None else source.ids[rows],
            attributes={key: column[rows] for key, column in source.attributes.items()},
        )

    # -- reading ----------------------------------------------------------------------------------
    def read_subset(self, root: Path, files: SubsetFiles) -> Subset:
        """Reads one subset's label and image files (and its side file, if any)."""
        layout = self.layout
        labels = None
        attributes: dict[str, np.ndarray] = {}
        if files.labels is not None:
            tensor = files.labels_tensor or layout.labels
            labels = read_idx(files.labels, tensor)
            if is_table(tensor):
                labels, attributes = split_table(labels, tensor, layout.label_column)
        side = self._read_side(root, files.subset, labels)
        images = None
        if files.images is not None:
            if side is not None and side.sizes is not None:
                images = self._read_ragged(files.images, side.sizes, root, files.subset)
            else:
                count = None if labels is None else len(labels)
                tolerate = layout.header_count_may_be_element_count
                images = read_idx_spilled(
                    files.images, layout.images, count=count, tolerate_element_count=tolerate
                )
                if images is None:
                    images = read_idx(
                        files.images, layout.images, count=count, tolerate_element_count=tolerate
                    )
        if labels is None:
            assert images is not None  # a subset has a labels file, an images file or both
            model_labels = np.full(len(images), NO_LABEL, dtype=np.int32)
        else:
            model_labels = self._model_labels(labels)
        return Subset(
            name=files.subset,
            labels=model_labels,
            images=images,
            ids=None if side is None else side.ids,
            attributes=attributes,
        )

    def _model_labels(self, raw: np.ndarray) -> np.ndarray:
        labels = raw.astype(np.int32)
        if self.spec.no_label is not None:
            labels[raw == self.spec.no_label] = NO_LABEL
        return labels

    def _read_side(self, root: Path, subset: str, labels: np.ndarray | None) -> SideRows | None:
        side = self.layout.side_file
        if side is None or labels is None:
            return None
        path = side_path(root, side, subset)
        if not path.exists():
            return None
        check_regular(path)  # a FIFO or a device: refused, not passed over
        return read_side_file(path, side, len(labels))

    def _read_ragged(self, path: Path, sizes: np.ndarray, root: Path, subset: str):
        """Images whose sizes a side file gives: consecutive h*w runs of pixels; 0x0 = no image."""
        header, flat = read_idx_flat(path, self.layout.images)
        ends = np.cumsum(sizes[:, 0] * sizes[:, 1])
        total = int(ends[-1]) if len(ends) else 0
        if total != len(flat):
            assert self.layout.side_file is not None  # sizes come from the side file
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
        """Validates a subset for writing; labels tables get their attribute columns joined."""
        layout = self.layout
        prepared = prepare_tensors(
            subset,
            self.spec,
            (layout.images, layout.labels),
            layout.side_file,
            save_media=save_media,
        )
        if is_table(layout.labels):
            prepared.labels = join_table(
                prepared.labels, subset, layout.labels, layout.label_column
            )
        return prepared

    def write_subset(self, prepared: PreparedSubset, root: Path, how: SubsetWrite) -> list[Path]:
        """Writes one prepared subset into `root`; returns the files written."""
        layout = self.layout
        prefix = self.spec.prefix_of(prepared.name)
        written = []
        labels_name = NamePattern(layout.labels_names[0], ()).name_for(
            prefix, how.compression, how.variant
        )
        labels_path = root / labels_name
        write_idx(labels_path, prepared.labels, layout.labels, compresslevel=how.compresslevel)
        written.append(labels_path)
        if prepared.images is not None:
            pattern = NamePattern(layout.images_names[0], ())
            name = pattern.name_for(prefix, how.compression, how.variant)
            write_idx(root / name, prepared.images, layout.images, compresslevel=how.compresslevel)
            written.append(root / name)
        if prepared.side and layout.side_file is not None:
            path = side_path(root, layout.side_file, prepared.name)
            write_side_file(path, layout.side_file, prepared.side, how.compresslevel)
            written.append(path)
        return written

    # -- detection --------------------------------------------------------------------------------
    def probe(self, path: Path) -> tuple[list[Clue], list[SubsetFiles]]:
        """Evidence from names and headers that `path` holds this layout, and the files seen.

        A file of a subset the spec publishes (or names) counts 1, one of another subset 0.5, so
        a specific name pattern beats a generic one. Raises NotThisFormat when nothing fits.
        """
        _, found = self.subset_files(path)
        if not found:
            raise NotThisFormat(f"no file named like {self.layout.labels_names[0]}")
        known = {*self.spec.subsets, *self.spec.subset_prefixes, *self.spec.subset_views}
        clues = []
        for files in found:
            weight = 1.0 if files.subset in known else 0.5
            for kind, file, tensor in (
                ("labels", files.labels, files.labels_tensor or self.layout.labels),
                ("images", files.images, self.layout.images),
            ):
                if file is None:
                    continue
                try:
                    head = read_head(file, 4 + 4 * (1 + len(tensor.item_shape)))
                    check_against(read_header(head, file), tensor, file)
                except FormatError as error:
                    raise NotThisFormat(str(error)) from None
                where = f"subset {files.subset!r}"
                if files.variant is not None:
                    where += f" of {self.spec.variant_option} {files.variant!r}"
                clues.append(Clue(weight, f"{file.name}: {kind} of {where}, header matches"))
        return clues, found
