"""`cifar`: CIFAR-10's Python layout, a pickled batch per subset plus `batches.meta`.

Each batch file (named after its subset, no extension) holds `filenames` (`<id><ext>`), `labels`
(None for an unlabeled item) and `data`: one row per image, the pixels flattened channel by
channel (CHW). Images that are not 32x32 add `image_sizes` ((height, width) per item), as
Datumaro does. Single-channel images (MNIST) are stored as three equal channels, so every CIFAR
reader (Datumaro, torchvision) loads them, and an `image_channels` list (1 or 3 per item) lets this
reader give them back as (H, W) grey images. CIFAR-100 batches (`fine_labels`, `coarse_labels`,
`meta`) are read too; the coarse class goes into the `coarse_label` attribute.

Reading goes through a restricted unpickler (engine.io.safepickle): a batch naming any global other
than numpy's array reconstruction is a FormatError and nothing in it runs.
"""

from __future__ import annotations

import pickle
import posixpath
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from engine.errors import FormatError, NotThisFormat, ValidationError
from engine.format import Adapter, Detection, LoadOptions, SaveOptions
from engine.io.categories import META_FILE
from engine.io.imagefolder import natural_key
from engine.io.paths import NameUse
from engine.io.regular import open_regular
from engine.io.safepickle import load_restricted
from engine.model import NO_LABEL, Dataset, Subset, stack_images, subset_order
from formats._common import (
    check_subset_names,
    image_list,
    read_meta,
    save_meta,
)

T = TypeVar("T")

META_10 = "batches.meta"
META_100 = "meta"
NOT_BATCHES = {META_100, "file.txt~"}
IMAGE_SIZE = (32, 32)
#: the classes of CIFAR-10, used when a folder has no meta file (as Datumaro does)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


# -- writing --------------------------------------------------------------------------------------
def _check_pixels(subset: Subset, images: list[np.ndarray | None]) -> None:
    """Only uint8 grey or RGB images fit a CIFAR row; anything else is named, nothing written."""
    bad: dict[str, list[str]] = {}
    for index, image in enumerate(images):
        if image is None:
            continue
        channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else 0
        if image.dtype != np.uint8:
            problem = f"pixels of dtype {image.dtype} (cifar holds uint8)"
        elif channels not in (1, 3):
            problem = f"images of shape {image.shape} (cifar holds grey or RGB)"
        else:
            continue
        bad.setdefault(problem, []).append(subset.id_at(index))
    if bad:
        problem, ids = next(iter(bad.items()))
        raise ValidationError(
            f"{problem} cannot be stored", ids, hint="convert them first, e.g. grayscale=True"
        )


def _rows(images: list[np.ndarray | None], uniform: np.ndarray | None):
    """(data, sizes, channels): CHW rows (an array when uniform, else an object array)."""
    if uniform is not None:
        grey = uniform.ndim == 3 or uniform.shape[3] == 1
        pixels = uniform.reshape(uniform.shape[:3]) if grey else uniform
        if grey:
            pixels = np.repeat(pixels[:, None, :, :], 3, axis=1)
        else:
            pixels = pixels.transpose(0, 3, 1, 2)
        count, height, width = len(uniform), uniform.shape[1], uniform.shape[2]
        data: np.ndarray = np.ascontiguousarray(pixels).reshape(count, -1)
        return data, [(height, width)] * count, [1 if grey else 3] * count
    rows: list[np.ndarray | None] = []
    sizes, channels = [], []
    for image in images:
        if image is None:
            rows.append(None)
            sizes.append(IMAGE_SIZE)
            channels.append(3)
            continue
        grey = image.ndim == 2 or image.shape[2] == 1
        chw = np.stack([image.reshape(image.shape[:2])] * 3) if grey else image.transpose(2, 0, 1)
        rows.append(np.ascontiguousarray(chw).reshape(-1))
        sizes.append(tuple(image.shape[:2]))
        channels.append(1 if grey else 3)
    data = np.empty(len(rows), dtype=object)
    data[:] = rows
    return data, sizes, channels


