"""PNG for the MNIST family's 8-bit grey pixels without a Pillow image per item: a direct zlib
encoder (a few times faster than Pillow) and a batch decoder (numpy undoes the row filters of a
whole batch at once); Pillow handles every other kind of image.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Sequence

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


_END = _chunk(b"IEND", b"")


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """The PNG file of `image` (H, W) or (H, W, C) uint8/uint16; grey uint8 is encoded directly."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2 and array.dtype == np.uint8:
        height, width = array.shape
        rows = np.zeros((height, width + 1), dtype=np.uint8)  # filter byte 0 = "None" per row
        rows[:, 1:] = array
        header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
        body = zlib.compress(rows.tobytes(), level)
        return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _END
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def encode_pngs(images: np.ndarray, level: int = 6) -> list[bytes]:
    """PNG files of a batch of images (N, H, W) uint8, sharing one header and one row buffer."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        return [encode_png(image, level) for image in images]
    count, height, width = images.shape
    rows = np.zeros((count, height * (width + 1)), dtype=np.uint8)
    rows.reshape(count, height, width + 1)[:, :, 1:] = images
    head = _SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    compress = zlib.compress
    return [head + _chunk(b"IDAT", compress(row, level)) + _END for row in rows]


def decode_pngs(
    blobs: Sequence[bytes], *, workers: int | None = None, progress: bool | None = False
) -> list[np.ndarray | str]:
    """Decodes a batch of image files: 8-bit grey PNGs (the MNIST family's) all at once with numpy,
    any other file with Pillow in the image pool (`workers`); a bad file gives its message (str)."""
    from engine.io.images import decode_images

    return _decode_pngs(blobs, lambda rest: decode_images(rest, workers=workers, progress=progress))


def _decode_pngs(blobs: Sequence[bytes], fallback: Callable[[list], list]) -> list:
    """Decodes the grey PNGs of a batch with numpy and the rest through `fallback`.

    Inflating is one zlib call per image; undoing the PNG row filters runs across the whole
    batch row by row, so the cost per image is a few microseconds instead of a Pillow decode.
    """
    out: list = [None] * len(blobs)
    groups: dict[tuple[int, int], list[tuple[int, bytes]]] = {}
    slow = []
    for index, blob in enumerate(blobs):
        parsed = _grey_scanlines(blob)
        if parsed is None:
            slow.append(index)
        else:
            groups.setdefault(parsed[0], []).append((index, parsed[1]))
    for (height, width), members in groups.items():
        raw = np.frombuffer(b"".join(data for _, data in members), np.uint8)
        images, bad = _unfilter(raw.reshape(len(members), height, width + 1))
        for position, (index, _) in enumerate(members):
            if bad[position]:
                slow.append(index)
            else:
                out[index] = images[position]
    if slow:
        slow.sort()
        for index, image in zip(slow, fallback([blobs[i] for i in slow]), strict=True):
            out[index] = image
    return out


def _grey_scanlines(blob: bytes) -> tuple[tuple[int, int], bytes] | None:
    """((height, width), inflated filtered rows) of an 8-bit grey non-interlaced PNG, else None
    (then Pillow decides, and reports a broken file in its words)."""
    view = memoryview(blob)
    if len(view) < 33 or view[:8] != _SIGNATURE or view[12:16] != b"IHDR":
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", view[16:29])
    if depth != 8 or colour != 0 or interlace != 0 or not 0 < width * height <= 1 << 24:
        return None
    position, parts = 33, []
    while position + 8 <= len(view):
        (length,) = struct.unpack(">I", view[position : position + 4])
        tag = view[position + 4 : position + 8]
        if tag == b"IDAT":
            parts.append(view[position + 8 : position + 8 + length])
        elif tag == b"IEND":
            break
        position += 12 + length
    expected = height * (width + 1)
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(b"".join(parts), expected)
    except zlib.error:
        return None
    if len(data) != expected or not inflater.eof:
        return None
    return (height, width), data


def _unfilter(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undoes PNG filters on a batch (N, H, W+1) of rows -> (images (N, H, W), bad filter mask)."""
    height = raw.shape[1]
    filters = raw[:, :, 0]
    rows = raw[:, :, 1:]
    bad = np.asarray((filters > 4).any(axis=1))
    if not filters.any():
        return np.ascontiguousarray(rows), bad
    out = np.empty_like(rows)
    previous = np.zeros_like(rows[:, 0])
    for r in range(height):
        kind = filters[:, r]
        line = rows[:, r].copy()
        for code, undo in ((1, _sub), (2, _up), (3, _average), (4, _paeth)):
            chosen = kind == code
            if chosen.any():
                line[chosen] = undo(rows[chosen, r], previous[chosen])
        out[:, r] = line
        previous = line
    return out, bad


def _sub(line: np.ndarray, _: np.ndarray) -> np.ndarray:
    return np.cumsum(line, axis=1, dtype=np.uint8)


def _up(line: np.ndarray, above: np.ndarray) -> np.ndarray:
    return line + above


def _average(line: np.ndarray, above: np.ndarray) -> np.ndarray:
    result = line.astype(np.int16)
    up = above.astype(np.int16)
    left = np.zeros(len(line), np.int16)
    for x in range(line.shape[1]):
        left = (result[:, x] + ((left + up[:, x]) >> 1)) & 0xFF
        result[:, x] = left
    return result.astype(np.uint8)


def _paeth(line: np.ndarray, above: np.ndarray) -> np.ndarray:
    result = line.astype(np.int16)
    up = above.astype(np.int16)
    left = np.zeros(len(line), np.int16)
    corner = np.zeros(len(line), np.int16)
    for x in range(line.shape[1]):
        b = up[:, x]
        guess = left + b - corner
        dist_a, dist_b, dist_c = np.abs(guess - left), np.abs(guess - b), np.abs(guess - corner)
        pick = np.where(
            (dist_a <= dist_b) & (dist_a <= dist_c), left, np.where(dist_b <= dist_c, b, corner)
        )
        left = (result[:, x] + pick) & 0xFF
        result[:, x] = left
        corner = b
    return result.astype(np.uint8)
