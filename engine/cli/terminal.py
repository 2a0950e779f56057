"""The CLI's stdout, neutralised: names and provenance come from files anyone can write, so
what is printed goes through ``engine.io.visible_text.shown`` (control characters as ``\\uXXXX``
escapes)."""

from __future__ import annotations

from typing import Any, TextIO

from engine.io.visible_text import one_line, shown

__all__ = ["NeutralisedStream", "one_line", "shown"]


class NeutralisedStream:
    """A text stream writing through ``shown`` to ``stream`` (anything else it delegates)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(shown(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
