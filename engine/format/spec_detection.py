"""Ranks how surely a folder holds a spec's dataset: names and headers first, then the strong
clues that tell formats sharing one layout apart (published checksums, labels.txt).
"""

from __future__ import annotations

from pathlib import Path

from engine.codecs.base import Clue, Codec, SubsetFiles
from engine.codecs.idx.container import declared_content_size
from engine.errors import EngineError
from engine.io.categories import load_categories
from engine.io.checksums import compare, stem_of
from engine.io.compression import compression_of
from specs.schema import DatasetSpec, IdxLayout

#: A published checksum or a labels.txt naming the classes outweighs any number of name matches.
CHECKSUM_WEIGHT = 10.0
CLASSES_WEIGHT = 5.0
#: What a spec sharing another's layout loses when no strong clue names it: it yields the tie.
DEFER_PENALTY = 0.5
#: Only files this small are hashed during detection (label files; never the image files).
MAX_HASHED_BYTES = 4 << 20


def score(spec: DatasetSpec, codec: Codec, path: Path) -> tuple[float, list[str], dict]:
    """(score, evidence, load options) for `path`; raises NotThisFormat when it does not fit."""
    clues, found = codec.probe(path)
    root = path if path.is_dir() else path.parent
    variants = sorted({files.variant for files in found if files.variant is not None})
    options = {spec.variant_option: variants[0]} if len(variants) == 1 else {}
    strong = checksum_clues(spec, found) + classes_clues(spec, root, variants)
    total = sum(c.weight for c in clues) + sum(c.weight for c in strong)
    evidence = [c.text for c in [*clues, *strong]]
    if len(variants) > 1:
        evidence.append(f"several {spec.variant_option}s here: {', '.join(variants)}")
    if spec.shares_layout_with and not strong and codec.layout is spec.layout:
        total -= DEFER_PENALTY
        evidence.append(
            f"same layout as {spec.shares_layout_with}, and no checksum or labels.txt names "
            f"{spec.name}"
        )
    return total, evidence, options


def checksum_clues(spec: DatasetSpec, found: list[SubsetFiles]) -> list[Clue]:
    """A clue per small label file whose MD5 (or content MD5) is a published one of this spec.

    Only label files are hashed (kilobytes to a few MB); image files would make detection slow.
    """
    by_stem: dict[str, list] = {}
    for known in spec.known_files:
        by_stem.setdefault(stem_of(known.name), []).append(known)
    clues = []
    for files in found:
        file = files.labels
        if file is None or stem_of(file.name) not in by_stem:
            continue
        if file.stat().st_size <= MAX_HASHED_BYTES:
            idx = isinstance(spec.layout, IdxLayout)
            clues.extend(_checksum_clue(file, by_stem[stem_of(file.name)], idx))
    return clues


def classes_clues(spec: DatasetSpec, root: Path, variants: list[str]) -> list[Clue]:
    """A clue when labels.txt or dataset_meta.json lists exactly this spec's class names."""
    try:
        names = load_categories(root, ())
    except EngineError:
        return []
    if not names:
        return []
    expected = [spec.variant(v).classes for v in variants] if variants else [spec.classes]
    if any(tuple(names) == tuple(classes) for classes in expected):
        return [Clue(CLASSES_WEIGHT, f"the class names beside the files are {spec.name}'s")]
    return []


def _checksum_clue(file: Path, known: list, idx: bool) -> list[Clue]:
    try:
        # a small file may inflate to gigabytes: hash no further than its IDX header declares
        limit = declared_content_size(file) if idx and compression_of(file) else None
        matches = compare(file, known, limit)
    except EngineError:
        return []
    hit = next((m for m in matches if m.status != "differs"), None)
    if hit is None:
        return []
    how = "is" if hit.status == "identical" else "has the content of"
    return [Clue(CHECKSUM_WEIGHT, f"{file.name} {how} the published file")]
