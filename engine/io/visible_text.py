"""Text from files anyone can write, made safe to show: every character a terminal or a text
viewer would act on (``ESC [2J``, ``ESC ]0;title BEL``, a carriage return, a backspace, a
right-to-left override) is written as a ``\\uXXXX`` escape: readable, never acted on, and still
valid inside a JSON string, so one rule serves terminal text, JSON and Markdown cards."""

from __future__ import annotations

import re

#: C0 controls but tab and newline, DEL, C1 controls (0x9b is an 8-bit CSI), the bidirectional
#: embeddings, overrides, isolates and marks, and the Unicode line and paragraph separators
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_UNSAFE_LINE = re.compile(f"[\n\t{_UNSAFE.pattern[1:-1]}]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def shown(text: str) -> str:
    """``text`` with every character a terminal would act on escaped (tabs and newlines kept)."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` as one line: as ``shown``, newlines and tabs escaped too."""
    return _UNSAFE_LINE.sub(_escape, text)
