"""The subcommands of the command line, named here so that `mnist-engine --help` and `--version`
import none of them, and a run imports only its own: each module has NAME, EXAMPLE,
add_arguments and run, and may have EXPORTER_OPTIONS and `more_help()` (text added to its --help).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, Datumaro's other names for it, one line of help, its module."""

    name: str
    module: str
    help: str
    aliases: tuple[str, ...] = ()

    @property
    def NAME(self) -> str:
        return self.name

    def load(self) -> ModuleType:
        """The command's module (imported now)."""
        return importlib.import_module(f"engine.cli.commands.{self.module}")


COMMANDS = [
    Command(
        "convert", "convert", "convert a dataset to another format (exporter options after --)"
    ),
    Command(
        "create",
        "create",
        "create a project: a folder whose project.toml lists datasets to merge and export",
    ),
    Command("import", "import_", "add a dataset to a project as a source (name, format, path)"),
    Command(
        "sources",
        "sources",
        "list a project's sources (name, format, path), or remove one with --remove",
    ),
    Command(
        "export",
        "export",
        "export a project: its sources merged subset by subset, optionally filtered",
    ),
    Command(
        "filter",
        "filter",
        "filter a dataset in place (--overwrite) or into -o DIR, or record a filter in a "
        "project (applied on export)",
    ),
    Command(
        "transform",
        "transform",
        "split, remap labels, rename subsets, reindex ... a dataset or a project "
        "(options after --)",
    ),
    Command("merge", "merge", "merge datasets or projects into one (exporter options after --)"),
    Command(
        "compare",
        "compare",
        "compare two datasets item by item (exit 1 when they differ)",
        ("diff",),
    ),
    Command(
        "detect",
        "detect",
        "name the formats a dataset could be, best first, with the evidence seen",
        ("detect-format",),
    ),
    Command(
        "info",
        "info",
        "show the format, subsets, counts and classes of a dataset (or a project)",
        ("dinfo",),
    ),
    Command(
        "stats",
        "stats",
        "show counts per class, pixel mean/std per subset (for normalisation) and image sizes",
    ),
    Command(
        "validate",
        "validate",
        "check a dataset against its format (and others), its classes and published checksums",
    ),
    Command(
        "dedup",
        "dedup",
        "find identical and near-duplicate images within and across subsets (train/test leakage)",
    ),
    Command(
        "report",
        "report",
        "write one self-contained HTML page about a dataset: classes, mean images, samples, "
        "quality findings, duplicates",
    ),
    Command(
        "verify",
        "verify",
        "check files against the published ones (exit 1 when one differs or cannot be verified)",
    ),
    Command(
        "download",
        "download",
        "fetch a dataset's published files, verified (get), or list what is declared (describe)",
    ),
    Command(
        "preview",
        "preview",
        "draw a contact sheet (PNG): one labelled row of sample images per class",
    ),
    Command("formats", "formats", "list the formats this installation reads and writes"),
    Command(
        "synth",
        "synth",
        "write a synthetic MNIST-like dataset (digits rendered with Pillow), for pipeline tests",
    ),
]


def find(word: str) -> Command | None:
    """The command `word` names (a name or an alias), None when none does."""
    return next((c for c in COMMANDS if word == c.name or word in c.aliases), None)
