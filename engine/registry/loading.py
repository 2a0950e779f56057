"""Loading a dataset by format name (or by detection): the path checks, the cache, the executor
and the format's typed load options, shared by `engine.load` and projects' sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.compute import executors
from engine.errors import EngineError, FormatError, OptionError, UnknownFormatError
from engine.format import Detection
from engine.io.cache import caching
from engine.io.categories import LABELS_FILE, META_FILE
from engine.io.output import recover
from engine.io.regular import is_regular, kind_of
from engine.model import Dataset
from engine.model.lineage import Lineage, Source
from engine.registry.catalog import all_formats, detections, get_format

#: the keywords `engine.load` takes for every format, beside a format's own options
LOAD_KEYWORDS = ("subset", "cache", "cache_dir", "executor", "download")


def load_dataset(
    format: str | None,
    path: Path,
    *,
    subset: str | None = None,
    cache: bool | None = None,
    cache_dir: str | Path | None = None,
    executor: Any = None,
    **options: Any,
) -> Dataset:
    """The dataset at `path` in `format` (detected when None); see `engine.load`."""
    if not path.is_file():
        recover(path)  # a save killed mid-swap leaves its leftovers beside the folder
    with caching(cache, cache_dir):
        if format is None:
            found = detect_best(path)
            format, options = found.format, {**found.options, **options}
        fmt = get_format(format)
        try:
            checked = fmt.load_options.of(fmt.name, options)
        except OptionError as error:  # name the keywords every load takes, too
            raise OptionError(fmt.name, error.problems, [*error.accepted, *LOAD_KEYWORDS]) from None
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        with executors.using(executor) as running:
            if running is not None:
                path = path.absolute()
                running.check_paths([path])
            loaded = fmt.load(path, checked, subset=subset)
        loaded.lineage = Lineage(sources=(_source(fmt, path, subset),))
        return loaded


def _source(fmt: Any, path: Path, subset: str | None) -> Source:
    """The provenance of this read: the path and format (a folder's files are listed and hashed
    when a card is written), the spec's dataset it may be (confirmed by hash then) and the
    history a card in the folder recorded."""
    from engine.ops.card import source_of

    spec = fmt.spec
    known = spec.name if spec is not None and spec.known_files else None
    return source_of(path, fmt.name, dataset=known, subset=subset)


def detect_best(path: str | Path) -> Detection:
    """The single best detection for `path` (format, score, evidence, load options); raises
    UnknownFormatError when no format recognises it or several tie."""
    found = detections(path)
    if not found:
        _explain_undetected(Path(path))
        raise UnknownFormatError(f"{path}: no known format recognises it{_not_read(Path(path))}")
    if len(found) > 1 and found[0].score == found[1].score:
        tied = [d.format for d in found if d.score == found[0].score]
        raise UnknownFormatError(f"{path}: ambiguous, could be any of {tied}; name the format")
    return found[0]


def _not_read(path: Path) -> str:
    """A note naming the entries detection never reads (FIFOs, devices, sockets): the likely
    reason nothing recognised the folder."""
    folder = path if path.is_dir() else path.parent
    try:
        odd = sorted(
            f"{entry.name} is {kind_of(entry)}"
            for entry in folder.iterdir()
            if not entry.is_dir() and not is_regular(entry) and entry.exists()
        )
    except OSError:
        return ""
    return f" ({'; '.join(odd[:5])}, never read as data)" if odd else ""


#: files that name classes, which many formats keep beside their data
CLASS_NAME_FILES = (LABELS_FILE, META_FILE)


def _explain_undetected(path: Path) -> None:
    """When no format recognises `path` but its file names are a format's, reads it as that
    format to raise why its files failed (the FormatError naming the file and byte)."""
    folder = path if path.is_dir() else path.parent
    try:
        entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    except OSError:
        return
    if path.is_file():
        entries = [path]
    claims = {}
    for fmt in all_formats():
        owned = [e for e in entries if e.is_file() and fmt.named_like(e)]
        # a class-name file alone (labels.txt) points to no format in particular
        if any(e.name not in CLASS_NAME_FILES for e in owned):
            claims[fmt.name] = len(owned)
    if not claims:
        return
    ranked = sorted(claims, key=lambda name: (-claims[name], len(name), name))
    try:
        fmt = get_format(ranked[0])
        fmt.load(path, fmt.load_options.of(fmt.name, {}))
    except FormatError as error:
        others = f" (also the names of {', '.join(ranked[1:])})" if ranked[1:] else ""
        raise FormatError(
            error.path,
            f"{error.reason} [{path} is not recognised as any format: its file names are "
            f"{ranked[0]}'s{others}, and this file fails to read]",
            offset=error.offset,
            line=error.line,
            column=error.column,
            field=error.field,
            expected=error.expected,
            actual=error.actual,
        ) from error
    except EngineError:
        return
