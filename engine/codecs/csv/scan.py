"""Vectorised scanning of CSV text holding integers: numpy finds the separators and computes each
value from its digits, one chunk of lines at a time, so a multi-GB file never sits in memory as
text and no value goes through Python's `int()`.

Accepted: LF or CRLF line ends, a missing final newline, a UTF-8 BOM, spaces or tabs around
values, blank lines (skipped), a leading `-`. Where a value is broken, the error names its line
and column; those are worked out only then, from the chunk the value came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import FormatError
from engine.io.compression import stream_reader

CHUNK_BYTES = 1 << 18
MAX_LINE_BYTES = 1 << 24
#: blank space (line ends, spaces, blank lines) a file may hold: twice its value bytes (a line end
#: and a space per value at most in real files) plus 1 MiB; past it, reading stops (so 4 GiB of
#: blank lines after one row cost one chunk, not minutes)
MAX_BLANK_RATIO = 2
MAX_BLANK_BYTES = 1 << 20
MAX_DIGITS = 9  # longer values are reported as out of range, never wrapped
TOO_LONG = np.iinfo(np.int32).max
BOM = b"\xef\xbb\xbf"

_NL, _CR, _TAB, _SPACE, _MINUS, _ZERO, _NINE = 10, 13, 9, 32, 45, 48, 57
_PAD = 3  # bytes before a chunk, so a value's three last digits can be read by shifting


@dataclass
class Block:
    """The rows scanned from one chunk of whole lines: flat values and how many each row holds.

    `locate(k)` gives the line, column and text of value k; it reads `raw`, the chunk's bytes,
    which are valid only until the scanner moves on.
    """

    values: np.ndarray
    row_lengths: np.ndarray
    raw: np.ndarray
    first_line: int
    ends: np.ndarray
    origin: np.ndarray | None = None
    lines: int = 0

    @property
    def row_starts(self) -> np.ndarray:
        return np.cumsum(self.row_lengths) - self.row_lengths

    def locate(self, token: int) -> tuple[int, int, str]:
        """(line, column, text) of value number `token` of this block (1-based line and column)."""
        start = int(self.ends[token - 1]) + 1 if token > 0 else 0
        end = int(self.ends[token])
        if self.origin is not None:
            start, end = int(self.origin[start]), int(self.origin[end])
        return (*self.position(start), _text(self.raw[start:end]))

    def number_in_row(self, token: int) -> int:
        """1-based position of value `token` within its row."""
        text = self.raw if self.origin is None else self.raw[self.origin]
        row_ends = np.flatnonzero(text[self.ends[:token]] == _NL)
        return token - (int(row_ends[-1]) + 1 if len(row_ends) else 0) + 1

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of byte `offset` of the chunk; the column counts characters."""
        before = self.raw[:offset]
        newlines = np.flatnonzero(before == _NL)
        line_start = int(newlines[-1]) + 1 if len(newlines) else 0
        column = len(bytes(self.raw[line_start:offset]).decode("utf-8", "replace")) + 1
        return self.first_line + len(newlines), column


def _text(raw: np.ndarray) -> str:
    return bytes(raw).decode("utf-8", "replace").strip(" \t\r")


