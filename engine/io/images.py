"""Image files: checking what an extension can hold, encoding and decoding in a process pool.

Workers write files themselves (only pixels travel to them, never encoded bytes back), so writing
70,000 small PNGs scales with the CPUs. Failures come back as messages, never as bare PIL errors.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from engine.compute.pool import chunk_bounds, resolve_workers, run_chunks
from engine.compute.progress import Progress
from engine.errors import ValidationError
from engine.io.regular import open_regular

#: file extensions read as images
IMAGE_EXTENSIONS = frozenset(
    {".png", ".bmp", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm"}
    | {".pnm", ".pbm"}
)
#: extensions that give back exactly the pixels written (for the channel counts they accept)
#: the most bytes one image file (a zip member, a Parquet cell) may hold: 16 MiB is a 2048x2048
#: RGBA bitmap stored raw, far past any image of this engine's datasets; readers refuse larger
#: ones from what the container declares, before inflating them (decompression bombs)
MAX_IMAGE_FILE_BYTES = 16 << 20
LOSSLESS_EXTENSIONS = frozenset({".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm"})
#: channel counts each writable extension holds (1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA)
_CHANNELS = {
    ".png": {1, 2, 3, 4},
    ".tif": {1, 2, 3, 4},
    ".tiff": {1, 2, 3, 4},
    ".bmp": {1, 3, 4},
    ".jpg": {1, 3},
    ".jpeg": {1, 3},
    ".webp": {3, 4},
    ".pgm": {1},
    ".ppm": {3},
    ".pnm": {1, 3},
}
_SIXTEEN_BIT = {".png", ".tif", ".tiff"}
_PIL_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".pgm": "PPM"}
_PIL_FORMAT |= {".ppm": "PPM", ".pnm": "PPM", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}


def normalize_ext(ext: str) -> str:
    """'.png' from 'png', '.PNG' or '.png'; ValueError for an extension we cannot write."""
    text = str(ext).strip().lower()
    text = text if text.startswith(".") else "." + text
    if text not in _CHANNELS:
        raise ValueError(f"cannot write images as {ext!r}; choose one of {sorted(_CHANNELS)}")
    return text


def _channels(image: np.ndarray) -> int | None:
    if image.ndim == 2:
        return 1
    if image.ndim == 3 and 1 <= image.shape[2] <= 4:
        return image.shape[2]
    return None


def encodable_problem(image: np.ndarray, ext: str) -> str | None:
    """Why `image` cannot be stored as `ext` without changing it, or None when it can."""
    channels = _channels(image)
    if channels is None or min(image.shape[:2], default=0) == 0:
        return f"images of shape {image.shape} are not (H, W) or (H, W, 1..4)"
    if image.dtype == np.uint16 and channels == 1:
        if ext in _SIXTEEN_BIT:
            return None
        return f"16-bit images cannot be stored as {ext}; use .png or .tif"
    if image.dtype != np.uint8:
        return f"pixels of dtype {image.dtype} cannot be stored in image files (uint8 only)"
    if channels not in _CHANNELS[ext]:
        return f"{channels}-channel images cannot be stored as {ext}"
    return None


def check_encodable(
    images: np.ndarray | Sequence[np.ndarray | None], ids: Sequence[str], ext: str
) -> None:
    """Raises ValidationError naming every item whose image `ext` cannot hold."""
    problems: dict[str, list[str]] = {}
    if isinstance(images, np.ndarray) and len(images):
        problem = encodable_problem(images[0], ext)
        if problem:
            problems[problem] = list(ids)
    else:
        for image, item_id in zip(images, ids, strict=True):
            if image is None:
                continue
            problem = encodable_problem(np.asarray(image), ext)
            if problem:
                problems.setdefault(problem, []).append(item_id)
    if problems:
        problem, bad = next(iter(problems.items()))
        raise ValidationError(
            problem,
            bad,
            hint="convert the images (e.g. grayscale=True) or choose another image_ext",
        )


def encode_image(image: np.ndarray, ext: str, compresslevel: int = 6) -> bytes:
    """The bytes of `image` (H, W[, C]) stored as `ext`."""
    from PIL import Image  # Pillow is imported by the first image encoded or decoded

    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.uint8 and array.ndim == 2:  # the common case, without fromarray's probing
        height, width = array.shape
        picture = Image.frombuffer("L", (width, height), array.tobytes(), "raw", "L", 0, 1)
    else:
        picture = Image.fromarray(np.ascontiguousarray(array))
    options: dict = {}
    if ext == ".png":
        options["compress_level"] = compresslevel
    elif ext in (".jpg", ".jpeg"):
        options["quality"] = 95
    elif ext == ".webp":
        options["lossless"] = True
    buffer = io.BytesIO()
    picture.save(buffer, format=_PIL_FORMAT[ext], **options)
    return buffer.getvalue()


def _write_chunk(
    directory: str, paths: Sequence[str], images: Sequence[np.ndarray], ext: str, level: int
) -> list[tuple[int, str]]:
    """Worker: encodes and writes one chunk of images; returns (index, message) per failure."""
    failures = []
    for index, (relative, image) in enumerate(zip(paths, images, strict=True)):
        try:
            data = encode_image(image, ext, level)
        except (OSError, ValueError, TypeError, KeyError) as error:
            failures.append((index, f"{type(error).__name__}: {error}"))
            continue
        write_new_file(f"{directory}/{relative}", data)
    return failures


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def write_new_file(path: str, data: bytes) -> None:
    """Creates `path` (which must not exist) holding `data`: one system call each to create,
    write and close, without the buffered file object `open()` builds (a third of the time of
    writing 70,000 small PNGs went there)."""
    fd = os.open(path, _NEW_FILE | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _encode_chunk(images: Sequence[np.ndarray], ext: str, level: int) -> list[bytes | str]:
    """Worker: encodes one chunk of images; a failure is returned as its message (a str)."""
    out: list[bytes | str] = []
    for image in images:
        try:
            out.append(encode_image(image, ext, level))
        except (OSError, ValueError, TypeError, KeyError) as error:
            out.append(f"{type(error).__name__}: {error}")
    return out


def write_image_files(
    directory: Path,
    relative_paths: Sequence[str],
    images: np.ndarray | Sequence[np.ndarray],
    ids: Sequence[str],
    *,
    ext: str,
    compresslevel: int = 6,
    workers: int | None = None,
    progress: bool | None = None,
) -> None:
    """Writes image i to `directory / relative_paths[i]` (checked, unique paths) in a pool."""
    count = len(relative_paths)
    for parent in {p.rpartition("/")[0] for p in relative_paths} - {""}:
        (directory / parent).mkdir(parents=True, exist_ok=True)
    processes = resolve_workers(workers, count)
    bounds = chunk_bounds(count, processes)
    chunks = [
        (str(directory), list(relative_paths[a:b]), images[a:b], ext, compresslevel)
        for a, b in bounds
    ]
    with Progress(count, "writing images", enabled=progress) as bar:
        results = run_chunks(
            _write_chunk, chunks, workers=processes, sizes=[b - a for a, b in bounds], progress=bar
        )
    _raise_failures(results, bounds, ids, "could not be encoded as " + ext)


def encode_images(
    images: np.ndarray | Sequence[np.ndarray],
    ids: Sequence[str],
    *,
    ext: str,
    compresslevel: int = 6,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[bytes]:
    """The encoded bytes of every image, in order (for archives), encoded in a pool."""
    count = len(images)
    processes = resolve_workers(workers, count)
    bounds = chunk_bounds(count, processes)
    chunks = [(images[a:b], ext, compresslevel) for a, b in bounds]
    with Progress(count, "encoding images", enabled=progress) as bar:
        results = run_chunks(
            _encode_chunk, chunks, workers=processes, sizes=[b - a for a, b in bounds], progress=bar
        )
    blobs = [blob for chunk in results for blob in chunk]
    bad = [ids[i] for i, blob in enumerate(blobs) if isinstance(blob, str)]
    if bad:
        first = next(blob for blob in blobs if isinstance(blob, str))
        raise ValidationError(f"images could not be encoded as {ext} ({first})", bad)
    return cast(list[bytes], blobs)  # no error message (str) is left after the check above


def _raise_failures(results, bounds, ids, what: str) -> None:
    bad, first = [], ""
    for (start, _), failures in zip(bounds, results, strict=True):
        for index, message in failures:
            bad.append(ids[start + index])
            first = first or message
    if bad:
        raise ValidationError(f"images {what} ({first})", bad)


# -- decoding -------------------------------------------------------------------------------------
def decode_image(source: str | Path | bytes) -> np.ndarray:
    """Pixels of an image file (or its bytes) as uint8/uint16 (H, W[, C]); raises on bad data.

    Palette images become RGB(A) and 1-bit images 0/255 grey, so pixels mean intensities.
    """
    from PIL import Image

    # a name is opened as a regular file only: a FIFO would block Pillow, /dev/zero never end
    stream = io.BytesIO(source) if isinstance(source, bytes) else open_regular(source)
    with stream, Image.open(stream) as picture:
        picture.load()
        mode = picture.mode
        if mode == "P":
            has_alpha = "transparency" in picture.info
            picture = picture.convert("RGBA" if has_alpha else "RGB")
        elif mode == "PA":
            picture = picture.convert("RGBA")
        elif mode == "1":
            picture = picture.convert("L")
        elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            picture = picture.convert("RGB")
        elif mode.startswith("I;16"):
            return np.asarray(picture).astype(np.uint16)
        return np.asarray(picture)


def _decode_chunk(sources: Sequence[str | bytes]) -> list[np.ndarray | str]:
    """Worker: decodes one chunk; a file that is not a readable image gives its message (a str)."""
    out: list[np.ndarray | str] = []
    for source in sources:
        try:
            out.append(decode_image(source))
        # Pillow raises many types for bad data (OSError, SyntaxError, ValueError, struct.error,
        # DecompressionBombError...); every one means "not a readable image" here.
        except Exception as error:
            out.append(_describe(error))
    return out


def _describe(error: Exception) -> str:
    text = re.sub(r" '?<_io\.BytesIO object at 0x[0-9a-f]+>'?", "", str(error))
    return f"not a readable image ({text or type(error).__name__})"


def decode_images(
    sources: Sequence[str | bytes],
    *,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[np.ndarray | str]:
    """Decodes files (paths) or encoded bytes in a pool; a failure is returned as its message."""
    count = len(sources)
    processes = resolve_workers(workers, count)
    bounds = chunk_bounds(count, processes)
    chunks = [(list(sources[a:b]),) for a, b in bounds]
    with Progress(count, "reading images", enabled=progress) as bar:
        results = run_chunks(
            _decode_chunk, chunks, workers=processes, sizes=[b - a for a, b in bounds], progress=bar
        )
    return [image for chunk in results for image in chunk]
