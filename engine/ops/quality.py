"""Data quality beside the format checks: class balance per subset, unlabeled items, blank and
faint or inverted images, values out of the usual range, repeated ids, duplicates and leakage.

``assess`` measures; ``parse_rules`` and ``QualityReport.failed`` turn ``--fail-on
leakage,imbalance>3`` into pass or fail. ``engine.validate`` adds the format checks on top.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.errors import UsageError
from engine.model import NO_LABEL, Dataset, Subset
from engine.ops.duplicates import DuplicateReport, find_duplicates

#: an image is near-blank when fewer than this share of its pixels are ink
NEAR_BLANK_SHARE = 0.02
#: ink: above this share of the full scale (26 of 255)
INK_LEVEL = 0.1
#: faint: the brightest pixel below this share of the full scale
FAINT_LEVEL = 0.5
#: inverted: the mean of the border pixels above this share of the full scale (dark digits on a
#: light background; MNIST's digits are light on black)
INVERTED_LEVEL = 0.5
#: images measured per step (bounds the temporary arrays)
STEP = 8192


@dataclass
class SubsetQuality:
    """What was measured of one subset."""

    items: int
    #: items per class name, in class order (every class, zeros too)
    classes: dict[str, int]
    unlabeled: int
    #: largest class count / smallest; None when a class has no item
    imbalance: float | None
    no_image: int = 0
    #: constant images (one grey level everywhere)
    blank: int = 0
    #: images with fewer than NEAR_BLANK_SHARE of their pixels above INK_LEVEL (blank excluded)
    near_blank: int = 0
    #: images whose brightest pixel is below FAINT_LEVEL (blank and near-blank excluded)
    faint: int = 0
    #: images with a light border (dark digit on light background)
    inverted: int = 0
    #: images with values outside the type's range for pixels (floats outside 0..1, other
    #: integers outside 0..255)
    out_of_range: int = 0
    #: ids that occur more than once in the subset
    repeated_ids: int = 0


@dataclass
class QualityReport:
    """Format problems and notes (``engine.validate``), per subset measurements, duplicates."""

    subsets: dict[str, SubsetQuality] = field(default_factory=dict)
    #: ids present in more than one subset, among subsets with ids of their own (row numbers as
    #: ids repeat in every subset and are not counted)
    ids_in_several_subsets: int = 0
    duplicates: DuplicateReport | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """No format or consistency problem (quality findings are judged by rules)."""
        return not self.problems

    def metrics(self) -> dict[str, float]:
        """The figures rules test: counts over all subsets, and the largest imbalance ratio."""
        parts = list(self.subsets.values())
        ratios = [p.imbalance if p.imbalance is not None else math.inf for p in parts if p.items]
        totals = self.duplicates.totals() if self.duplicates is not None else {}
        return {
            "problems": len(self.problems),
            "imbalance": max(ratios, default=1.0),
            "unlabeled": sum(p.unlabeled for p in parts),
            "blank": sum(p.blank + p.near_blank for p in parts),
            "faint": sum(p.faint for p in parts),
            "inverted": sum(p.inverted for p in parts),
            "range": sum(p.out_of_range for p in parts),
            "ids": sum(p.repeated_ids for p in parts),
            "duplicates": totals.get("exact", 0) + totals.get("near", 0),
            "exact": totals.get("exact", 0),
            "near": totals.get("near", 0),
            "leakage": totals.get("leaked", 0),
            "disagree": totals.get("disagree", 0),
        }

    def failed(self, rules: list[Rule]) -> list[str]:
        """The rules that fail, each as ``rule (found value)``."""
        figures = self.metrics()
        return [
            f"{rule} (found {_figure(figures[rule.name])})"
            for rule in rules
            if figures[rule.name] > rule.limit
        ]

    def to_dict(self, pair_limit: int | None = 100) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problems": self.problems,
            "notes": self.notes,
            "subsets": {
                name: {**asdict(q), "imbalance": _json_ratio(q.imbalance)}
                for name, q in self.subsets.items()
            },
            "ids_in_several_subsets": self.ids_in_several_subsets,
            "metrics": {k: _json_ratio(v) for k, v in self.metrics().items()},
            "duplicates": None
            if self.duplicates is None
            else self.duplicates.to_dict(limit=pair_limit),
        }


def _json_ratio(value: float | None) -> float | int | None:
    if value is None or math.isinf(value):
        return None
    return round(value, 4) if isinstance(value, float) else value


def _figure(value: float) -> str:
    return "no items in a class" if math.isinf(value) else f"{value:g}"


def assess(
    dataset: Dataset,
    *,
    duplicates: bool = True,
    near: bool = True,
    threshold: float | None = None,
) -> QualityReport:
    """Measures every subset, ids across subsets and (with ``duplicates``) duplicate pairs."""
    report = QualityReport()
    names = list(dataset.categories)
    for name, subset in dataset.subsets().items():
        report.subsets[name] = _measure(subset, names)
    seen: Counter[str] = Counter()
    for subset in dataset.subsets().values():
        if not subset.default_ids:
            seen.update(set(subset.id_column().tolist()))
    report.ids_in_several_subsets = sum(1 for count in seen.values() if count > 1)
    if duplicates:
        report.duplicates = find_duplicates(dataset, near=near, threshold=threshold)
    return report


def _measure(subset: Subset, names: list[str]) -> SubsetQuality:
    labels = np.asarray(subset.labels, dtype=np.int64)
    labelled = labels[(labels >= 0) & (labels < len(names))]
    counts = np.bincount(labelled, minlength=len(names)) if len(names) else np.zeros(0, int)
    imbalance: float | None = None
    if len(names) and counts.min() > 0:
        imbalance = float(counts.max() / counts.min())
    ids = subset.id_column()
    quality = SubsetQuality(
        items=len(subset),
        classes={name: int(count) for name, count in zip(names, counts, strict=True)},
        unlabeled=int((labels == NO_LABEL).sum()),
        imbalance=imbalance,
        repeated_ids=len(ids) - len(set(ids.tolist())),
    )
    if subset.images is None:
        quality.no_image = len(subset)
    elif isinstance(subset.images, np.ndarray):
        for start in range(0, len(subset), STEP):
            _count_images(quality, subset.images[start : start + STEP])
    else:
        for image in subset.images:
            if image is None:
                quality.no_image += 1
            else:
                _count_images(quality, np.asarray(image)[None])
    return quality


def _count_images(quality: SubsetQuality, images: np.ndarray) -> None:
    """Adds the findings of a batch of images of one shape (n, H, W[, C])."""
    if not images.size:
        return
    flat = images.reshape(len(images), -1)
    if images.dtype.kind not in "fiub":  # not numbers: nothing else can be measured
        quality.out_of_range += len(images)
        return
    if images.dtype.kind == "f":
        scale, low = 1.0, 0.0
        values = np.nan_to_num(flat.astype(np.float32), nan=-1.0)
        quality.out_of_range += int(((values < 0) | (values > 1)).any(axis=1).sum())
    elif images.dtype.kind in "iu":
        scale, low = 255.0, 0.0
        values = flat
        if images.dtype != np.uint8:
            quality.out_of_range += int(((flat < 0) | (flat > 255)).any(axis=1).sum())
    else:  # booleans: ink is True
        scale, low, values = 1.0, 0.0, flat.astype(np.uint8)
    top, bottom = values.max(axis=1), values.min(axis=1)
    blank = top == bottom
    ink = (values > low + INK_LEVEL * scale).sum(axis=1)
    near_blank = ~blank & (ink < NEAR_BLANK_SHARE * flat.shape[1])
    faint = ~blank & ~near_blank & (top < FAINT_LEVEL * scale)
    quality.blank += int(blank.sum())
    quality.near_blank += int(near_blank.sum())
    quality.faint += int(faint.sum())
    if images.ndim >= 3 and images.shape[1] > 2 and images.shape[2] > 2:
        border = np.concatenate(
            [
                images[:, 0].reshape(len(images), -1),
                images[:, -1].reshape(len(images), -1),
                images[:, 1:-1, 0].reshape(len(images), -1),
                images[:, 1:-1, -1].reshape(len(images), -1),
            ],
            axis=1,
        ).astype(np.float64)
        quality.inverted += int((~blank & (border.mean(axis=1) > INVERTED_LEVEL * scale)).sum())


# -- rules ---------------------------------------------------------------------------------------

#: rule names and what they test (every rule fails when its figure is above its limit)
RULES = {
    "leakage": "pairs of duplicates across subsets",
    "duplicates": "pairs of duplicates, exact or near",
    "exact": "pairs of identical images",
    "near": "pairs of near-duplicate images",
    "disagree": "pairs of duplicates whose labels differ",
    "imbalance": "largest class count / smallest in a subset (needs a limit: imbalance>3)",
    "unlabeled": "items without a label",
    "blank": "blank or near-blank images",
    "faint": "faint images (brightest pixel under half the scale)",
    "inverted": "images with a light border (dark digits on light)",
    "range": "images with values out of the usual range",
    "ids": "ids repeated within a subset",
    "problems": "format and consistency problems",
}
_RULE = re.compile(r"^\s*([a-z]+)\s*(?:>\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*)?$")


@dataclass(frozen=True)
class Rule:
    """A rule of ``--fail-on``: fails when the figure ``name`` is above ``limit``."""

    name: str
    limit: float

    def __str__(self) -> str:
        return f"{self.name}>{self.limit:g}" if self.limit else self.name


def parse_rules(text: str) -> list[Rule]:
    """Rules from ``leakage,imbalance>3,unlabeled>100``: NAME (fails above 0) or NAME>NUMBER;
    a UsageError names the first bad rule and the known names."""
    rules = []
    for word in text.split(","):
        if not word.strip():
            continue
        match = _RULE.match(word)
        name = match.group(1) if match else ""
        if not match or name not in RULES:
            shown = word.strip() if len(word.strip()) <= 60 else word.strip()[:60] + "..."
            raise UsageError(
                f"--fail-on: {shown!r} is not a rule; write NAME or NAME>NUMBER with "
                f"NAME one of {', '.join(RULES)}"
            )
        if name == "imbalance" and match.group(2) is None:
            raise UsageError(
                "--fail-on: imbalance needs a limit, e.g. --fail-on 'imbalance>3' (quote the "
                "rules: unquoted, the shell reads >3 as a redirection)"
            )
        rules.append(Rule(name, float(match.group(2) or 0)))
    if not rules:
        raise UsageError("--fail-on: name at least one rule, e.g. --fail-on 'leakage,imbalance>3'")
    return rules
