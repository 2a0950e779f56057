"""Matches file names in a dataset folder against a spec's name patterns (`{prefix}-labels-...`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NamePattern:
    """A file-name pattern with a `{prefix}` placeholder and the compression suffixes allowed."""

    pattern: str
    compressions: Sequence[str]

    @property
    def regex(self) -> re.Pattern[str]:
        head, _, tail = self.pattern.partition("{prefix}")
        suffixes = "|".join(re.escape(s) for s in sorted(self.compressions, key=len, reverse=True))
        return re.compile(
            f"^{re.escape(head)}(?P<prefix>.+?){re.escape(tail)}(?P<compression>{suffixes})$",
            re.IGNORECASE,
        )

    def match(self, name: str) -> tuple[str, str] | None:
        """(prefix, compression suffix) when `name` fits the pattern."""
        found = self.regex.match(name)
        return (found["prefix"], found["compression"]) if found else None

    def name_for(self, prefix: str, compression: str) -> str:
        return self.pattern.format(prefix=prefix) + compression


def find_files(root: Path, patterns: Sequence[str], compressions: Sequence[str]) -> dict[str, Path]:
    """prefix -> file for the files in `root` matching any pattern.

    Earlier patterns and compressions win when a prefix has several candidates.
    """
    ranked: dict[str, tuple[tuple[int, int], Path]] = {}
    names = sorted(p.name for p in root.iterdir() if p.is_file()) if root.is_dir() else []
    for rank, text in enumerate(patterns):
        pattern = NamePattern(text, compressions)
        for name in names:
            matched = pattern.match(name)
            if matched is None:
                continue
            prefix, compression = matched
            order = (rank, list(compressions).index(compression.lower()))
            if prefix not in ranked or order < ranked[prefix][0]:
                ranked[prefix] = (order, root / name)
    return {prefix: path for prefix, (_, path) in ranked.items()}