class CsvScanner:
    """Iterates over the `Block`s of a CSV file of integers; `header` holds a skipped header line.

    With `detect_header`, a first line that does not start with a number (`label,pixel0,...`) is
    taken as a header and skipped; line numbers still count it.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        delimiter: str = ",",
        detect_header: bool = True,
        chunk_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.delimiter = ord(delimiter)
        self.detect_header = detect_header
        self.chunk_bytes = chunk_bytes or CHUNK_BYTES
        self.header: str | None = None
        self.rows = 0

    def __iter__(self) -> Iterator[Block]:
        line = 1
        values = blank = 0
        for padded in self._line_chunks():
            if line == 1 and self.rows == 0 and self.header is None:
                padded, skipped = self._strip_start(padded)
                line += skipped
            printed = int(np.count_nonzero(padded[_PAD:] > _SPACE))
            values += printed
            blank += len(padded) - _PAD - printed
            block = self._scan(padded, line)
            self.rows += len(block.row_lengths)
            if blank > MAX_BLANK_RATIO * values + MAX_BLANK_BYTES:
                self._too_blank(blank, values, line + block.lines)
            yield block
            line += block.lines
        if self.rows == 0 and self.header is None:
            raise FormatError(
                self.path,
                "the file is empty; expected rows of comma-separated integers",
                line=1,
                column=1,
                field="rows",
                expected="at least one line",
                actual="no rows",
            )

    def _too_blank(self, blank: int, values: int, line: int) -> None:
        raise FormatError(
            self.path,
            f"{blank} bytes of blank lines and spaces by line {line}, against {values} bytes of "
            "values: far more than rows of integers hold (a blank-line bomb); stopped reading",
            line=line,
            field="blank lines",
            expected=f"<= {MAX_BLANK_RATIO} x the value bytes + {MAX_BLANK_BYTES}",
            actual=blank,
        )

    def _line_chunks(self) -> Iterator[np.ndarray]:
        """Pieces of whole lines, each after `_PAD` newlines, read into one reused buffer.

        A piece stays valid until the next is asked for. A missing final newline is added.
        """
        buffer = np.empty(_PAD + 2 * self.chunk_bytes, dtype=np.uint8)
        buffer[:_PAD] = _NL
        filled = _PAD
        with stream_reader(self.path) as fill:
            while True:
                if len(buffer) - filled < self.chunk_bytes:
                    buffer = _grown(buffer, filled, self.path)
                count = fill(buffer.data[filled : filled + self.chunk_bytes])
                if count == 0:
                    break
                scanned = filled
                filled += count
                cut = _after_last_newline(buffer, scanned, filled)
                if cut is None:
                    continue
                yield buffer[:cut]
                rest = filled - cut
                buffer[_PAD : _PAD + rest] = buffer[cut:filled]
                filled = _PAD + rest
        if filled > _PAD:
            if len(buffer) == filled:
                buffer = _grown(buffer, filled, self.path)
            buffer[filled] = _NL
            yield buffer[: filled + 1]

    def _strip_start(self, padded: np.ndarray) -> tuple[np.ndarray, int]:
        """Drops a BOM and (when detected) a header line; returns the rest and lines dropped."""
        head = bytes(padded[_PAD : _PAD + 4096])
        skip = len(BOM) if head.startswith(BOM) else 0
        lines = 0
        first = head[skip:].lstrip(b" \t")[:1]
        if self.detect_header and looks_like_header(first):
            end = int(np.argmax(padded[_PAD:] == _NL))
            self.header = bytes(padded[_PAD + skip : _PAD + end]).decode("utf-8", "replace")
            self.header = self.header.strip()
            skip, lines = end + 1, 1
        if skip:
            padded = padded[skip:]
            padded[:_PAD] = _NL
        return padded, lines

    # -- one chunk --------------------------------------------------------------------------------
    def _scan(self, padded: np.ndarray, first_line: int) -> Block:
        raw = padded[_PAD:]
        if len(raw) == 0:
            nothing = np.zeros(0, dtype=np.int64)
            return Block(nothing.astype(np.int32), nothing, raw, first_line, nothing)
        fast = _scan_plain(padded, self.delimiter)
        if fast is not None:
            values, ends, lengths = fast
            return Block(values, lengths, raw, first_line, ends, lines=len(lengths))
        return self._scan_general(raw, first_line)

    def _scan_general(self, raw: np.ndarray, first_line: int) -> Block:
        """Any text: drops blanks and blank lines, then checks and converts every value."""
        text, origin = _drop_blanks(raw, self.delimiter)
        blank_inside = _blank_inside(raw, text, origin, self.delimiter)
        separator = (text == self.delimiter) | (text == _NL)
        ends = np.flatnonzero(separator)
        block = Block(np.zeros(0, np.int32), np.zeros(0, np.int64), raw, first_line, ends, origin)
        if blank_inside is not None:
            token = int(np.searchsorted(ends, blank_inside))
            self._not_integer(block, token)
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        digits = (text - _ZERO) < 10
        minus = text == _MINUS
        junk = ~(digits | separator | minus)
        if junk.any():
            self._not_integer(block, int(np.searchsorted(ends, np.argmax(junk))))
        negative = np.zeros(len(ends), dtype=bool)
        if minus.any():
            where = np.flatnonzero(minus)
            tokens = np.searchsorted(ends, where)
            misplaced = (where != starts[tokens]) | (lengths[tokens] < 2)
            if misplaced.any():
                self._not_integer(block, int(tokens[np.argmax(misplaced)]))
            negative[tokens] = True
        if (lengths == 0).any():
            token = int(np.argmax(lengths == 0))
            line, column, _ = block.locate(token)
            raise FormatError(
                self.path,
                f"value {block.number_in_row(token)} of the row is empty; expected an integer",
                line=line,
                column=column,
                field="value",
                expected="an integer",
                actual="nothing",
            )
        counts = lengths - negative
        values = _digits_to_values(text, ends, counts)
        values[negative] *= -1
        lines = int(np.count_nonzero(raw == _NL))
        return Block(values, _row_lengths(text, ends), raw, first_line, ends, origin, lines)

    def _not_integer(self, block: Block, token: int) -> None:
        line, column, text = block.locate(token)
        raise FormatError(
            self.path,
            f"{text!r} (value {block.number_in_row(token)} of the row) is not an integer",
            line=line,
            column=column,
            field="value",
            expected="an integer",
            actual=text,
        )


def _scan_plain(
    padded: np.ndarray, delimiter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The fast path: digits, delimiters and LF only, 1..3 digits per value; else None.

    Returns (values as uint16, index of the byte ending each value, values per row).
    """
    raw = padded[_PAD:]
    size = len(raw)
    if raw.max() > _NINE:
        return None
    digit_padded = padded >= _ZERO
    below = ~digit_padded[_PAD:]
    ends = np.flatnonzero(below)
    newlines = np.flatnonzero(raw == _NL)
    if len(ends) != len(newlines) + np.count_nonzero(raw == delimiter):
        return None  # other bytes below '0': blanks, CR, '-', ...
    gaps = np.diff(ends, prepend=-1)
    if gaps.min() < 2 or gaps.max() > 4:
        return None  # an empty value, a blank line or a value of 4 digits or more
    # the value ending before byte i is z[i-1] + 10 z[i-2] + 100 z[i-3] (z = 0 outside digits;
    # the hundreds only count when z[i-2] is a digit of the same value)
    zeros = np.subtract(padded, _ZERO, dtype=np.uint8)
    zeros *= digit_padded
    value = zeros[_PAD - 1 : _PAD - 1 + size].astype(np.uint16)
    value += np.multiply(zeros[_PAD - 2 : _PAD - 2 + size], 10, dtype=np.uint16)
    hundreds = np.multiply(zeros[:size], 100, dtype=np.uint16)
    hundreds *= digit_padded[_PAD - 2 : _PAD - 2 + size]
    value += hundreds
    row_lengths = np.diff(np.searchsorted(ends, newlines), prepend=-1)
    return value.take(ends), ends, row_lengths


