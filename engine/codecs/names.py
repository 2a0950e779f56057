"""Matches file names in a dataset folder against a spec's name patterns (`{prefix}-labels-...`).

A pattern holds a `{prefix}` placeholder (the subset's file prefix) and, for specs with variants,
a `{variant}` placeholder that only matches the variant names the spec declares.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.io.regular import check_regular

_PLACEHOLDER = re.compile(r"\{(prefix|variant)\}")


@dataclass(frozen=True)
class NamePattern:
    """A file-name pattern with `{prefix}` (and maybe `{variant}`) and the suffixes allowed."""

    pattern: str
    compressions: Sequence[str]
    variants: Sequence[str] = ()

    @property
    def regex(self) -> re.Pattern[str]:
        parts = []
        position = 0
        for found in _PLACEHOLDER.finditer(self.pattern):
            parts.append(re.escape(self.pattern[position : found.start()]))
            if found[1] == "prefix":
                parts.append("(?P<prefix>.+?)")
            else:
                names = sorted(self.variants, key=len, reverse=True)
                choice = "|".join(re.escape(n) for n in names) if names else "[^-]+"
                parts.append(f"(?P<variant>{choice})")
            position = found.end()
        parts.append(re.escape(self.pattern[position:]))
        suffixes = "|".join(re.escape(s) for s in sorted(self.compressions, key=len, reverse=True))
        return re.compile(f"^{''.join(parts)}(?P<compression>{suffixes})$", re.IGNORECASE)

    def match(self, name: str) -> tuple[str, str] | None:
        """(prefix, compression suffix) when `name` fits the pattern."""
        fields = self.match_fields(name)
        return (fields["prefix"], fields["compression"]) if fields else None

    def match_fields(self, name: str) -> dict[str, str] | None:
        """The placeholders' values (prefix, compression, and variant if any), or None."""
        found = self.regex.match(name)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v}

    def name_for(self, prefix: str, compression: str, variant: str | None = None) -> str:
        text = self.pattern.replace("{prefix}", prefix)
        if variant is not None:
            text = text.replace("{variant}", variant)
        return text + compression


def find_files(root: Path, patterns: Sequence[str], compressions: Sequence[str]) -> dict[str, Path]:
    """prefix -> file for the files in `root` matching any pattern.

    Earlier patterns and compressions win when a prefix has several candidates.
    """
    found = find_variant_files(root, patterns, compressions)
    return {prefix: path for (_, prefix), path in found.items()}


def find_variant_files(
    root: Path,
    patterns: Sequence[str],
    compressions: Sequence[str],
    variants: Sequence[str] = (),
) -> dict[tuple[str | None, str], Path]:
    """(variant or None, prefix) -> file for the files in `root` matching any pattern.

    Earlier patterns and compressions win when a key has several candidates. A variant found in
    a name is reported with the spelling the spec declares.
    """
    spelled = {name.lower(): name for name in variants}
    ranked: dict[tuple[str | None, str], tuple[tuple[int, int], Path]] = {}
    # not only regular files: a FIFO or a device under a subset's name is refused below, never
    # passed over (the subset would silently lose its images)
    names = sorted(p.name for p in root.iterdir() if not p.is_dir()) if root.is_dir() else []
    lowered = [c.lower() for c in compressions]
    for rank, text in enumerate(patterns):
        pattern = NamePattern(text, compressions, variants)
        for name in names:
            fields = pattern.match_fields(name)
            if fields is None:
                continue
            variant = fields.get("variant")
            key = (
                None if variant is None else spelled.get(variant.lower(), variant),
                fields["prefix"],
            )
            order = (rank, lowered.index(fields.get("compression", "").lower()))
            if key not in ranked or order < ranked[key][0]:
                ranked[key] = (order, root / name)
    for _, path in ranked.values():
        check_regular(path)
    return {key: path for key, (_, path) in ranked.items()}
