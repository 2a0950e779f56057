"""What `validate` checks: a dataset against a format's constraints and its own class list, and
files against the checksums a spec publishes. Each check returns problems and notes as text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.model import NO_LABEL, Dataset
from engine.ops.verify import IDENTICAL, SAME_CONTENT, UNKNOWN, verify_files
from specs.schema import DatasetSpec


class _Target(Protocol):
    """What these checks use of a format (the `Format` protocol offers it)."""

    @property
    def name(self) -> str:
        """The format's name."""

    @property
    def spec(self) -> DatasetSpec | None:
        """The format's spec, None for a hand-written adapter."""

    def check(self, dataset: Dataset) -> list[str]:
        """What the format cannot hold of `dataset`; writes nothing."""


@dataclass
class Report:
    """Problems (the check fails) and notes (worth knowing, not failures)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Report) -> None:
        self.problems += other.problems
        self.notes += other.notes


def format_constraints(dataset: Dataset, fmt: _Target) -> Report:
    """Whether `fmt` can hold every item, as the format itself says (nothing is written)."""
    return Report(problems=fmt.check(dataset))


def dataset_consistency(dataset: Dataset) -> Report:
    """Labels without a class name and repeated ids are problems; gaps are notes."""
    report = Report()
    classes = len(dataset.categories)
    seen = np.zeros(max(classes, 1), dtype=np.int64)
    for name, subset in dataset.subsets().items():
        labels = np.asarray(subset.labels, dtype=np.int64)
        labelled = labels[labels != NO_LABEL]
        undefined = (labels != NO_LABEL) & ((labels < 0) | (labels >= classes))
        if undefined.any():
            values = sorted(set(labels[undefined].tolist()))
            ids = subset.id_column()[undefined]
            report.problems.append(
                f"subset {name!r}: {int(undefined.sum())} items have labels {values[:5]} but there "
                f"are {classes} classes (items {', '.join(map(repr, ids[:5]))})"
            )
        if classes:
            valid = labelled[(labelled >= 0) & (labelled < classes)]
            seen[:classes] += np.bincount(valid, minlength=classes)
        unlabeled = int((labels == NO_LABEL).sum())
        if unlabeled:
            report.notes.append(f"subset {name!r}: {unlabeled} items have no label")
        if subset.images is None:
            report.notes.append(f"subset {name!r}: no images (labels only)")
        elif not subset.has_uniform_images:
            missing = sum(image is None for image in subset.images)
            if missing:
                report.notes.append(f"subset {name!r}: {missing} items have no image")
        if subset.ids is not None:
            repeated = [i for i, n in Counter(subset.ids.tolist()).items() if n > 1]
            if repeated:
                report.problems.append(
                    f"subset {name!r}: {len(repeated)} ids occur more than once "
                    f"({', '.join(map(repr, repeated[:5]))})"
                )
    empty = [dataset.categories[i] for i in range(classes) if seen[i] == 0]
    if empty and len(dataset):
        report.notes.append(f"classes without items: {', '.join(map(repr, empty[:10]))}")
    return report


def published_checksums(root: Path, fmt: _Target, *, required: bool) -> Report:
    """Compares files named like the spec's published files with their MD5s (`engine.verify`).

    A differing file is a note (a dataset of one's own uses the same names), or a problem with
    `required`, which also asks for every published file to be present.
    """
    report = Report()
    known = fmt.spec.known_files if fmt.spec is not None else ()
    if not known:
        if required:
            report.problems.append(f"{fmt.name} publishes no checksums to compare with")
        return report
    root = root if root.is_dir() else root.parent
    matched = set()
    for check in verify_files(root, [fmt]):
        if check.status == UNKNOWN:
            continue
        matched.add(check.published)
        same = check.status in (IDENTICAL, SAME_CONTENT)
        (report.notes if same or not required else report.problems).append(str(check))
    if required:
        for entry in known:
            if entry.name not in matched:
                report.problems.append(f"{entry.name}: published file not found in {root}")
    return report
