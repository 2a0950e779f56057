"""Near-duplicate search on pixels, no model: a cheap descriptor finds candidate pairs by blocked
matrix products (numpy's BLAS), and each candidate is confirmed on the full 28x28 pixels.

The steps, for uint8 grey images of 28x28 (``canonical_images`` makes them from any image):

1. Background: pixels at or below ``FLOOR`` grey levels count as empty (faint noise is ignored).
2. Descriptor: the image moved (bilinear, sub-pixel) so that its centre of mass is the centre,
   averaged in 2x2 blocks (14x14 = 196 values), centred and scaled to unit length. A shifted copy
   gets the same descriptor; added noise barely moves it.
3. Candidates: pairs whose descriptors have a cosine of at least ``CANDIDATE_COSINE``; all pairs
   in blocks of ``BLOCK`` rows up to ``ALL_PAIRS_LIMIT`` images (exact: memory is bounded by one
   block product, never n^2), and beyond that random-hyperplane hashing (LSH), comparing only
   images whose hashes agree in one of several tables (see ``lsh_bits`` and ``lsh_plan``).
4. Confirmation: the second image is aligned on the first by the rounded difference of their
   centres of mass (at most ``MAX_SHIFT`` pixels each way; both roundings where it is close to
   a half); the distance is the share of ink pixels (above ``TOLERANCE`` in either image) whose
   grey levels differ by more than ``TOLERANCE``. 0 is identical after alignment, 1 disjoint.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: grey levels at or below this are background (noise of sigma 8 stays under it 99.9% of the time)
FLOOR = 26
#: two pixels differ when their grey levels are more than this apart
TOLERANCE = 32
#: the default distance threshold: at most this share of the ink pixels differ
DEFAULT_THRESHOLD = 0.10
#: candidate pairs: descriptors at least ``candidate_cosine(threshold)`` similar, never less
#: than this; confirmed on pixels afterwards
MIN_CANDIDATE_COSINE = 0.5
#: the largest alignment tried when confirming, in pixels each way
MAX_SHIFT = 2
#: rows per block of the candidate search (a block product holds BLOCK x BLOCK float32)
BLOCK = 4096
#: up to this many distinct images every pair is compared; beyond it, LSH buckets
ALL_PAIRS_LIMIT = 100_000
#: LSH: the bucket size aimed at, and the recall aimed at for a pair at LSH_COSINE
LSH_BUCKET = 1024
LSH_COSINE = 0.97
LSH_RECALL = 0.999
#: LSH: at most this many bits per table
LSH_MAX_BITS = 30
#: LSH: buckets smaller than this are compared together, this many images a block product
LSH_GROUP = 768
#: images per step when computing descriptors and confirming (bounds the temporary arrays)
STEP = 8192

SIDE = 28
_CELL = 2


def candidate_cosine(threshold: float) -> float:
    """The descriptor cosine a pair needs to be confirmed at all, for a distance threshold:
    0.95 at the default 0.10, lower for larger thresholds (0.87 at 0.3, 0.80 at 0.4).

    Measured, not proven: on the 10,000 MNIST test digits every pair within 0.2 / 0.3 / 0.4 had a
    cosine of at least 0.98 / 0.96 / 0.84, and planted copies (shifted, noisy) at least 0.987.
    """
    return max(MIN_CANDIDATE_COSINE, 0.96 - threshold * threshold)


def centres_of_mass(images: np.ndarray) -> np.ndarray:
    """(n, 2) float32 row and column of each image's centre of ink (the middle for blank ones),
    STEP images at a time."""
    out = np.empty((len(images), 2), dtype=np.float32)
    for start in range(0, len(images), STEP):
        stop = min(start + STEP, len(images))
        out[start:stop] = _centres_step(images[start:stop])
    return out


def _centres_step(images: np.ndarray) -> np.ndarray:
    ink = np.where(images > FLOOR, images, 0).astype(np.float32)
    total = ink.sum(axis=(1, 2))
    axis = np.arange(SIDE, dtype=np.float32)
    rows = (ink.sum(axis=2) * axis).sum(axis=1)
    cols = (ink.sum(axis=1) * axis).sum(axis=1)
    safe = np.where(total > 0, total, 1)
    centre = np.stack([rows / safe, cols / safe], axis=1)
    centre[total == 0] = (SIDE - 1) / 2
    return centre


def descriptors(images: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n, 196) float32 unit vectors (zero for blank images), computed STEP images at a time."""
    out = np.zeros((len(images), (SIDE // _CELL) ** 2), dtype=np.float32)
    for start in range(0, len(images), STEP):
        stop = min(start + STEP, len(images))
        out[start:stop] = _descriptor_step(images[start:stop], centres[start:stop])
    return out


def _descriptor_step(images: np.ndarray, centres: np.ndarray) -> np.ndarray:
    ink = np.where(images > FLOOR, images, 0).astype(np.float32) / 255
    moved = _recentre(ink, centres)
    count, cells = len(images), SIDE // _CELL
    small = moved.reshape(count, cells, _CELL, cells, _CELL).mean(axis=(2, 4)).reshape(count, -1)
    small -= small.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(small, axis=1, keepdims=True)
    return np.divide(small, norms, out=np.zeros_like(small), where=norms > 1e-6)


def _recentre(ink: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each image moved by a sub-pixel amount (bilinear) so its centre of mass is the middle;
    images moved by the same whole pixels are moved together, by slicing."""
    pad = 8
    middle = (SIDE - 1) / 2
    move = np.clip(middle - centres, -(pad - 1), pad - 1)  # (n, 2): rows, cols
    whole = np.floor(move).astype(np.int64)
    part = (move - whole).astype(np.float32)
    padded = np.pad(ink, ((0, 0), (pad, pad), (pad, pad)))
    out = np.empty_like(ink)
    keys = whole[:, 0] * 64 + whole[:, 1]
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        top, left = pad - int(whole[rows[0], 0]), pad - int(whole[rows[0], 1])
        fy, fx = part[rows, 0, None, None], part[rows, 1, None, None]
        block = padded[rows]
        # out[y, x] = in[y - whole - d]: d = 0 weighs 1 - fraction, d = 1 weighs the fraction
        out[rows] = (1 - fy) * (
            (1 - fx) * block[:, top : top + SIDE, left : left + SIDE]
            + fx * block[:, top : top + SIDE, left - 1 : left - 1 + SIDE]
        ) + fy * (
            (1 - fx) * block[:, top - 1 : top - 1 + SIDE, left : left + SIDE]
            + fx * block[:, top - 1 : top - 1 + SIDE, left - 1 : left - 1 + SIDE]
        )
    return out


@dataclass(frozen=True)
class Images:
    """The prepared images: pixels (n, 28, 28) uint8, centres (n, 2), descriptors (n, 196)."""

    pixels: np.ndarray
    centres: np.ndarray
    vectors: np.ndarray

    @classmethod
    def prepare(cls, pixels: np.ndarray) -> Images:
        centres = centres_of_mass(pixels)
        return cls(pixels, centres, descriptors(pixels, centres))

    def part(
        self, rows: np.ndarray | slice, buckets: np.ndarray | None = None
    ) -> tuple[np.ndarray | None, ...]:
        """(descriptors, pixels, centres, ids, keys) of some rows, as ``block_pairs`` takes
        them; ``buckets`` (None, or LSH keys: a row per image, a column per table so far) keeps
        only pairs whose first shared bucket is in the last column."""
        ids = np.arange(*rows.indices(len(self.pixels))) if isinstance(rows, slice) else rows
        keys = None if buckets is None else buckets[rows]
        return self.vectors[rows], self.pixels[rows], self.centres[rows], ids, keys


def block_pairs(
    left: tuple[Any, ...],
    right: tuple[Any, ...],
    same: bool,
    cosine: float,
    threshold: float,
    tolerance: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The confirmed pairs of one block product: (global ids, global ids, distances).

    ``left`` and ``right`` are (descriptors, pixels, centres, global ids, bucket keys or None).
    Candidates have a cosine of at least ``cosine`` (and the same bucket key, when given); each
    is kept when its pixel distance is at most ``threshold``. With ``same`` (a run against
    itself) each pair comes once, never an image with itself. A module-level function, so an
    executor can run it anywhere.
    """
    products = left[0] @ right[0].T
    hits = np.flatnonzero(products.max(axis=1) >= cosine)  # few rows have any: look only there
    rows, cols = np.nonzero(products[hits] >= cosine)
    rows = hits[rows]
    del products
    keep = rows < cols if same else np.ones(len(rows), dtype=bool)
    if left[4] is not None and right[4] is not None:  # LSH: this table is the first they share
        agree = left[4][rows] == right[4][cols]
        keep &= agree[:, -1] & ~agree[:, :-1].any(axis=1)
    rows, cols = rows[keep], cols[keep]
    if not len(rows):
        return left[3][:0], right[3][:0], np.zeros(0, dtype=np.float32)
    distance = confirm(left[1][rows], left[2][rows], right[1][cols], right[2][cols], tolerance)
    keep = distance <= threshold
    return left[3][rows[keep]], right[3][cols[keep]], distance[keep]


def all_pairs_blocks(count: int, block: int | None = None) -> Iterator[tuple[slice, slice, bool]]:
    """The block products covering every pair of ``count`` images once (lazily); ``block`` rows
    a side (default BLOCK)."""
    block = block or BLOCK
    for i in range(0, count, block):
        for j in range(i, count, block):
            yield slice(i, min(i + block, count)), slice(j, min(j + block, count)), i == j


def lsh_plan(count: int, bits: int | None = None) -> tuple[int, int]:
    """(bits per table, tables): ``bits`` (default: buckets of LSH_BUCKET images if the images
    were spread evenly), and enough tables that a pair at cosine LSH_COSINE shares a bucket in
    one of them with probability LSH_RECALL.

    A random hyperplane separates two unit vectors at angle t with probability t / pi (Charikar
    2002), so k bits agree with probability (1 - t / pi)^k and L tables miss with
    (1 - (1 - t / pi)^k)^L.
    """
    if bits is None:
        bits = max(1, math.ceil(math.log2(max(count, 2) / LSH_BUCKET)))
    agree = (1 - math.acos(LSH_COSINE) / math.pi) ** bits
    tables = max(1, math.ceil(math.log(1 - LSH_RECALL) / math.log(1 - agree)))
    return bits, tables


def lsh_bits(vectors: np.ndarray, seed: int = 0) -> int:
    """The fewest bits from ``lsh_plan``'s upwards whose buckets give each image at most about
    LSH_BUCKET others to compare with (the sum of squared bucket sizes over the images), measured
    on the images: digits bunch in few directions, so even buckets need more bits than log2."""
    start = lsh_plan(len(vectors))[0]
    rng = np.random.default_rng(seed + 1)
    planes = rng.standard_normal((vectors.shape[1], LSH_MAX_BITS)).astype(np.float32)
    signs = _signs(vectors, planes)
    for bits in range(start, LSH_MAX_BITS):
        keys = signs >> np.int64(LSH_MAX_BITS - bits)  # the first ``bits`` planes
        _, sizes = np.unique(keys, return_counts=True)
        if float((sizes.astype(np.float64) ** 2).sum()) / len(vectors) <= LSH_BUCKET:
            return bits
    return LSH_MAX_BITS


def _signs(vectors: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """Per image, the sides of the planes as one integer (the first plane the highest bit)."""
    weights = 1 << np.arange(planes.shape[1] - 1, -1, -1, dtype=np.int64)
    keys = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), STEP * 8):
        part = vectors[start : start + STEP * 8]
        keys[start : start + len(part)] = ((part @ planes) > 0).astype(np.int64) @ weights
    return keys


def lsh_blocks(
    vectors: np.ndarray, bits: int, tables: int, seed: int = 0, block: int | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, bool, np.ndarray]]:
    """Block products over the images sharing a bucket, table by table, lazily, each with the
    rows' keys in this table and the ones before (a pair is kept only in the first table where it
    shares a bucket, so it is confirmed once). Small buckets go together, up to LSH_GROUP images
    a product, so that one product serves many buckets."""
    block = block or BLOCK
    rng = np.random.default_rng(seed)
    keys = np.empty((len(vectors), tables), dtype=np.int64)
    for table in range(tables):
        planes = rng.standard_normal((vectors.shape[1], bits)).astype(np.float32)
        keys[:, table] = _signs(vectors, planes)
    for table in range(tables):
        column = keys[:, table]
        order = np.argsort(column, kind="stable")
        bounds = np.flatnonzero(np.diff(column[order])) + 1
        group: list[np.ndarray] = []
        size = 0
        for members in np.split(order, bounds):
            if len(members) < 2:
                continue
            if len(members) >= LSH_GROUP:
                for i in range(0, len(members), block):
                    for j in range(i, len(members), block):
                        left, right = members[i : i + block], members[j : j + block]
                        yield left, right, i == j, keys[:, : table + 1]
                continue
            if size + len(members) > LSH_GROUP:
                together = np.concatenate(group)
                yield together, together, True, keys[:, : table + 1]
                group, size = [], 0
            group.append(members)
            size += len(members)
        if group:
            together = np.concatenate(group)
            yield together, together, True, keys[:, : table + 1]


def confirm(
    first: np.ndarray,
    first_centres: np.ndarray,
    second: np.ndarray,
    second_centres: np.ndarray,
    tolerance: int = TOLERANCE,
) -> np.ndarray:
    """The pixel distance of each pair (first[k], second[k]), float32 in [0, 1], STEP pairs at a
    time."""
    out = np.empty(len(first), dtype=np.float32)
    for start in range(0, len(first), STEP):
        part = slice(start, min(start + STEP, len(first)))
        out[part] = _confirm_step(
            first[part], first_centres[part], second[part], second_centres[part], tolerance
        )
    return out


def _confirm_step(
    first: np.ndarray,
    first_centres: np.ndarray,
    second: np.ndarray,
    second_centres: np.ndarray,
    tolerance: int,
) -> np.ndarray:
    offset = second_centres - first_centres  # how far the second's ink lies below/right
    nearest = np.clip(np.rint(offset), -MAX_SHIFT, MAX_SHIFT).astype(np.int64)
    other = np.clip(
        np.where(offset >= nearest, nearest + 1, nearest - 1), -MAX_SHIFT, MAX_SHIFT
    ).astype(np.int64)
    close_call = np.abs(np.abs(offset - nearest) - 0.5) < 0.25  # near a half: try both
    other = np.where(close_call, other, nearest)
    left = first
    padded = np.pad(second, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT)))
    best = np.ones(len(first), dtype=np.float32)
    for rows_from, cols_from in ((nearest, nearest), (other, nearest), (nearest, other)):
        moved = _shifted(padded, rows_from[:, 0], cols_from[:, 1])
        best = np.minimum(best, _differing_share(left, moved, tolerance))
        if not close_call.any():
            break
    both = close_call.all(axis=1)
    if both.any():
        moved = _shifted(padded[both], other[both, 0], other[both, 1])
        best[both] = np.minimum(best[both], _differing_share(left[both], moved, tolerance))
    return best


def _differing_share(first: np.ndarray, second: np.ndarray, tolerance: int) -> np.ndarray:
    """Per pair of uint8 images: pixels more than ``tolerance`` apart / ink pixels of either."""
    high, low = np.maximum(first, second), np.minimum(first, second)
    differ = np.count_nonzero((high - low) > tolerance, axis=(1, 2))
    ink = np.count_nonzero(high > tolerance, axis=(1, 2))
    return (differ / np.maximum(ink, 1)).astype(np.float32)


def _shifted(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Each padded image's 28x28 window moved by (rows, cols): out[y, x] = image[y+rows, x+cols]."""
    out = np.empty((len(padded), SIDE, SIDE), dtype=padded.dtype)
    for dy in np.unique(rows):
        for dx in np.unique(cols):
            pick = (rows == dy) & (cols == dx)
            if pick.any():
                y, x = MAX_SHIFT + int(dy), MAX_SHIFT + int(dx)
                out[pick] = padded[pick, y : y + SIDE, x : x + SIDE]
    return out
