"""Every malformed-CSV case gives a FormatError naming the file, line and column."""

from __future__ import annotations

import gzip

import pytest

import engine
from engine.codecs.csv import scan as csv_scan
from engine.errors import FormatError

PIXELS = 28 * 28


def row(label: int | str, pixels=None) -> str:
    values = [0] * PIXELS if pixels is None else pixels
    return ",".join([str(label), *map(str, values)])


def write(folder, text: str, name: str = "mnist_train.csv"):
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def load_error(path) -> FormatError:
    with pytest.raises(FormatError) as caught:
        engine.load("mnist_csv", path)
    return caught.value


def column_of_value(line: str, index: int) -> int:
    """1-based column where value `index` (0-based) of a CSV line starts."""
    return len(",".join(line.split(",")[:index])) + (1 if index else 0) + 1


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_non_integer_pixel_names_line_and_column(tmp_path, line_end):
    pixels = [0] * PIXELS
    bad = row(3, pixels).split(",")
    bad[101] = "1.5"
    text = row(1) + line_end + ",".join(bad) + line_end
    error = load_error(write(tmp_path, text))
    assert (error.line, error.column) == (2, column_of_value(",".join(bad), 101))
    assert "'1.5' (value 102 of the row) is not an integer" in str(error)
    assert "line 2, column" in str(error) and "mnist_train.csv" in str(error)


def test_pixel_above_range(tmp_path):
    pixels = [7] * PIXELS
    pixels[783] = 256
    bad = row(2, pixels)
    error = load_error(write(tmp_path, row(1) + "\n" + row(1) + "\n" + bad + "\n"))
    assert (error.line, error.column) == (3, column_of_value(bad, 784))
    assert "pixel 256 is outside 0..255" in str(error)


def test_negative_pixel(tmp_path):
    pixels = [7] * PIXELS
    pixels[0] = -3
    bad = row(2, pixels)
    error = load_error(write(tmp_path, bad + "\n"))
    assert (error.line, error.column) == (1, 3)
    assert "pixel -3 is outside 0..255" in str(error)


def test_huge_value_is_out_of_range_not_wrapped(tmp_path):
    pixels = [7] * PIXELS
    pixels[5] = 10**20 + 1
    bad = row(2, pixels)
    error = load_error(write(tmp_path, bad + "\n"))
    assert (error.line, error.column) == (1, column_of_value(bad, 6))
    assert f"pixel {10**20 + 1} is outside 0..255" in str(error)


@pytest.mark.parametrize(("pixels", "column_value"), [(783, 783), (785, 785), (1, 1)])
def test_wrong_number_of_values_says_how_many(tmp_path, pixels, column_value):
    values = ",".join(["4", *["9"] * pixels])
    error = load_error(write(tmp_path, row(1) + "\n" + values + "\n"))
    assert (error.line, error.column) == (2, column_of_value(values, column_value))
    assert f"row has {pixels + 1} values; expected 785" in str(error)
    assert "or 1 (a label alone" in str(error)


def test_label_alone_is_an_item_without_image_not_an_error(tmp_path):
    dataset = engine.load("mnist_csv", write(tmp_path, row(1) + "\n4\n"))
    assert dataset["train"][1].image is None and dataset["train"][1].label == 4


@pytest.mark.parametrize(
    ("label", "message"), [("x", "'x' (value 1 of the row) is not an integer"), ("3a", "'3a'")]
)
def test_label_not_an_integer(tmp_path, label, message):
    error = load_error(write(tmp_path, row(1) + "\n" + row(label) + "\n"))
    assert (error.line, error.column) == (2, 1)
    assert message in str(error)


@pytest.mark.parametrize("label", [255, -2, 1000])
def test_label_outside_range(tmp_path, label):
    error = load_error(write(tmp_path, row(1) + "\n\n" + row(label) + "\n"))
    assert (error.line, error.column) == (3, 1)
    assert f"label {label} is outside -1..254 (-1 = no label)" in str(error)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf", b"  \r\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "mnist_test.csv"
    path.write_bytes(content)
    error = load_error(path)
    assert (error.line, error.column) == (1, 1)
    assert "mnist_test.csv" in str(error) and "empty" in str(error)


@pytest.mark.parametrize(("side_rows", "line"), [(["a", "b"], 3), (["a", "b", "c", "d"], 4)])
def test_side_file_row_count_mismatch(tmp_path, side_rows, line):
    write(tmp_path, "\n".join(row(i) for i in range(3)) + "\n")
    (tmp_path / "meta_train.csv").write_text("".join(f"{r}\n" for r in side_rows))
    error = load_error(tmp_path)
    assert (error.line, error.column) == (line, 1)
    assert "meta_train.csv" in str(error)
    assert f"{len(side_rows)} rows where the data holds 3 rows in mnist_train.csv" in str(error)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("1,,2", 3, "value 2 of the row is empty"),
        ("1,2,", 5, "value 3 of the row is empty"),
        ("1,2 3,4", 3, "'2 3' (value 2 of the row) is not an integer"),
        ("1,2-,4", 3, "'2-' (value 2 of the row) is not an integer"),
        ("1,--2,4", 3, "'--2' (value 2 of the row) is not an integer"),
    ],
)
def test_malformed_values(tmp_path, text, column, message):
    error = load_error(write(tmp_path, row(1) + "\n" + text + "\n"))
    assert (error.line, error.column) == (2, column)
    assert message in str(error)


def test_error_positions_in_a_later_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_scan, "CHUNK_BYTES", 1000)
    lines = [row(i % 10) for i in range(40)]
    bad = lines[33].split(",")
    bad[700] = "x"
    lines[33] = ",".join(bad)
    error = load_error(write(tmp_path, "\n".join(lines)))
    assert (error.line, error.column) == (34, column_of_value(lines[33], 700))


def test_error_column_after_a_header_and_bom(tmp_path):
    header = ",".join(["label", *(f"pixel{i}" for i in range(PIXELS))])
    pixels = [0] * PIXELS
    pixels[1] = 300
    path = tmp_path / "mnist_train.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (header + "\n" + row(5, pixels) + "\n").encode())
    error = load_error(path)
    assert (error.line, error.column) == (2, 5)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(("\n".join(row(i) for i in range(50)) + "\n").encode())
    (tmp_path / "mnist_train.csv.gz").write_bytes(data[: len(data) // 2])
    error = load_error(tmp_path)
    assert "mnist_train.csv.gz" in str(error) and "truncated" in str(error)


def test_line_without_end_is_refused_before_eating_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_scan, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(csv_scan, "CHUNK_BYTES", 1024)
    error = load_error(write(tmp_path, "1," * 10_000))
    assert "a line longer than 4096 bytes" in str(error)


def test_side_file_bad_size_names_the_line(tmp_path):
    write(tmp_path, row(1) + "\n" + row(2) + "\n")
    (tmp_path / "meta_train.csv").write_text("28,28\n28,x\n")
    error = load_error(tmp_path)
    assert error.line == 2 and "meta_train.csv" in str(error)