def batch_for(subset: Subset, classes: tuple[str, ...], ext: str, save_media: bool) -> dict:
    """The dict pickled for one subset."""
    ids = subset.id_column()
    if subset.multi_labels:
        raise ValidationError(
            "items with several labels cannot be stored in cifar",
            [ids[i] for i in sorted(subset.multi_labels)],
        )
    labels = np.asarray(subset.labels)
    beyond = (labels >= len(classes)) | ((labels < 0) & (labels != NO_LABEL))
    if beyond.any():
        raise ValidationError(
            f"label indices outside the {len(classes)} class names",
            ids[beyond],
            hint="give the dataset its class names",
        )
    batch: dict[str, Any] = {
        "batch_label": f"{subset.name} batch",
        "filenames": [f"{item_id}{ext}" for item_id in ids],
        "labels": [None if value == NO_LABEL else int(value) for value in labels.tolist()],
    }
    images = image_list(subset) if save_media else []
    if not any(image is not None for image in images):
        batch["data"] = np.zeros((0, 3 * IMAGE_SIZE[0] * IMAGE_SIZE[1]), dtype=np.uint8)
        return batch
    _check_pixels(subset, images)
    uniform = subset.images if isinstance(subset.images, np.ndarray) else None
    data, sizes, channels = _rows(images, uniform)
    batch["data"] = data
    if any(size != IMAGE_SIZE for size in sizes):
        batch["image_sizes"] = sizes
    if any(c == 1 for c in channels):
        batch["image_channels"] = channels
    return batch


# -- reading --------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _field(batch: dict, *names: str) -> Any:
    for name in names:
        if name in batch:
            return batch[name]
    return None


def _as_list(path: Path, name: str, value: Any, count: int | None) -> list:
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        value = list(value)
    if not isinstance(value, list | tuple):
        raise FormatError(path, field=name, expected="a list", actual=type(value).__name__)
    if count is not None and len(value) != count:
        raise FormatError(
            path,
            f"{name!r} has {len(value)} entries where there are {count} items",
            field=name,
            expected=count,
            actual=len(value),
        )
    return list(value)


def _labels(path: Path, raw: list, classes: Sequence[str]) -> np.ndarray:
    labels = np.full(len(raw), NO_LABEL, dtype=np.int32)
    for row, value in enumerate(raw):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise FormatError(
                path,
                f"labels[{row}] is {value!r}",
                field="labels",
                expected="a class index",
                actual=type(value).__name__,
            )
        if not 0 <= int(value) < len(classes):
            raise FormatError(
                path,
                f"labels[{row}] is {int(value)}, outside the {len(classes)} classes",
                field="labels",
                expected=f"0..{len(classes) - 1}",
                actual=int(value),
            )
        labels[row] = int(value)
    return labels


def _sizes(path: Path, raw: list, count: int) -> list[tuple[int, int]]:
    if not raw:
        return [IMAGE_SIZE] * count
    sizes = []
    for row, pair in enumerate(raw):
        try:
            height, width = (int(v) for v in pair)
        except (TypeError, ValueError):
            raise FormatError(
                path,
                f"image_sizes[{row}] is {pair!r}",
                field="image_sizes",
                expected="(height, width)",
                actual=repr(pair)[:40],
            ) from None
        if height < 0 or width < 0:
            raise FormatError(path, f"image_sizes[{row}] is negative", field="image_sizes")
        sizes.append((height, width))
    return sizes


def _pixels(path: Path, row: int, values: Any, size: tuple[int, int], grey: bool) -> np.ndarray:
    """One CHW row back to (H, W, 3), or (H, W) for an item stored grey."""
    flat = np.asarray(values)
    height, width = size
    if flat.size != 3 * height * width:
        raise FormatError(
            path,
            f"data[{row}] holds {flat.size} values; 3x{height}x{width} = {3 * height * width} "
            "were expected",
            field="data",
            expected=3 * height * width,
            actual=flat.size,
        )
    image = _as_uint8(path, row, flat).reshape(3, height, width).transpose(1, 2, 0)
    return _grey(path, row, image) if grey else image


def _as_uint8(path: Path, row: int, values: np.ndarray) -> np.ndarray:
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind not in "iuO" or not values.size:
        if values.size == 0:
            return values.astype(np.uint8)
        raise FormatError(path, f"data[{row}] has dtype {values.dtype}", field="data")
    try:
        numbers = values.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        raise FormatError(path, f"data[{row}] holds values that are not numbers") from None
    if numbers.min() < 0 or numbers.max() > 255:
        raise FormatError(
            path,
            f"data[{row}] holds values outside 0..255",
            field="data",
            expected="0..255",
            actual=f"{numbers.min()}..{numbers.max()}",
        )
    return numbers.astype(np.uint8)


def _grey(path: Path, row: int, image: np.ndarray) -> np.ndarray:
    if not (
        np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 0], image[..., 2])
    ):
        raise FormatError(
            path,
            f"item {row} is marked single-channel in image_channels but its channels differ",
            field="image_channels",
        )
    return image[..., 0]


