"""One self-contained HTML page about a dataset: the info table, class histograms per subset, the
mean image of each class, sample images per class, the quality findings and the duplicate pairs.

Histograms are HTML bars with their counts as text (exact, searchable, crisp at any zoom);
pictures are PNGs drawn with Pillow and embedded as data URIs. No script, no stylesheet or font
from elsewhere: the page opens from a file, offline, as it is.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
from PIL import Image

from engine.io.data_uri import png_data_uri
from engine.model import NO_LABEL, Dataset, Subset
from engine.ops.duplicate_sheet import duplicate_sheet
from engine.ops.duplicates import canonical_images
from engine.ops.preview import contact_sheet
from engine.ops.quality import QualityReport

#: pairs listed in the table of duplicates (the sheet shows the closest 48)
PAIRS_LISTED = 200
_STYLE = """
body { font-family: sans-serif; margin: 24px; color: #1d1d1d; max-width: 1200px; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.histogram td:last-child { text-align: left; min-width: 300px; }
.bar { display: inline-block; height: 12px; background: #4a78b5; vertical-align: middle; }
.bad { color: #b41e1e; font-weight: bold; }
.ok { color: #1f7a32; }
.pictures img { image-rendering: pixelated; border: 1px solid #ccc; margin: 2px; }
.muted { color: #777; }
"""


def report_page(dataset: Dataset, quality: QualityReport, *, title: str = "dataset") -> str:
    """The page as text (HTML5, UTF-8)."""
    names = list(dataset.categories)
    sections = [
        _info(dataset, title),
        _histograms(dataset, names),
        _means(dataset, names),
        _samples(dataset),
        _findings(quality),
        _duplicates(dataset, quality),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}: data report</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Iterable[object], rows: Iterable[Iterable[object]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    attribute = f' class="{cls}"' if cls else ""
    return f"<table{attribute}><tr>{head}</tr>{body}</table>"


def _info(dataset: Dataset, title: str) -> str:
    rows = []
    for name, subset in dataset.subsets().items():
        labelled = int((np.asarray(subset.labels) != NO_LABEL).sum())
        rows.append([_e(name), len(subset), labelled, _e(_image_kind(subset))])
    rows.append(["<b>total</b>", f"<b>{len(dataset)}</b>", "", ""])
    facts = "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in sorted(dataset.info.items()))
    classes = ", ".join(_e(c) for c in dataset.categories) or "none"
    return (
        '<h2 id="info">Info</h2>'
        + _table(["subset", "items", "labelled", "images"], rows, "info")
        + f"<p>{len(dataset.categories)} classes: {classes}</p>"
        + (f"<ul>{facts}</ul>" if facts else "")
    )


def _image_kind(subset: Subset) -> str:
    if subset.images is None:
        return "none (labels only)"
    if isinstance(subset.images, np.ndarray):
        shape = "x".join(map(str, subset.images.shape[1:]))
        return f"{shape} {subset.images.dtype}"
    return "of several sizes"


def _histograms(dataset: Dataset, names: list[str]) -> str:
    parts = ['<h2 id="classes">Classes per subset</h2>']
    for name, subset in dataset.subsets().items():
        labels = np.asarray(subset.labels, dtype=np.int64)
        counts = np.bincount(labels[(labels >= 0) & (labels < len(names))], minlength=len(names))
        unlabeled = int((labels == NO_LABEL).sum())
        top = max(int(counts.max(initial=0)), unlabeled, 1)
        rows = [
            [_e(label), int(count), _bar(int(count), top)]
            for label, count in zip(names, counts, strict=True)
        ]
        if unlabeled:
            rows.append(["(no label)", unlabeled, _bar(unlabeled, top)])
        parts.append(f"<h3>{_e(name)}</h3>" + _table(["class", "items", ""], rows, "histogram"))
    return "".join(parts)


def _bar(count: int, top: int) -> str:
    return f'<span class="bar" style="width: {round(300 * count / top)}px"></span>'


def _means(dataset: Dataset, names: list[str]) -> str:
    sums = np.zeros((len(names), 28, 28), dtype=np.float64)
    counts = np.zeros(len(names), dtype=np.int64)
    for subset in dataset.subsets().values():
        if subset.images is None:
            continue
        labels = np.asarray(subset.labels, dtype=np.int64)
        for label in range(len(names)):
            rows = np.flatnonzero(labels == label)
            if isinstance(subset.images, np.ndarray) and subset.images.shape[1:] == (28, 28):
                for start in range(0, len(rows), 8192):
                    sums[label] += subset.images[rows[start : start + 8192]].sum(axis=0)
                counts[label] += len(rows)
                continue
            rows = np.array([r for r in rows if subset.images[r] is not None], dtype=np.int64)
            if len(rows):
                grey = canonical_images([subset], np.zeros(len(rows), np.int64), rows)
                sums[label] += grey.sum(axis=0)
                counts[label] += len(rows)
    cells = []
    for label, name in enumerate(names):
        if not counts[label]:
            continue
        mean = sums[label] / counts[label]
        top = mean.max() or 1
        picture = Image.fromarray((mean / top * 255).round().astype(np.uint8))
        picture = picture.resize((84, 84), Image.Resampling.NEAREST)
        cells.append(
            f'<figure style="display:inline-block;margin:4px;text-align:center">'
            f'<img src="{png_data_uri(picture)}" width="84" height="84" alt="mean of {_e(name)}">'
            f"<figcaption>{_e(name)} ({counts[label]})</figcaption></figure>"
        )
    body = "".join(cells) or '<p class="muted">no labelled images</p>'
    return f'<h2 id="means">Mean image per class</h2><div class="pictures">{body}</div>'


def _samples(dataset: Dataset) -> str:
    if all(s.images is None for s in dataset.subsets().values()):
        return '<h2 id="samples">Samples per class</h2><p class="muted">no images</p>'
    sheet = contact_sheet(dataset, per_class=12, scale=2, seed=0)
    return (
        '<h2 id="samples">Samples per class</h2><div class="pictures">'
        f'<img src="{png_data_uri(sheet)}" width="{sheet.width}" height="{sheet.height}" '
        'alt="sample images, one row per class"></div>'
    )


def _findings(quality: QualityReport) -> str:
    rows = []
    for name, q in quality.subsets.items():
        ratio = "-" if not q.items else ("inf" if q.imbalance is None else f"{q.imbalance:.2f}")
        cells = [
            q.unlabeled,
            q.blank + q.near_blank,
            q.faint,
            q.inverted,
            q.out_of_range,
            q.repeated_ids,
        ]
        marked = [f'<span class="bad">{c}</span>' if c else "0" for c in cells]
        rows.append([_e(name), q.items, ratio, *marked])
    header = ["subset", "items", "imbalance", "unlabeled", "blank", "faint", "inverted"]
    header += ["out of range", "repeated ids"]
    problems = "".join(f'<li class="bad">{_e(p)}</li>' for p in quality.problems)
    notes = "".join(f"<li>{_e(n)}</li>" for n in quality.notes)
    verdict = (
        '<p class="ok">no format or consistency problem</p>'
        if not quality.problems
        else f"<ul>{problems}</ul>"
    )
    return (
        '<h2 id="quality">Quality findings</h2>'
        + _table(header, rows, "quality")
        + verdict
        + (f'<ul class="muted">{notes}</ul>' if notes else "")
    )


def _duplicates(dataset: Dataset, quality: QualityReport) -> str:
    found = quality.duplicates
    if found is None:
        return '<h2 id="duplicates">Duplicates</h2><p class="muted">not searched</p>'
    totals = found.totals()
    rows = [[_e(pair), c["exact"], c["near"], c["disagree"]] for pair, c in found.counts().items()]
    parts = [
        '<h2 id="duplicates">Duplicates and leakage</h2>',
        f"<p>{totals['exact']} exact and {totals['near']} near pairs (threshold "
        f"{found.threshold:g}); {totals['leaked']} across subsets; {totals['disagree']} with "
        f"labels that disagree. Method: {_e(found.method)}.</p>",
        _table(["subsets", "exact", "near", "labels disagree"], rows, "dupcounts"),
    ]
    if len(found):
        sheet = duplicate_sheet(dataset, found, scale=2)
        parts.append(
            f'<div class="pictures"><img src="{png_data_uri(sheet)}" width="{sheet.width}" '
            f'height="{sheet.height}" alt="the closest pairs side by side"></div>'
        )
        listed = []
        for pair in found.pairs[:PAIRS_LISTED]:
            mark = ' class="bad"' if pair.label_disagrees else ""
            listed.append(
                [
                    pair.kind,
                    f"{pair.distance:.3f}",
                    _e(f"{pair.subset_a}:{pair.id_a}"),
                    _e(_label(pair.label_a, dataset)),
                    _e(f"{pair.subset_b}:{pair.id_b}"),
                    f"<span{mark}>{_e(_label(pair.label_b, dataset))}</span>",
                ]
            )
        parts.append(_table(["kind", "distance", "item", "label", "duplicate", "label"], listed))
        if len(found) > PAIRS_LISTED:
            parts.append(f'<p class="muted">{len(found) - PAIRS_LISTED} more pairs not listed</p>')
    return "".join(parts)


def _label(label: int | None, dataset: Dataset) -> str:
    if label is None:
        return "-"
    names = dataset.categories
    return names[label] if 0 <= label < len(names) else str(label)
