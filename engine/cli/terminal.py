"""Text bound for a terminal, neutralised: names and provenance come from files anyone can write,
and a class name holding ``ESC [2J``, ``ESC ]0;title BEL``, a carriage return, a backspace or a
right-to-left override would clear the screen, retitle the window or disguise what is printed.
Such characters are shown as ``\\uXXXX`` escapes: readable, never acted on, and still valid inside
a JSON string (``info --json``), so one rule serves text and JSON.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

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
    """``text`` as one line for stderr: as ``shown``, newlines and tabs escaped too."""
    return _UNSAFE_LINE.sub(_escape, text)


class NeutralisedStream:
    """A text stream writing through ``shown`` to ``stream`` (anything else it delegates)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(shown(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
