"""Knowing one's data: ``validate`` (format checks, consistency and quality findings with
duplicates) and ``report`` (one self-contained HTML page of it all, with pictures)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.model import Dataset
from engine.ops.quality import QualityReport, assess
from engine.registry import get_format


def validate(
    dataset: Dataset,
    format: Any = None,
    *,
    targets: Sequence[Any] = (),
    duplicates: bool = True,
    near: bool = True,
    threshold: float | None = None,
) -> QualityReport:
    """The dataset's problems and its quality, in one report.

    Problems: what ``format`` (a name or a Format; the one it was read from, say) and each of
    ``targets`` cannot hold, labels without a class, ids repeated in a subset. Quality: class
    balance per subset (counts, imbalance ratio), unlabeled items, blank, near-blank, faint or
    inverted images, values out of range, ids in several subsets and, with ``duplicates``,
    duplicate pairs and train/test leakage (``engine.find_duplicates`` with ``near`` and
    ``threshold``). ``report.failed(parse_rules("leakage,imbalance>3"))`` judges it.
    """
    from engine.ops.checks import dataset_consistency, format_constraints

    report = assess(dataset, duplicates=duplicates, near=near, threshold=threshold)
    if format is not None:
        fmt = get_format(format) if isinstance(format, str) else format
        report.problems += format_constraints(dataset, fmt).problems
    for target in targets:
        fmt = get_format(target) if isinstance(target, str) else target
        report.problems += [
            f"as {fmt.name}: {p}" for p in format_constraints(dataset, fmt).problems
        ]
    consistency = dataset_consistency(dataset)
    report.problems += consistency.problems
    report.notes += consistency.notes
    return report


def report(
    dataset: Dataset,
    path: str | Path,
    *,
    title: str | None = None,
    format: Any = None,
    duplicates: bool = True,
    near: bool = True,
    threshold: float | None = None,
) -> Path:
    """Writes one self-contained HTML page about ``dataset`` to ``path`` (atomically): the info
    table, class histograms per subset, mean image and samples per class, the findings of
    ``validate`` (with ``format``, ``duplicates``, ``near``, ``threshold``) and the duplicate
    pairs. Pictures are embedded PNGs; the page loads nothing from elsewhere."""
    from engine.io.atomic_file import write_file_atomically
    from engine.ops.report_html import report_page

    target = Path(path)
    quality = validate(dataset, format, duplicates=duplicates, near=near, threshold=threshold)
    page = report_page(dataset, quality, title=title or target.stem)
    return write_file_atomically(target, page.encode("utf-8"))
