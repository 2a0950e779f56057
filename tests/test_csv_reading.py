"""Reading MNIST-in-CSV variants: headers, line ends, BOM, blanks, side files, names, detection."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.codecs.csv import scan as csv_scan
from engine.codecs.csv.scan import CsvScanner
from engine.errors import FormatError

PIXELS = 28 * 28


def rows_text(labels, images, *, sep=",", end="\n") -> str:
    return "".join(
        sep.join(map(str, [label, *image.reshape(-1).tolist()])) + end
        for label, image in zip(labels, images, strict=True)
    )


@pytest.fixture
def digits():
    rng = np.random.default_rng(3)
    return [3, -1, 9], rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)


def check(dataset, labels, images, subset="train"):
    part = dataset[subset]
    assert [item.id for item in part] == [str(i) for i in range(len(labels))]
    assert part.labels.tolist() == labels
    assert np.array_equal(part.images, images)


@pytest.mark.parametrize(
    "header",
    [
        "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)),
        "label," + ",".join(f"pixel{i}" for i in range(PIXELS)),
    ],
)
def test_header_line_is_skipped_and_ids_start_at_zero(tmp_path, digits, header):
    (tmp_path / "mnist_train.csv").write_text(header + "\n" + rows_text(*digits))
    check(engine.load("mnist_csv", tmp_path), *digits)


@pytest.mark.parametrize(
    ("sep", "end", "bom", "final_newline"),
    [(",", "\r\n", False, True), (", ", "\n", True, False), (" ,  ", "\r\n", True, False)],
)
def test_text_variants(tmp_path, digits, sep, end, bom, final_newline):
    text = rows_text(*digits, sep=sep, end=end)
    if not final_newline:
        text = text[: -len(end)]
    (tmp_path / "mnist_test.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    check(engine.load("mnist_csv", tmp_path / "mnist_test.csv"), *digits, subset="test")


def test_blank_lines_are_skipped(tmp_path, digits):
    text = rows_text(*digits).replace("\n", "\n\n", 1) + "\n  \n"
    (tmp_path / "mnist_train.csv").write_text(text)
    check(engine.load("mnist_csv", tmp_path), *digits)


def test_label_only_rows_and_unlabeled_items(tmp_path, digits):
    labels, images = digits
    text = rows_text(labels[:1], images[:1]) + "-1\n7\n"
    (tmp_path / "mnist_train.csv").write_text(text)
    part = engine.load("mnist_csv", tmp_path)["train"]
    assert part.labels.tolist() == [3, engine.NO_LABEL, 7]
    assert np.array_equal(part[0].image, images[0])
    assert part[1].image is None and part[2].image is None and part[1].label is None


def test_compressed_file(tmp_path, digits):
    (tmp_path / "mnist_train.csv.gz").write_bytes(gzip.compress(rows_text(*digits).encode()))
    check(engine.load("mnist_csv", tmp_path), *digits)


def test_side_file_ids_and_other_sizes(tmp_path):
    (tmp_path / "mnist_train.csv").write_text("1," + ",".join(["5"] * 6) + "\n2\n3,9,8\n")
    (tmp_path / "meta_train.csv").write_text("a,2,3\nb,0,0\nc,1,2\n")
    part = engine.load("mnist_csv", tmp_path)["train"]
    assert [item.id for item in part] == ["a", "b", "c"]
    assert part[0].image.shape == (2, 3) and part[1].image is None
    assert part[2].image.tolist() == [[9, 8]]


def test_side_file_size_disagreeing_with_a_row(tmp_path):
    (tmp_path / "mnist_train.csv").write_text("1,5,5,5\n")
    (tmp_path / "meta_train.csv").write_text("2,2\n")
    with pytest.raises(FormatError, match=r"line 1, column 7: row has 4 values; expected 5"):
        engine.load("mnist_csv", tmp_path)


def test_subset_is_the_text_after_the_last_underscore(tmp_path, digits):
    (tmp_path / "fashion-mnist_my_val.csv").write_text(rows_text(*digits))
    assert list(engine.load("mnist_csv", tmp_path).subsets()) == ["val"]


def test_two_files_for_one_subset_are_refused(tmp_path, digits):
    (tmp_path / "mnist_train.csv").write_text(rows_text(*digits))
    (tmp_path / "x_mnist_train.csv").write_text(rows_text(*digits))
    with pytest.raises(FormatError, match="hold subset 'train'"):
        engine.load("mnist_csv", tmp_path)
    assert len(engine.load("mnist_csv", tmp_path / "mnist_train.csv")["train"]) == 3


def test_categories_from_labels_txt(tmp_path, digits):
    (tmp_path / "mnist_train.csv").write_text(rows_text(*digits))
    (tmp_path / "labels.txt").write_text("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n")
    assert engine.load("mnist_csv", tmp_path).categories[:2] == ("a", "b")


def test_detection_tells_csv_from_idx(tmp_path, digits):
    (tmp_path / "mnist_train.csv").write_text(rows_text(*digits))
    assert engine.detect(tmp_path) == ["mnist_csv"]
    (tmp_path / "mnist_train.csv").write_bytes(b"\x00\x00\x08\x03 binary")
    assert engine.detect(tmp_path) == []


# -- the scanner alone, against Python's own parsing, across chunk boundaries ---------------------
line_strategy = st.lists(st.integers(-99, 999_999), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(line_strategy, min_size=1, max_size=30),
    chunk=st.integers(8, 64),
    end=st.sampled_from(["\n", "\r\n"]),
    sep=st.sampled_from([",", ", ", " , "]),
    final=st.booleans(),
)
def test_scanner_matches_python_parsing(tmp_path_factory, rows, chunk, end, sep, final):
    text = end.join(sep.join(map(str, r)) for r in rows) + (end if final else "")
    path = tmp_path_factory.mktemp("scan") / "rows.csv"
    path.write_text(text)
    blocks = [
        (b.values.tolist(), b.row_lengths.tolist()) for b in CsvScanner(path, chunk_bytes=chunk)
    ]
    values = [v for part, _ in blocks for v in part]
    lengths = [n for _, part in blocks for n in part]
    assert lengths == [len(r) for r in rows]
    expected = [v if abs(v) < 10**9 else csv_scan.TOO_LONG for r in rows for v in r]
    assert values == expected


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.lists(st.integers(0, 255), min_size=1, max_size=8), min_size=1, max_size=40)
)
def test_fast_path_matches_python_parsing(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("fast") / "rows.csv"
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    padded = np.frombuffer(b"\n\n\n" + path.read_bytes(), dtype=np.uint8)
    fast = csv_scan._scan_plain(padded, ord(","))
    assert fast is not None
    values, _, lengths = fast
    assert values.tolist() == [v for r in rows for v in r]
    assert lengths.tolist() == [len(r) for r in rows]