def read_batch(path: Path, classes: Sequence[str], coarse_names: Sequence[str]) -> Subset:
    """One subset from its batch file."""
    batch = load_restricted(path)
    if not isinstance(batch, dict):
        raise FormatError(
            path, field="batch", expected="a dict of fields", actual=type(batch).__name__
        )
    batch = {_text(key): value for key, value in batch.items()}
    raw_labels = _field(batch, "labels", "fine_labels")
    filenames = _field(batch, "filenames")
    data = _field(batch, "data")
    lengths = [len(v) for v in (raw_labels, filenames) if v is not None]
    if data is not None and len(data):
        lengths.append(len(data))
    count = lengths[0] if lengths else 0
    labels = _labels(path, _as_list(path, "labels", raw_labels, count), classes)
    if raw_labels is None:
        labels = np.full(count, NO_LABEL, dtype=np.int32)
    names = [_text(n) for n in _as_list(path, "filenames", filenames, count)]
    ids = [posixpath.splitext(n)[0] for n in names] if names else None
    images = None
    if data is not None and len(data):
        images = _images(path, batch, data, count)
    attributes = {}
    coarse = _as_list(path, "coarse_labels", batch.get("coarse_labels"), count)
    if coarse and coarse_names:
        attributes["coarse_label"] = np.array(
            [
                None if c is None or not 0 <= int(c) < len(coarse_names) else coarse_names[int(c)]
                for c in coarse
            ],
            dtype=object,
        )
    return Subset(
        name=path.name,
        labels=labels,
        images=images,
        ids=None if ids is None else np.array(ids, dtype=object),
        attributes=attributes,
    )


def _images(path: Path, batch: dict, data: Any, count: int):
    sizes = _sizes(path, _as_list(path, "image_sizes", batch.get("image_sizes"), count), count)
    channels = _as_list(path, "image_channels", batch.get("image_channels"), count) or [3] * count
    if any(c not in (1, 3) for c in channels):
        raise FormatError(
            path, field="image_channels", expected="1 or 3 per item", actual=channels[:5]
        )
    if (
        isinstance(data, np.ndarray)
        and data.ndim == 2
        and data.dtype != object
        and len(set(sizes)) == 1
    ):
        height, width = sizes[0]
        if data.shape[1] != 3 * height * width:
            raise FormatError(
                path,
                f"data rows hold {data.shape[1]} values; 3x{height}x{width} = "
                f"{3 * height * width} were expected",
                field="data",
                expected=3 * height * width,
                actual=data.shape[1],
            )
        pixels = _as_uint8(path, 0, data).reshape(count, 3, height, width).transpose(0, 2, 3, 1)
        if all(c == 1 for c in channels):
            if not (
                np.array_equal(pixels[..., 0], pixels[..., 1])
                and np.array_equal(pixels[..., 0], pixels[..., 2])
            ):
                raise FormatError(
                    path,
                    "items marked single-channel have differing channels",
                    field="image_channels",
                )
            return np.ascontiguousarray(pixels[..., 0])
        if all(c == 3 for c in channels):
            return np.ascontiguousarray(pixels)
        return [
            _grey(path, i, p) if c == 1 else p
            for i, (p, c) in enumerate(zip(pixels, channels, strict=True))
        ]
    rows = _as_list(path, "data", data, count)
    return stack_images(
        [
            None if values is None else _pixels(path, i, values, sizes[i], channels[i] == 1)
            for i, values in enumerate(rows)
        ]
    )