def looks_like_header(start: bytes) -> bool:
    """A first line starting with a letter or a quote (`label,...`, `"label",...`) is a header."""
    return start[:1].isalpha() or start[:1] == b'"'


def _after_last_newline(buffer: np.ndarray, start: int, stop: int) -> int | None:
    """Index just after the last newline in buffer[start:stop], or None when there is none."""
    step = 1 << 16
    while stop > start:
        low = max(start, stop - step)
        found = np.flatnonzero(buffer[low:stop] == _NL)
        if len(found):
            return low + int(found[-1]) + 1
        stop = low
    return None


def _grown(buffer: np.ndarray, filled: int, path: Path) -> np.ndarray:
    """A buffer twice as large holding the same first `filled` bytes (for a very long line)."""
    if filled > MAX_LINE_BYTES:
        raise FormatError(
            path,
            f"a line longer than {MAX_LINE_BYTES} bytes: not CSV rows of integers",
            field="line length",
            expected=f"at most {MAX_LINE_BYTES} bytes",
            actual=f"more than {filled - _PAD}",
        )
    larger = np.empty(2 * len(buffer), dtype=np.uint8)
    larger[:filled] = buffer[:filled]
    return larger


def _row_lengths(text: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many values each row holds (every row ends with a newline)."""
    row_ends = np.searchsorted(ends, np.flatnonzero(text == _NL))
    return np.diff(row_ends, prepend=-1)


def _drop_blanks(raw: np.ndarray, delimiter: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The text without spaces, tabs, CRs and blank lines; and where each kept byte came from."""
    blank = np.zeros(len(raw), dtype=bool)
    for code in (_SPACE, _TAB, _CR):
        if code != delimiter:
            blank |= raw == code
    keep = ~blank
    if blank.any():
        origin = np.flatnonzero(keep)
        text = raw[origin]
    else:
        origin, text = None, raw
    newline = text == _NL
    empty_line = newline.copy()
    empty_line[1:] &= newline[:-1]
    if empty_line.any():
        kept = np.flatnonzero(~empty_line)
        text = text[kept]
        origin = kept if origin is None else origin[kept]
    return text, origin


def _blank_inside(
    raw: np.ndarray, text: np.ndarray, origin: np.ndarray | None, delimiter: int
) -> int | None:
    """Index in `text` of the first value with a blank between two of its characters, or None."""
    if origin is None or len(text) < 2:
        return None
    gap = np.diff(origin) > 1
    word = (text != delimiter) & (text != _NL)
    inside = gap & word[:-1] & word[1:]
    return int(np.argmax(inside)) if inside.any() else None


def _digits_to_values(text: np.ndarray, ends: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each value from its last `counts` digits (before `ends`), as int32; too long -> TOO_LONG."""
    digits = np.subtract(text, _ZERO, dtype=np.uint8)
    digits *= digits < 10
    values = np.zeros(len(ends), dtype=np.int64)
    longest = int(counts.max()) if len(counts) else 0
    for place in range(1, min(longest, MAX_DIGITS) + 1):
        picked = digits.take(ends - place, mode="clip").astype(np.int64)
        picked *= counts >= place
        values += picked * 10 ** (place - 1)
    values[counts > MAX_DIGITS] = TOO_LONG
    return values.astype(np.int32)
