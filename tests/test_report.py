"""The HTML report: one self-contained page (nothing loaded from elsewhere) whose figures match
the dataset; rendered by a real browser when one is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

import engine
from engine.model import NO_LABEL, Subset
from engine.ops.synthetic import synthesize_digits
from tests.cli_helpers import run_main

CLASSES = [str(d) for d in range(10)]


class _Page(HTMLParser):
    """Collects every attribute that may load something, the tables' cells and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "action", "poster", "background"):
                self.references.append((tag, name, value or ""))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def leaky() -> engine.Dataset:
    images, labels = synthesize_digits(120, seed=4)
    labels = np.asarray(labels, dtype=np.int32)
    test_images = np.concatenate([images[90:], images[:3]])
    test_labels = np.concatenate([labels[90:], labels[:3]])
    test_labels[-1] = (test_labels[-1] + 1) % 10
    test_labels[0] = NO_LABEL
    return engine.Dataset(
        {
            "train": Subset("train", labels[:90], images[:90]),
            "test": Subset("test", test_labels, test_images),
        },
        CLASSES,
    )


def _parse(path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_the_page_is_self_contained_and_its_figures_match(leaky, tmp_path):
    path = engine.report(leaky, tmp_path / "report.html", title="leaky <digits>")
    raw = path.read_text(encoding="utf-8")
    page = _parse(path)
    outside_pictures = re.sub(r'data:image/png;base64,[A-Za-z0-9+/=]+"', '"', raw)
    for reference in ("http:", "https:", "//", "url(", "@import", "file:"):
        assert reference not in outside_pictures
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert page.references, "the page has pictures"
    for tag, name, value in page.references:
        assert name == "src" and tag == "img" and value.startswith("data:image/png;base64,")
    assert "leaky &lt;digits&gt;" in raw  # text is escaped

    info = page.tables[0]
    assert info[0] == ["subset", "items", "labelled", "images"]
    assert info[1][:3] == ["train", "90", "90"] and info[2][:3] == ["test", "33", "32"]
    assert info[3][:2] == ["total", "123"]

    histograms = page.tables[1:3]
    for table, name in zip(histograms, ["train", "test"], strict=True):
        labels = leaky[name].labels
        shown = {row[0]: int(row[1]) for row in table[1:]}
        expected = {c: int((labels == k).sum()) for k, c in enumerate(CLASSES)}
        if (labels == NO_LABEL).any():
            expected["(no label)"] = int((labels == NO_LABEL).sum())
        assert shown == expected

    quality = page.tables[3]
    assert quality[0][:4] == ["subset", "items", "imbalance", "unlabeled"]
    assert quality[2][:2] == ["test", "33"] and quality[2][3] == "1"

    counts = page.tables[4]
    assert counts[0] == ["subsets", "exact", "near", "labels disagree"]
    assert ["train/test", "3", "0", "1"] in counts
    pairs = page.tables[5]
    assert len(pairs) == 4 and {row[4] for row in pairs[1:]} == {"test:30", "test:31", "test:32"}
    text = " ".join(page.text)
    assert "3 exact and 0 near pairs" in text and "3 across subsets" in text


def test_the_command_writes_the_page_atomically_and_refuses_bad_targets(leaky, tmp_path):
    source = tmp_path / "leaky"
    engine.save(leaky, "mnist", source)
    out = tmp_path / "out" / "page.html"
    out.parent.mkdir()
    code, text, err = run_main("report", source, "-o", out)
    assert code == 0, err
    assert f"wrote {out}" in text and out.stat().st_size > 10_000
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temporary left
    assert run_main("report", source, "-o", out)[0] == 2  # exists
    code, _, err = run_main("report", source, "-o", out, "--overwrite", "--no-duplicates")
    assert code == 0, err
    assert "not searched" in out.read_text(encoding="utf-8")
    code, _, err = run_main("report", source, "-o", tmp_path / "page.pdf")
    assert code == 2 and "HTML" in err
    code, _, err = run_main("report", source, "-o", source / "page.html")
    assert code == 2 and "inside the input" in err


def test_a_labels_only_dataset_still_gets_a_page(tmp_path):
    dataset = engine.Dataset({"train": Subset("train", np.array([0, 1, 1], np.int32))}, CLASSES)
    page = _parse(engine.report(dataset, tmp_path / "r.html"))
    assert "no images" in " ".join(page.text)
    assert not page.references


def test_a_browser_renders_the_page(leaky, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium installed: the page is checked by the parser only")
    path = engine.report(leaky, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1000,1400",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    with Image.open(shot) as picture:
        grey = np.asarray(picture.convert("L"))
    assert grey.shape == (1400, 1000)
    assert grey.min() < 60 and grey.max() > 200  # text and pictures were drawn, not a blank page