def _classes(root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(class names, coarse class names): dataset_meta.json, then batches.meta or meta."""
    coarse: tuple[str, ...] = ()
    for name in (META_10, META_100):
        path = root / name
        if path.exists():  # a FIFO or a folder of that name is refused, not passed over
            meta = load_restricted(path)
            if not isinstance(meta, dict):
                raise FormatError(path, field="meta", expected="a dict", actual=type(meta).__name__)
            meta = {_text(k): v for k, v in meta.items()}
            names = _field(meta, "label_names", "fine_label_names")
            coarse = tuple(
                _text(n)
                for n in _as_list(path, "coarse_label_names", meta.get("coarse_label_names"), None)
            )
            if names is not None:
                fine = tuple(_text(n) for n in _as_list(path, "label_names", names, None))
                return read_meta(root) or fine, coarse
    return read_meta(root) or CIFAR10_CLASSES, coarse


def _guarded(path: Path, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, with a field of a type or shape the checks did not foresee (an int
    where a list belongs, a 0-d array, ragged rows) a FormatError naming `path`."""
    try:
        return function(*args)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as error:
        raise FormatError(
            path,
            f"a field has an unexpected type or shape ({type(error).__name__}: {error})"[:300],
        ) from None
    except MemoryError:
        raise FormatError(path, "a field asks for more memory than is available") from None


def _batch_files(root: Path) -> list[Path]:
    """The batches: files without an extension that are pickles, what `owns` claims (a kept
    README or LICENSE is the user's and is not read either); a FIFO or a device under such a
    name is listed, to be refused when read."""
    return sorted(
        (
            p
            for p in root.iterdir()
            if not p.suffix
            and not p.name.startswith(".")
            and p.name not in NOT_BATCHES
            and (_looks_pickled(p) if p.is_file() else p.exists() and not p.is_dir())
        ),
        key=lambda p: (subset_order(p.name), natural_key(p.name)),
    )


class CifarFormat(Adapter[SaveOptions, LoadOptions]):
    """CIFAR-10/100 Python batches."""

    name = "cifar"
    description = "CIFAR-10/100 Python pickled batches (data_batch_N, test_batch, batches.meta)"
    id_names: ClassVar[NameUse] = "file"  # ids become the batch's filenames: no "", ".", "..", "/"

    def detect(self, path: Path) -> Detection:
        path = Path(path)
        root = path if path.is_dir() else path.parent
        evidence = []
        for name in (META_10, META_100):
            if (root / name).is_file() and _looks_pickled(root / name):
                evidence.append(f"{name}: a pickle")
        if not evidence:
            raise NotThisFormat("no batches.meta or meta")
        batches = [p.name for p in _batch_files(root) if _looks_pickled(p)]
        if not batches:
            raise NotThisFormat("no batch files")
        evidence.append(f"batches: {', '.join(batches[:6])}")
        return Detection(self.name, 2.0 + (len(evidence) > 1), evidence)

    def owns(self, entry: Path) -> bool:
        """The meta files, batch files (pickles without an extension) and dataset_meta.json."""
        if entry.name in (META_10, META_100, META_FILE):
            return entry.is_file()
        return entry.is_file() and "." not in entry.name and _looks_pickled(entry)

    def read(self, path: Path, subset: str | None, opts: LoadOptions) -> Dataset:
        root = path if path.is_dir() else path.parent
        files = [path] if path.is_file() else _batch_files(root)
        if subset is not None:
            files = [f for f in files if f.name == subset]
        if not files:
            wanted = f" named {subset!r}" if subset is not None else ""
            raise FormatError(
                path, f"no cifar batch files{wanted} found (only meta files)", field="batches"
            )
        classes, coarse = _guarded(root / META_10, _classes, root)
        return Dataset([_guarded(f, read_batch, f, classes, coarse) for f in files], classes)

    def plan(self, dataset: Dataset, opts: SaveOptions) -> None:
        self._batches(dataset, opts)

    def write(self, dataset: Dataset, directory: Path, opts: SaveOptions) -> None:
        subsets = list(dataset.subsets().values())
        classes = dataset.categories
        batches = self._batches(dataset, opts)
        meta = {
            "label_names": list(classes),
            "num_cases_per_batch": max(map(len, subsets), default=0),
        }
        with open(directory / META_10, "wb") as file:
            pickle.dump(meta, file, protocol=4)
        for name, batch in batches.items():
            with open(directory / name, "wb") as file:
                pickle.dump(batch, file, protocol=4)
        if opts.save_dataset_meta:
            save_meta(directory, classes)

    def _batches(self, dataset: Dataset, opts: SaveOptions) -> dict[str, dict]:
        """One batch per subset, named after it; ValidationError for what a batch cannot hold."""
        subsets = list(dataset.subsets().values())
        check_subset_names(subsets, flat=True)
        reserved = [s.name for s in subsets if s.name in (META_10, *NOT_BATCHES) or "." in s.name]
        if reserved:
            raise ValidationError(
                "cifar batch files are named after their subsets: these names are reserved or "
                "hold a '.' (batch files have no extension)",
                reserved,
            )
        classes = dataset.categories
        return {s.name: batch_for(s, classes, opts.image_ext, opts.save_media) for s in subsets}


def _looks_pickled(path: Path) -> bool:
    """Pickles of protocol 2 and up start with the PROTO opcode 0x80."""
    try:
        with open_regular(path) as file:
            head = file.read(2)
    except (OSError, FormatError):
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


FORMAT = CifarFormat()
