"""The dataset codec for CSV layouts: one file of rows `label, pixel, ...` per subset, read with the
vectorised scanner and written with the vectorised formatter. Driven entirely by a `CsvLayout`;
categories, side files and validation are the engine's shared mechanisms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.codecs.base import Clue, LayoutCodec, SubsetFiles, SubsetWrite
from engine.codecs.csv.rows import RowFormatter, pieces_on
from engine.codecs.csv.scan import Block, CsvScanner, looks_like_header
from engine.codecs.prepare import PreparedSubset, prepare_subset
from engine.codecs.sidefile import (
    SideRows,
    check_side_count,
    read_side_lines,
    side_path,
    write_side_file,
)
from engine.compute import executors
from engine.errors import FormatError, NotThisFormat, ValidationError
from engine.io.compression import open_writer, read_head
from engine.io.regular import check_regular
from engine.model import NO_LABEL, Subset, subset_order
from engine.model.filearray import RowSpill
from specs.schema import CsvLayout, DatasetSpec, Layout


class CsvCodec(LayoutCodec[CsvLayout]):
    """Reads and writes the subsets of a dataset whose spec has a `CsvLayout`."""

    kind = CsvLayout
    label = "CSV"

    def __init__(self, spec: DatasetSpec, layout: Layout | None = None) -> None:
        super().__init__(spec, layout)
        self.name_regex = re.compile(self.layout.name_regex)
        self.pixels_per_image = math.prod(self.layout.image_shape)
        low = spec.no_label if spec.no_label is not None and spec.no_label < 0 else 0
        high = spec.max_label if spec.max_label is not None else self.layout.pixel_range[1]
        if spec.no_label is not None:
            high = max(high, spec.no_label)
        self.label_range = (low, high)

    # -- finding files ----------------------------------------------------------------------------
    def subset_files(self, path: Path) -> tuple[Path, list[SubsetFiles]]:
        """(dataset root, the subsets found); `path` is the folder or one subset's file."""
        root = path if path.is_dir() else path.parent
        candidates = (
            [path] if path.is_file() else sorted(p for p in root.iterdir() if not p.is_dir())
        )
        found: dict[str, SubsetFiles] = {}
        for candidate in candidates:
            prefix = self._prefix_of(candidate.name)
            subset = None if prefix is None else self.spec.subset_of(prefix)
            if subset is None:
                continue
            if subset in found:
                raise FormatError(
                    root,
                    f"both {found[subset].path.name} and {candidate.name} hold subset "
                    f"{subset!r}; load one of them by its path",
                )
            check_regular(candidate)  # a FIFO or a device under a subset's name: refused
            found[subset] = SubsetFiles(subset, candidate, candidate)
        return root, sorted(found.values(), key=lambda f: subset_order(f.subset))

    def _prefix_of(self, name: str) -> str | None:
        for suffix in sorted(self.layout.compressions, key=len, reverse=True):
            if name.lower().endswith(suffix):
                matched = self.name_regex.match(name[: len(name) - len(suffix)])
                if matched:
                    return matched["prefix"]
        return None

    # -- reading ----------------------------------------------------------------------------------
    def read_subset(self, root: Path, files: SubsetFiles) -> Subset:
        """Reads one subset's CSV file (and its side file, if any)."""
        side = self._read_side(root, files.subset)
        sizes = None if side is None else side.sizes
        scanner = CsvScanner(
            files.path,
            delimiter=self.layout.delimiter,
            detect_header=self.layout.header != "none",
        )
        labelled = self._has_label_column(files.path)
        labels, widths = [], []
        pixels = RowSpill(self.layout.pixel_dtype)  # in a temporary file when large
        for block in scanner:
            first_row = scanner.rows - len(block.row_lengths)
            read = self._read_block if labelled else self._read_pixels_block
            part_labels, part_pixels, part_widths = read(block, files.path, sizes, first_row)
            labels.append(part_labels)
            pixels.append(part_pixels)
            widths.append(part_widths)
        count = scanner.rows
        if side is not None and self.layout.side_file is not None:
            check_side_count(
                side_path(root, self.layout.side_file, files.subset),
                side,
                count,
                f"{count} rows in {files.path.name}",
            )
        label_column = np.concatenate(labels) if labels else np.zeros(0, np.int32)
        images = self._images(pixels.finish(), widths, sizes, count)
        return Subset(
            name=files.subset,
            labels=label_column,
            images=images,
            ids=None if side is None else side.ids,
        )

    def _read_side(self, root: Path, subset: str) -> SideRows | None:
        side = self.layout.side_file
        if side is None:
            return None
        path = side_path(root, side, subset)
        return read_side_lines(path) if path.is_file() else None

    def _read_block(
        self, block: Block, path: Path, sizes: np.ndarray | None, first_row: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(labels in the model's terms, the pixels of the rows with an image, pixels per row)."""
        lengths = block.row_lengths
        starts = block.row_starts
        expected = self._expected_lengths(sizes, first_row, len(lengths))
        wrong = (lengths != expected) & (lengths != 1)
        if wrong.any():
            self._wrong_length(block, path, int(np.argmax(wrong)), expected)
        raw_labels = block.values.take(starts).astype(np.int32)
        no_label = self.spec.no_label
        limit = self.label_range[1] if self.spec.max_label is None else self.spec.max_label
        valid = (raw_labels >= 0) & (raw_labels <= limit)
        if no_label is not None:
            valid |= raw_labels == no_label
        if not valid.all():
            self._bad_value(block, path, int(starts[np.argmax(~valid)]), "label")
        labels = raw_labels
        if no_label is not None and no_label != NO_LABEL:
            labels[raw_labels == no_label] = NO_LABEL
        width = 1 + self.pixels_per_image
        if sizes is None and (lengths == width).all():
            pixels = block.values.reshape(len(lengths), width)[:, 1:]
            positions = None
        else:
            keep = np.ones(len(block.values), dtype=bool)
            keep[starts] = False
            positions = np.flatnonzero(keep)
            pixels = block.values[positions]
        low, high = self.layout.pixel_range
        if pixels.size and (pixels.min() < low or pixels.max() > high):
            flat = np.asarray(pixels).reshape(-1)
            first = int(np.argmax((flat < low) | (flat > high)))
            if positions is None:
                row, column = divmod(first, width - 1)
                token = int(starts[row]) + 1 + column
            else:
                token = int(positions[first])
            self._bad_value(block, path, token, "pixel")
        stored = np.ascontiguousarray(pixels, dtype=self.layout.pixel_dtype).reshape(-1)
        return labels, stored, lengths - 1

    def _has_label_column(self, path: Path) -> bool:
        """False for a file of a layout whose label column is optional when its header line does
        not start with the label column's name (its rows are pixels only)."""
        if self.layout.label_column != "optional":
            return True
        first = read_head(path, 4096).removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0]
        cell = first.split(self.layout.delimiter.encode(), 1)[0].strip(b" \t\r\"'")
        return cell.decode("utf-8", "replace").lower() == self.layout.header_names[0].lower()

    def _read_pixels_block(
        self, block: Block, path: Path, sizes: np.ndarray | None, first_row: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A block of a file without label column: every row holds one image's pixels."""
        lengths = block.row_lengths
        width = self.pixels_per_image
        wrong = lengths != width
        if wrong.any():
            row = int(np.argmax(wrong))
            token = int(block.row_starts[row]) + min(int(lengths[row]), width) - 1
            line, column, _ = block.locate(token)
            raise FormatError(
                path,
                f"row has {int(lengths[row])} values; expected {width} (the pixels of an image; "
                "this file has no label column)",
                line=line,
                column=column,
                field="values per row",
                expected=width,
                actual=int(lengths[row]),
            )
        pixels = block.values.reshape(len(lengths), width)
        low, high = self.layout.pixel_range
        if pixels.size and (pixels.min() < low or pixels.max() > high):
            first = int(np.argmax((pixels.reshape(-1) < low) | (pixels.reshape(-1) > high)))
            self._bad_value(block, path, first, "pixel")
        stored = np.ascontiguousarray(pixels, dtype=self.layout.pixel_dtype).reshape(-1)
        return np.full(len(lengths), NO_LABEL, np.int32), stored, np.full(len(lengths), width)

    def _expected_lengths(self, sizes: np.ndarray | None, first: int, count: int) -> np.ndarray:
        """Values each row must hold when it has an image: the label plus the image's pixels."""
        expected = np.full(count, 1 + self.pixels_per_image, dtype=np.int64)
        if sizes is not None:
            known = sizes[first : first + count]
            expected[: len(known)] = 1 + known[:, 0] * known[:, 1]
        return expected

    def _wrong_length(self, block: Block, path: Path, row: int, expected: np.ndarray) -> None:
        found = int(block.row_lengths[row])
        wanted = int(expected[row])
        token = int(block.row_starts[row]) + min(found, wanted)
        token = min(token, int(block.row_starts[row]) + found - 1)
        line, column, _ = block.locate(token)
        shape = "x".join(str(d) for d in self.layout.image_shape)
        what = (
            f"a label and {wanted - 1} pixels"
            if wanted - 1 != self.pixels_per_image
            else f"a label and the {wanted - 1} pixels of a {shape} image"
        )
        raise FormatError(
            path,
            f"row has {found} values; expected {wanted} ({what}) or 1 (a label alone, for an "
            "item without image)",
            line=line,
            column=column,
            field="values per row",
            expected=wanted,
            actual=found,
        )

    def _bad_value(self, block: Block, path: Path, token: int, kind: str) -> None:
        line, column, text = block.locate(token)
        if kind == "label":
            low, high = 0, self.spec.max_label
            allowed = f"{low}..{high}"
            if self.spec.no_label is not None:
                allowed = (
                    f"{self.spec.no_label}..{high}"
                    if self.spec.no_label == low - 1
                    else f"{allowed} or {self.spec.no_label}"
                )
                allowed += f" ({self.spec.no_label} = no label)"
        else:
            allowed = "{}..{}".format(*self.layout.pixel_range)
        raise FormatError(
            path,
            f"{kind} {text} is outside {allowed}",
            line=line,
            column=column,
            field=kind,
            expected=allowed,
            actual=text,
        )

    def _images(
        self,
        flat: np.ndarray,
        widths: list[np.ndarray],
        sizes: np.ndarray | None,
        count: int,
    ) -> np.ndarray | list[np.ndarray | None] | None:
        """The images as one array when all share the spec's shape, else a list (None = none)."""
        per_row = np.concatenate(widths) if widths else np.zeros(0, np.int64)
        if not per_row.any():
            return None
        shape = self.layout.image_shape
        if sizes is None and (per_row == self.pixels_per_image).all():
            return flat.reshape((count, *shape))
        ends = np.cumsum(per_row)
        images: list[np.ndarray | None] = []
        for row, (end, width) in enumerate(zip(ends.tolist(), per_row.tolist(), strict=True)):
            if width == 0:
                images.append(None)
                continue
            row_shape = tuple(sizes[row]) if sizes is not None and row < len(sizes) else shape
            images.append(flat[end - width : end].reshape(row_shape))
        if all(image is not None and image.shape == shape for image in images):
            return flat.reshape((count, *shape))
        return images

    # -- writing ----------------------------------------------------------------------------------
    def prepare(self, subset: Subset, *, save_media: bool) -> PreparedSubset:
        name = self._file_name(subset.name, "")
        read_back = self._prefix_of(name)
        if read_back != self.spec.prefix_of(subset.name):
            raise ValidationError(
                f"subset {subset.name!r} cannot be stored: its file {name} would be read back "
                f"as subset {read_back!r}",
                hint="rename the subset",
            )
        layout = self.layout
        unlabeled = (
            layout.label_column == "optional"
            and len(subset) > 0
            and bool((subset.labels == NO_LABEL).all())
            and not subset.multi_labels
        )
        if unlabeled:
            subset = replace(subset, labels=np.zeros(len(subset), np.int32))
        prepared = prepare_subset(
            subset,
            image_shape=layout.image_shape,
            image_dtype=layout.pixel_dtype,
            label_dtype=layout.label_dtype,
            no_label=self.spec.no_label,
            max_label=self.spec.max_label,
            side=layout.side_file,
            save_media=save_media,
        )
        # a row holding only its label already says "no image": the side file keeps ids only
        prepared.side = SideRows(ids=prepared.side.ids)
        if unlabeled:
            if save_media and not prepared.has_image.all():
                raise ValidationError(
                    "unlabeled items without an image cannot be stored in a file without labels",
                    subset.id_column()[~prepared.has_image],
                )
            prepared.labelled = False
        return prepared

    def _file_name(self, subset: str, compression: str) -> str:
        return self.layout.file_names[0].format(prefix=self.spec.prefix_of(subset)) + compression

    def write_subset(self, prepared: PreparedSubset, root: Path, how: SubsetWrite) -> list[Path]:
        """Writes one prepared subset into `root`; returns the files written."""
        layout = self.layout
        path = root / self._file_name(prepared.name, how.compression)
        formatter = RowFormatter(self.label_range, layout.pixel_range, layout.delimiter)
        executor = executors.remote()
        with open_writer(path, how.compresslevel) as out:
            if not prepared.labelled:
                out.write(self._header_line(labelled=False).encode("utf-8"))
                images = prepared.images
                if images is None:
                    pieces: Iterable[bytes] = ()
                elif executor is not None:  # the cluster formats the rows
                    present = np.ones(len(images), dtype=bool)
                    pieces = pieces_on(executor, formatter, None, images, present)
                else:
                    pieces = formatter.pixel_pieces(images)
            else:
                if len(prepared.labels) == 0 or layout.header == "always":
                    out.write(self._header_line().encode("utf-8"))
                args = (prepared.labels, prepared.images, prepared.has_image)
                if executor is not None:
                    pieces = pieces_on(executor, formatter, *args)
                else:
                    pieces = formatter.pieces(*args)
            for piece in pieces:
                out.write(piece)
        written = [path]
        if prepared.side and layout.side_file is not None:
            side = side_path(root, layout.side_file, prepared.name)
            write_side_file(side, layout.side_file, prepared.side, how.compresslevel)
            written.append(side)
        return written

    def _header_line(self, *, labelled: bool = True) -> str:
        """A header naming the columns (for `header="detect"` written only for an empty subset,
        which has no rows; for `"always"` in every file)."""
        label, pattern = self.layout.header_names
        rows, columns = (*self.layout.image_shape, 1)[:2]
        names = [
            pattern.format(row=row + 1, col=column + 1, index=row * columns + column)
            for row in range(rows)
            for column in range(columns)
        ]
        return self.layout.delimiter.join([label, *names] if labelled else names) + "\n"

    # -- detection --------------------------------------------------------------------------------
    def probe(self, path: Path) -> tuple[list[Clue], list[SubsetFiles]]:
        """Evidence that `path` holds this layout, and the files seen; raises NotThisFormat."""
        try:
            _, found = self.subset_files(path)
        except FormatError as error:
            raise NotThisFormat(str(error)) from None
        if not found:
            raise NotThisFormat(f"no file named like {self.layout.file_names[0]}")
        evidence = []
        allowed = set(b"0123456789-, \t\r\n") | {ord(self.layout.delimiter)}
        for files in found:
            head = read_head(files.path, 256).removeprefix(b"\xef\xbb\xbf")
            first_line, _, rest = head.partition(b"\n")
            has_header = self._looks_like_header(first_line)
            if self.layout.header == "always" and not self._names_columns(first_line):
                raise NotThisFormat(f"{files.path.name}: no header line naming the columns")
            sample = rest if has_header else head
            if not set(sample) <= allowed or not (sample.strip() or has_header):
                raise NotThisFormat(f"{files.path.name}: does not start with rows of integers")
            evidence.append(Clue(1.0, f"{files.path.name}: CSV rows of subset {files.subset!r}"))
        return evidence, found

    def _looks_like_header(self, line: bytes) -> bool:
        return self.layout.header != "none" and looks_like_header(line.lstrip(b" \t"))

    def _names_columns(self, line: bytes) -> bool:
        """The header starts as this layout's: the label column's name or the first pixel's."""
        first = (
            line.split(self.layout.delimiter.encode(), 1)[0]
            .strip(b" \t\r\"'")
            .decode("utf-8", "replace")
        )
        label, pattern = self.layout.header_names
        pixel = pattern.format(row=1, col=1, index=0)
        return first.lower() in (label.lower(), pixel.lower())
