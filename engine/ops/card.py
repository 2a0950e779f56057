"""Dataset cards: ``README.md`` (a Hugging Face dataset card: YAML front matter with ``configs``,
``dataset_info``, license, then a description, class counts, citation and provenance) and
``croissant.json`` (Croissant 1.0 JSON-LD: each written file with its SHA-256 and size, record
sets for images and labels), written beside an export by ``engine.save(..., card=True)``.

Both are computed from the files as written (the card is written last, into the staging folder,
so the atomic swap places files and card together) and hold no timestamp unless
``SOURCE_DATE_EPOCH`` is set, so the same export written twice gives the same bytes. Each carries
a marker (the ``mnist_engine`` front-matter key, the ``mnist_engine:generator`` JSON-LD key): a
card with it is ours and an overwrite replaces it; any other ``README.md`` is the user's.
"""

from __future__ import annotations

import glob
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CardWarning, EngineError, warn_caller
from engine.io.checksums import Match, compare, stem_of
from engine.io.digests import file_digests
from engine.io.jsonfile import nesting_depth
from engine.io.visible_text import shown
from engine.io.yaml_text import dump as yaml_dump
from engine.model import NO_LABEL, Dataset
from engine.model.lineage import Lineage, Source, SourceFile, Step, files_of, plain
from specs.schema import DatasetSpec, KnownFile

README = "README.md"
CROISSANT = "croissant.json"
CARD_FILES = (README, CROISSANT)
#: the front-matter key and JSON-LD keys that mark a card as written by this engine
MARKER = "mnist_engine"
GENERATOR_KEY = "mnist_engine:generator"
PROVENANCE_KEY = "mnist_engine:provenance"
NAMESPACE = "urn:mnist-engine:"
CROISSANT_1_0 = "http://mlcommons.org/croissant/1.0"
#: how far into a file the marker is looked for (a card's marker is near its start)
HEAD_BYTES = 1 << 16
#: the largest croissant.json read back for its provenance or hashes
MAX_CARD_BYTES = 256 << 20
#: the deepest nesting read back (a load-and-save cycle nests the provenance 3 levels deeper);
#: deeper documents would exhaust the recursion of the code walking them
MAX_CARD_DEPTH = 200
#: the longest contentUrl taken as a file of the folder (the OS's PATH_MAX)
MAX_URL_BYTES = 4096

#: the Croissant 1.0 JSON-LD context, as the specification gives it, plus this engine's prefix
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    MARKER: NAMESPACE,
    # the provenance is a JSON literal (as Croissant's ``data``), not a graph of nodes
    "mnist_engine:provenance": {"@id": "mnist_engine:provenance", "@type": "@json"},
}

#: media types by file suffix (Croissant's encodingFormat)
MEDIA_TYPES = {
    ".parquet": "application/x-parquet",
    ".gz": "application/gzip",
    ".xz": "application/x-xz",
    ".bz2": "application/x-bzip2",
    ".zst": "application/zstd",
    ".zip": "application/zip",
    ".tar": "application/x-tar",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".json": "application/json",
    ".npz": "application/x-npz",
    ".npy": "application/x-npy",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
}
PARQUET = ".parquet"

#: what the ``datasets`` library accepts as a split name (datasets.splits)
HF_SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")

#: licenses as the Hub names them, and their pages (Croissant's license is a URL)
LICENSES = {
    "CC BY-SA 3.0": ("cc-by-sa-3.0", "https://creativecommons.org/licenses/by-sa/3.0/"),
    "CC BY-SA 4.0": ("cc-by-sa-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC BY 4.0": ("cc-by-4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "MIT": ("mit", "https://opensource.org/licenses/MIT"),
}


def engine_version() -> str:
    """``mnist-engine X.Y.Z``, as installed (``unknown`` when the package is not installed)."""
    try:
        return f"mnist-engine {metadata.version('mnist-engine')}"
    except metadata.PackageNotFoundError:
        return "mnist-engine (unknown version)"


# -- whose card is it --------------------------------------------------------------------------
def is_our_card(entry: Path) -> bool:
    """Whether ``entry`` is a ``README.md`` or ``croissant.json`` this engine wrote (it holds
    the marker); a user's own file of that name is not (an overwrite keeps it)."""
    if entry.name not in CARD_FILES or entry.is_symlink() or not entry.is_file():
        return False
    try:
        with open(entry, "rb") as handle:
            head = handle.read(HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    if entry.name == README:
        front = _front_matter(head)
        return front is not None and re.search(rf"(?m)^{MARKER}:\s*$", front) is not None
    return re.search(rf'"{re.escape(GENERATOR_KEY)}"\s*:\s*"mnist-engine', head) is not None


def _front_matter(text: str) -> str | None:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    return text[4 : end + 1] if end >= 0 else None


# -- provenance of a load --------------------------------------------------------------------
def source_of(path: Path, format_name: str, *, dataset: str | None, subset: str | None) -> Source:
    """The provenance record of reading ``path``: a file is recorded now (size, time); a folder
    only by its top-level entries' sizes and times, its files listed and hashed when a card is
    written (``hashed``), so a load does not walk a folder of 70,000 images twice. A card of
    ours in the folder gives the recorded history."""
    where = os.path.abspath(path)
    if path.is_file():
        files = files_of(path.parent, [path])
        return Source(str(path), format_name, dataset, subset, files, where=where)
    seen: dict[str, tuple[int, int]] = {}
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if not entry.name.startswith("."):
                    stat = entry.stat(follow_symlinks=False)
                    seen[entry.name] = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        seen = {}
    history = read_history(path)
    return Source(
        str(path), format_name, dataset, subset, (), history, listed=False, seen=seen, where=where
    )


def read_history(folder: Path) -> Lineage | None:
    """The provenance a card of ours in ``folder`` recorded, or None; a card that cannot be read
    is warned about (CardWarning) and its history left out."""
    card = folder / CROISSANT
    if not is_our_card(card):
        return None
    try:
        document = _read_json(card)
        recorded = document.get(PROVENANCE_KEY) if isinstance(document, dict) else None
        return Lineage.from_dict(recorded) if recorded is not None else None
    except (ValueError, RecursionError, OSError) as error:
        warn_caller(
            f"{card}: its recorded provenance is not readable ({error}); left out", CardWarning
        )
        return None


def _read_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_CARD_BYTES:
        raise ValueError(f"{size} bytes, more than the {MAX_CARD_BYTES} read")
    with open(path, "rb") as handle:
        data = handle.read()
    if nesting_depth(data, MAX_CARD_DEPTH) > MAX_CARD_DEPTH:
        raise ValueError(f"nested more than {MAX_CARD_DEPTH} levels deep")
    return json.loads(data.decode("utf-8"))


def hashed(
    lineage: Lineage,
    specs: Mapping[str, DatasetSpec],
    owns: Callable[[Source], Callable[[Path], bool] | None] | None = None,
) -> Lineage:
    """The lineage with the SHA-256 of every source file it read (None for a file changed since
    it was read). A folder's files are listed now: the entries ``owns(source)`` accepts (its
    format's rule; None: every entry). A source is kept as a known dataset (``specs``: name ->
    spec) only when one of its files equals a file that dataset published, as ``verify`` tells
    (byte for byte, or the same content recompressed), which the file then names: a folder
    merely in MNIST's format is not MNIST. A source's ``history`` (read from a card) is kept
    as the card recorded it."""

    def fill(source: Source) -> Source:
        # a card's recorded history stays as recorded: its paths are the card's words, never
        # read (a hostile card could name /dev/zero, a FIFO or another user's files)
        if source.listed and all(f.sha256 for f in source.files):
            return source  # recorded earlier (a card's history): kept as recorded
        root = Path(source.where or source.path)
        root = root if root.is_dir() else root.parent
        rule = owns(source) if owns is not None else None
        listing = source.files if source.listed else _listed(source, rule)
        spec = specs.get(source.dataset or "")
        known = spec.known_files if spec is not None else ()
        files = []
        for file in listing:
            path = root / file.path
            digest = _sha256_if_unchanged(path, file)
            found = _published(path, known) if digest else None
            files.append(
                replace(
                    file,
                    sha256=digest,
                    published=found.known.name if found else None,
                    match=found.status.replace("_", " ") if found else None,
                )
            )
        confirmed = any(f.published for f in files)
        dataset = source.dataset if confirmed else None
        return replace(source, files=tuple(files), dataset=dataset, listed=True, seen={})

    return lineage.map_sources(fill)


def _published(path: Path, known: Sequence[KnownFile]) -> Match | None:
    """The published file ``path`` equals (identical, or same content), as ``verify`` decides."""
    candidates = [k for k in known if stem_of(k.name) == stem_of(path.name)]
    if not candidates:
        return None
    try:
        matches = compare(path, candidates)
    except (EngineError, OSError):  # a damaged compressed stream: equal to nothing published
        return None
    return next((m for m in matches if m.status in ("identical", "same_content")), None)


def _sha256_if_unchanged(path: Path, file: SourceFile) -> str | None:
    """SHA-256 of ``path`` when its size and time are those seen on reading; else None."""
    try:
        stat = path.stat()
        if stat.st_size != file.size or (
            file.mtime_ns is not None and stat.st_mtime_ns != file.mtime_ns
        ):
            return None
        return file_digests(path, ["sha256"])["sha256"]
    except OSError:
        return None


def _listed(source: Source, owns: Callable[[Path], bool] | None) -> tuple[SourceFile, ...]:
    """The files of a folder source, as its format owns them; a top-level file whose size or
    time is not what the read saw keeps no time, so it is not hashed (it changed)."""
    root = Path(source.where or source.path)
    try:
        entries = [
            e
            for e in sorted(root.iterdir())
            if not e.name.startswith(".") and (owns is None or owns(e)) and e.name in source.seen
        ]
    except OSError:
        return ()
    files = []
    for file in files_of(root, entries):
        before = source.seen.get(file.path)
        if before is not None and before != (file.size, file.mtime_ns):
            file = replace(file, mtime_ns=-1)  # changed since the read: never matches
        files.append(file)
    return tuple(files)


def sources_in(lineage: Lineage) -> list[str]:
    """The known datasets (spec names) a lineage read, in order."""
    return list(dict.fromkeys(s.dataset for s in lineage.all_sources() if s.dataset))


# -- writing the card --------------------------------------------------------------------------
@dataclass(frozen=True)
class WrittenFile:
    """A file of the export: path relative to the folder, size, SHA-256, its split (or None)."""

    path: str
    size: int
    sha256: str
    split: str | None


@dataclass(frozen=True)
class CardFacts:
    """What both card files say, gathered once."""

    name: str
    description: str
    format: str
    files: tuple[WrittenFile, ...]
    subsets: dict[str, int]
    classes: tuple[str, ...]
    counts: dict[str, list[int]]
    specs: tuple[DatasetSpec, ...]
    lineage: Lineage
    image_shape: tuple[int, ...] | None
    target: str = ""


def write_card(
    dataset: Dataset,
    directory: Path,
    *,
    format_name: str,
    specs: Mapping[str, DatasetSpec],
    save_step: Step,
    skip: Sequence[str] = (),
    prefixes: Mapping[str, str] | None = None,
    target: Path | None = None,
    owns: Callable[[Source], Callable[[Path], bool] | None] | None = None,
) -> list[str]:
    """Writes ``README.md`` and ``croissant.json`` (but those named in ``skip``) into
    ``directory``, which holds the export just written; returns the names written.

    ``specs`` are the specs of the known datasets the lineage read (license, citation, homepage);
    ``save_step`` is recorded as the last step; ``prefixes`` map subsets to the file prefixes of
    the format (MNIST's ``t10k``), to tell which split a file holds; ``target`` is the folder
    the export becomes (named in warnings); ``owns(source)`` the rule telling the files a folder
    source was read from (see ``hashed``)."""
    lineage = hashed(dataset.lineage, specs, owns).then(save_step)
    lineage = replace(lineage, engine=engine_version())
    subsets = {name: len(part) for name, part in dataset.subsets().items()}
    facts = CardFacts(
        name=_name_of(lineage),
        description="",
        format=format_name,
        files=_written_files(directory, subsets, prefixes or {}),
        subsets=subsets,
        classes=tuple(dataset.categories),
        counts=_class_counts(dataset),
        specs=tuple(specs[name] for name in sources_in(lineage) if name in specs),
        lineage=lineage,
        image_shape=_image_shape(dataset),
        target=str(target or directory),
    )
    facts = replace(facts, description=_description(facts))
    written = []
    if CROISSANT not in skip:
        _write_text(
            directory / CROISSANT, json.dumps(croissant(facts), indent=2, ensure_ascii=False) + "\n"
        )
        written.append(CROISSANT)
    if README not in skip:
        _write_text(directory / README, readme(facts, directory))
        written.append(README)
    return written


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _written_files(
    directory: Path, subsets: Mapping[str, int], prefixes: Mapping[str, str]
) -> tuple[WrittenFile, ...]:
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(directory).as_posix()
        if relative in CARD_FILES or any(part.startswith(".") for part in Path(relative).parts):
            continue
        digest = file_digests(path, ["sha256"])["sha256"]
        found.append(
            WrittenFile(
                relative, path.stat().st_size, digest, _split_of(relative, subsets, prefixes)
            )
        )
    return tuple(sorted(found, key=lambda f: f.path))


def _split_of(relative: str, subsets: Mapping[str, int], prefixes: Mapping[str, str]) -> str | None:
    """The subset a file holds, told by its name: the longest subset name (or file prefix)
    that is the file's first path part, or starts it followed by ``-``, ``_`` or ``.``."""
    parts = relative.split("/")
    if parts[0] == "data" and len(parts) > 1:
        parts = parts[1:]
    first = parts[0]
    best: tuple[int, str] | None = None
    for name in subsets:
        for stem in {name, prefixes.get(name, name)}:
            matches = first == stem or (first.startswith(stem) and first[len(stem)] in "-_.")
            if matches and (best is None or len(stem) > best[0]):
                best = (len(stem), name)
    return best[1] if best else None


def _class_counts(dataset: Dataset) -> dict[str, list[int]]:
    """Per subset, items of each class; the last entry counts items without a label."""
    width = len(dataset.categories)
    out = {}
    for name, part in dataset.subsets().items():
        labels = np.asarray(part.labels)
        labelled = labels[labels != NO_LABEL]
        counts = np.bincount(labelled, minlength=width) if len(labelled) else np.zeros(width, int)
        out[name] = [*(int(c) for c in counts[:width]), int(np.count_nonzero(labels == NO_LABEL))]
    return out


def _image_shape(dataset: Dataset) -> tuple[int, ...] | None:
    shapes = {
        tuple(part.images.shape[1:])
        for part in dataset.subsets().values()
        if isinstance(part.images, np.ndarray) and len(part)
    }
    return shapes.pop() if len(shapes) == 1 else None


def _name_of(lineage: Lineage) -> str:
    """The dataset's name: the known dataset read, else the folder first read, else "dataset"."""
    known = sources_in(lineage)
    if known:
        return "+".join(known)
    for source in lineage.all_sources():
        name = Path(source.path).name
        if name:
            return name
    return "dataset"


def _description(facts: CardFacts) -> str:
    parts = ", ".join(f"{name} ({count})" for name, count in facts.subsets.items())
    total = sum(facts.subsets.values())
    shape = f" of {'x'.join(map(str, facts.image_shape))}" if facts.image_shape else ""
    text = (
        f"{total} images{shape} in {len(facts.classes)} classes"
        + (f"; subsets {parts}" if parts else "")
        + f"; written as {facts.format} by {facts.lineage.engine}."
    )
    if facts.specs:
        text += " From: " + "; ".join(spec.description for spec in facts.specs) + "."
    return text


def _licenses(facts: CardFacts) -> list[tuple[str, str, str | None]]:
    """(Hub id, text, URL) of each known dataset's license."""
    out: list[tuple[str, str, str | None]] = []
    for spec in facts.specs:
        if spec.sources is None:
            continue
        text = spec.sources.license
        hub, url = LICENSES.get(text, ("other", None))
        out.append((hub, text, url or spec.sources.homepage))
    return out


# -- README.md ---------------------------------------------------------------------------------
def hf_features(facts: CardFacts, directory: Path) -> list[dict[str, Any]] | None:
    """``dataset_info.features`` in the card's YAML form: from the Parquet files' own
    ``huggingface`` metadata when the export is Parquet (so they match what ``datasets`` reads),
    else image plus class label. None when a feature has no YAML form here."""
    parquet = [f for f in facts.files if f.path.endswith(PARQUET)]
    if parquet:
        found = [_parquet_features(directory / f.path) for f in parquet]
        if any(features != found[0] for features in found):
            warn_caller(
                f"{facts.target}: the Parquet files do not all hold the same columns (an id "
                "column is written only for a subset whose ids are not its row numbers 0..n-1): "
                "the card gives no features, and datasets.load_dataset cannot read the splits "
                "as one dataset",
                CardWarning,
            )
            return None
        return found[0]
    return [
        {"name": "image", "dtype": "image"},
        {"name": "label", "dtype": {"class_label": {"names": _names(facts.classes)}}},
    ]


def _names(classes: Sequence[str]) -> dict[str, str]:
    return {str(index): name for index, name in enumerate(classes)}


def _parquet_features(path: Path) -> list[dict[str, Any]] | None:
    try:
        import pyarrow.parquet as pq

        metadata = pq.read_schema(path).metadata or {}
        features = json.loads(metadata.get(b"huggingface", b"{}")).get("info", {}).get("features")
    except Exception:  # a file we just wrote: without readable metadata, no features
        return None
    if not isinstance(features, dict):
        return None
    out = []
    for name, feature in features.items():
        kind = feature.get("_type") if isinstance(feature, dict) else None
        if kind == "Image":
            out.append({"name": name, "dtype": "image"})
        elif kind == "ClassLabel":
            out.append(
                {
                    "name": name,
                    "dtype": {"class_label": {"names": _names(feature.get("names", []))}},
                }
            )
        elif kind == "Value":
            out.append({"name": name, "dtype": str(feature.get("dtype"))})
        else:
            return None
    return out


def front_matter(facts: CardFacts, directory: Path) -> dict[str, Any]:
    """The card's YAML metadata (Hugging Face's dataset card fields, then our marker)."""
    licenses = _licenses(facts)
    hub = sorted({hub for hub, _, _ in licenses}) or ["unknown"]
    meta: dict[str, Any] = {"license": hub[0] if len(hub) == 1 else hub}
    others = [(text, url) for id_, text, url in licenses if id_ == "other"]
    if others:
        meta["license_name"] = others[0][0]
        if others[0][1]:
            meta["license_link"] = others[0][1]
    meta["pretty_name"] = facts.name
    meta["task_categories"] = ["image-classification"]
    meta["size_categories"] = [_size_category(sum(facts.subsets.values()))]
    splits = _split_files(facts)
    unusable = [name for name in splits if not HF_SPLIT_NAME.match(name)]
    if unusable:
        warn_caller(
            f"subsets {unusable} are not Hugging Face split names (letters, digits, _ and "
            "dots): the card gives no configs, so datasets.load_dataset cannot read the folder "
            "by its card; rename them (transform map_subsets) to get them",
            CardWarning,
        )
    elif splits and all(f.path.endswith(PARQUET) for f in facts.files):
        meta["configs"] = [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": [glob.escape(p) for p in paths]}
                    for split, paths in splits.items()
                ],
            }
        ]
    info: dict[str, Any] = {}
    features = hf_features(facts, directory)
    if features is not None:
        info["features"] = features
    listed = list(splits) if splits else [n for n, c in facts.subsets.items() if c]
    sizes = {n: _parquet_bytes([directory / p for p in splits.get(n, [])]) for n in listed}
    info["splits"] = [
        {
            "name": n,
            **({"num_bytes": sizes[n]} if sizes[n] is not None else {}),
            "num_examples": facts.subsets[n],
        }
        for n in listed
    ]
    info["download_size"] = sum(f.size for f in facts.files)
    if listed and all(sizes[n] is not None for n in listed):
        info["dataset_size"] = sum(sizes[n] or 0 for n in listed)
    meta["dataset_info"] = info
    meta[MARKER] = {"generator": facts.lineage.engine, "format": facts.format}
    return meta


def _parquet_bytes(paths: Sequence[Path]) -> int | None:
    """The uncompressed bytes of Parquet files' row groups, as their footers give them (the
    card's ``num_bytes``); None when not Parquet or unreadable."""
    if not paths or not all(p.name.endswith(PARQUET) for p in paths):
        return None
    try:
        import pyarrow.parquet as pq

        total = 0
        for path in paths:
            meta = pq.ParquetFile(path).metadata
            total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        return total
    except Exception:  # a file we just wrote: unreadable footers mean the size is not known
        return None


def _split_files(facts: CardFacts) -> dict[str, list[str]]:
    """Split -> the files holding it, when every data file is of one split."""
    if not facts.files or any(f.split is None for f in facts.files):
        return {}
    out: dict[str, list[str]] = {}
    for name in facts.subsets:
        paths = [f.path for f in facts.files if f.split == name]
        if paths:
            out[name] = paths
    return out


def _size_category(count: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    bounds += [(1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]
    return next((label for bound, label in bounds if count < bound), "10M<n<100M")


def readme(facts: CardFacts, directory: Path) -> str:
    """The whole ``README.md``: front matter, then the description, tables, citation and
    provenance (names escaped for Markdown; the provenance in a fenced block)."""
    lines = ["---", yaml_dump(front_matter(facts, directory)).rstrip("\n"), "---", ""]
    lines += [f"# {_md(facts.name)}", "", _md(facts.description), ""]
    lines += ["## Summary", "", "| | |", "|---|---|"]
    lines.append(f"| items | {sum(facts.subsets.values())} |")
    lines.append(f"| classes | {len(facts.classes)} |")
    for name, count in facts.subsets.items():
        lines.append(f"| subset {_md(name)} | {count} |")
    if facts.image_shape:
        lines.append(f"| image shape | {'x'.join(map(str, facts.image_shape))} |")
    lines.append(f"| format | {_md(facts.format)} |")
    lines.append(f"| files | {len(facts.files)} ({sum(f.size for f in facts.files)} bytes) |")
    for _, text, url in _licenses(facts):
        lines.append(f"| license | {_md(text)}{f' ({_md(url)})' if url else ''} |")
    for spec in facts.specs:
        if spec.sources is not None:
            lines.append(f"| homepage | {_md(spec.sources.homepage)} |")
    lines += ["", "## Classes per subset", ""]
    lines += _class_table(facts)
    lines += ["", "## Files", "", "| file | split | bytes | SHA-256 |", "|---|---|---:|---|"]
    for f in facts.files:
        lines.append(f"| {_md(f.path)} | {_md(f.split or '')} | {f.size} | `{f.sha256}` |")
    citations = [spec.sources.citation for spec in facts.specs if spec.sources is not None]
    if citations:
        lines += ["", "## Citation", ""]
        lines += _fenced("\n\n".join(citations))
    lines += ["", "## Provenance", ""]
    lines += _fenced("\n".join(render_lineage(facts.lineage)))
    lines += [
        "",
        f"Written by {facts.lineage.engine} (`--card`). The `{MARKER}` key above marks this card "
        "as generated: the next export with a card replaces it; delete the key to keep your edits.",
    ]
    return "\n".join(lines) + "\n"


def _class_table(facts: CardFacts) -> list[str]:
    names = list(facts.subsets)
    header = "| label | class | " + " | ".join(_md(n) for n in names) + " |"
    lines = [header, "|---:|---|" + "---:|" * len(names)]
    for index, name in enumerate(facts.classes):
        cells = " | ".join(str(facts.counts[s][index]) for s in names)
        lines.append(f"| {index} | {_md(name)} | {cells} |")
    unlabeled = [facts.counts[s][-1] for s in names]
    if any(unlabeled):
        lines.append("| - | (no label) | " + " | ".join(map(str, unlabeled)) + " |")
    lines.append("| | total | " + " | ".join(str(facts.subsets[s]) for s in names) + " |")
    return lines


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|~])")


def _md(text: str) -> str:
    """Text as one Markdown table cell or line: specials escaped, line breaks as spaces, control
    characters as ``\\uXXXX``."""
    return _MD_SPECIAL.sub(r"\\\1", shown(" ".join(str(text).splitlines()) or ""))


def _fenced(text: str) -> list[str]:
    text = shown(text)  # a recorded path or option may hold ESC, BEL, a bidi override
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", text, fence]


def render_lineage(lineage: Lineage, indent: str = "") -> list[str]:
    """The lineage as indented text lines (the card's and ``info``'s Provenance section)."""
    lines = []
    if lineage.engine:
        lines.append(f"{indent}recorded by: {lineage.engine}")
    for source in lineage.sources:
        known = f", dataset {source.dataset}" if source.dataset else ""
        part = f", subset {source.subset}" if source.subset else ""
        lines.append(f"{indent}source: {source.path} (format {source.format}{known}{part})")
        for f in source.files:
            digest = f.sha256 or "not hashed (changed or gone since it was read)"
            same = f" = published {f.published}" if f.published else ""
            lines.append(f"{indent}  {f.path}  {f.size} B  sha256 {digest}{same}")
        if source.history is not None:
            lines.append(f"{indent}  history recorded in its card:")
            lines += render_lineage(source.history, indent + "    ")
    for number, step in enumerate(lineage.steps, 1):
        options = json.dumps(plain(step.options), ensure_ascii=False)
        seed = f" seed {step.seed}" if step.seed is not None else ""
        lines.append(f"{indent}{number}. {step.kind} {step.name} {options}{seed}")
        for index, merged in enumerate(step.inputs, 1):
            lines.append(f"{indent}   input #{index}:")
            lines += render_lineage(merged, indent + "     ")
    return lines or [f"{indent}(nothing recorded)"]


# -- croissant.json ----------------------------------------------------------------------------
def croissant(facts: CardFacts) -> dict[str, Any]:
    """The Croissant 1.0 document: metadata, one FileObject per written file (relative
    contentUrl, SHA-256, size), and record sets (classes; for Parquet, the records themselves)."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        GENERATOR_KEY: facts.lineage.engine,
    }
    doc["conformsTo"] = CROISSANT_1_0
    doc["name"] = facts.name
    doc["description"] = facts.description
    licenses = [url or text for _, text, url in _licenses(facts)]
    if licenses:
        doc["license"] = licenses[0] if len(licenses) == 1 else licenses
    homepages = [s.sources.homepage for s in facts.specs if s.sources is not None]
    if homepages:
        doc["url"] = homepages[0]
    citations = [s.sources.citation for s in facts.specs if s.sources is not None]
    if citations:
        doc["citeAs"] = "\n\n".join(citations)
    published = _date_published()
    if published:
        doc["datePublished"] = published
    ids = _node_ids([f.path for f in facts.files])
    doc["distribution"] = [
        {
            "@type": "cr:FileObject",
            "@id": ids[f.path],
            "name": f.path,
            "contentUrl": f.path,
            "encodingFormat": _media_type(f.path),
            "sha256": f.sha256,
            "contentSize": f"{f.size} B",
        }
        for f in facts.files
    ]
    doc["recordSet"] = [_classes_record_set(facts.classes)] if facts.classes else []
    records = _parquet_record_set(facts) or _image_record_set(facts)
    if records is not None:
        doc["distribution"].append(records[0])
        doc["recordSet"].append(records[1])
    doc[PROVENANCE_KEY] = facts.lineage.to_dict()
    return doc


def _node_ids(paths: Sequence[str]) -> dict[str, str]:
    """A JSON-LD ``@id`` per file: its path with characters other than letters, digits and
    ``._/-`` as ``_`` (mlcroissant takes no white space in ids), made unique with ``~N``."""
    taken = {"parquet-files", "default", "classes"}
    out = {}
    for path in paths:
        base = re.sub(r"[^A-Za-z0-9._/-]", "_", path) or "_"
        node, number = base, 1
        while node in taken:
            number += 1
            node = f"{base}~{number}"
        taken.add(node)
        out[path] = node
    return out


def _date_published() -> str | None:
    """The date of ``SOURCE_DATE_EPOCH`` (reproducible builds), when it is set; else none."""
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text.isdigit():
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(text)))


def _media_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return MEDIA_TYPES.get(suffix, "application/octet-stream")


def _classes_record_set(classes: Sequence[str]) -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": "classes",
        "name": "classes",
        "description": "The class names, by label index.",
        "key": {"@id": "classes/label"},
        "field": [
            {
                "@type": "cr:Field",
                "@id": "classes/label",
                "name": "classes/label",
                "dataType": "sc:Integer",
            },
            {
                "@type": "cr:Field",
                "@id": "classes/name",
                "name": "classes/name",
                "dataType": "sc:Text",
            },
        ],
        "data": [{"classes/label": i, "classes/name": name} for i, name in enumerate(classes)],
    }


def _parquet_record_set(facts: CardFacts) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """For a Parquet export: a FileSet of exactly the written shards and the record set reading
    image (PNG bytes), label and split from them."""
    files = [f for f in facts.files if f.path.endswith(PARQUET)]
    if not files or len(files) != len(facts.files):
        return None
    file_set = {
        "@type": "cr:FileSet",
        "@id": "parquet-files",
        "name": "parquet-files",
        "encodingFormat": MEDIA_TYPES[PARQUET],
        "includes": [glob.escape(f.path) for f in files],
    }
    source = {"fileSet": {"@id": "parquet-files"}}
    fields: list[dict[str, Any]] = [
        {
            "@type": "cr:Field",
            "@id": "default/image",
            "name": "default/image",
            "description": "The image (PNG).",
            "dataType": "sc:ImageObject",
            "source": {
                **source,
                "extract": {"column": "image"},
                "transform": {"jsonPath": "bytes"},
            },
        },
        {
            "@type": "cr:Field",
            "@id": "default/label",
            "name": "default/label",
            "description": "The label index (classes/label); -1: no label.",
            "dataType": "sc:Integer",
            "source": {**source, "extract": {"column": "label"}},
        },
    ]
    splits = {f.split for f in files}
    if None not in splits:
        names = sorted((s for s in splits if s is not None), key=len, reverse=True)
        pattern = "^(" + "|".join(re.escape(n) for n in names) + r")[-_.]"
        fields.append(
            {
                "@type": "cr:Field",
                "@id": "default/split",
                "name": "default/split",
                "description": "The subset (split) of the item.",
                "dataType": "sc:Text",
                "source": {
                    **source,
                    "extract": {"fileProperty": "filename"},
                    "transform": {"regex": pattern},
                },
            }
        )
    record_set = {
        "@type": "cr:RecordSet",
        "@id": "default",
        "name": "default",
        "description": "The items: image, label and split.",
        "field": fields,
    }
    return file_set, record_set


def _inside(relative: str) -> bool:
    """Whether a card's ``contentUrl`` names a file inside the folder (relative, no ``..``)."""
    parts = relative.split("/")
    return (
        bool(relative)
        and "\0" not in relative  # names no file (the OS refuses it: ValueError)
        and len(relative.encode("utf-8", "surrogatepass")) <= MAX_URL_BYTES
        and max(len(part.encode("utf-8", "surrogatepass")) for part in parts) <= 255
        and not relative.startswith("/")
        and "\\" not in relative
        and (".." not in parts and ":" not in parts[0] and "" not in parts)
    )


def _image_record_set(facts: CardFacts) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """For an export of image files in folders named after subsets and/or classes
    (``<subset>/<class>/<id>.png``, ``<class>/...``, ``<subset>/...`` or flat): a FileSet of
    them and the record set reading each image with its class name and split from its path.
    None for any other layout (nested side files, mixed depths, a name both subset and class)."""
    images = [f for f in facts.files if _media_type(f.path).startswith("image/")]
    if not images or any("/" in f.path for f in facts.files if f not in images):
        return None
    depths = {f.path.count("/") for f in images}
    if len(depths) != 1:
        return None
    depth = depths.pop()
    folders = [f.path.split("/")[:-1] for f in images]
    subsets, classes = set(facts.subsets), set(facts.classes)
    known: dict[int, list[tuple[str, ...]]] = {
        0: [()],
        1: [("split",), ("label",)],
        2: [("split", "label")],
    }
    layouts = known.get(depth, [])
    fits = [
        layout
        for layout in layouts
        if all(
            part in (subsets if role == "split" else classes)
            for parts in folders
            for role, part in zip(layout, parts, strict=True)
        )
    ]
    if len(fits) != 1 or (depth and subsets & classes):
        return None
    layout = fits[0]
    patterns = sorted(
        {
            "/".join([*map(glob.escape, parts), "*" + glob.escape(Path(f.path).suffix)])
            for parts, f in zip(folders, images, strict=True)
        }
    )
    file_set = {
        "@type": "cr:FileSet",
        "@id": "image-files",
        "name": "image-files",
        "encodingFormat": _media_type(images[0].path),
        "includes": patterns,
    }
    source = {"fileSet": {"@id": "image-files"}}
    fields: list[dict[str, Any]] = [
        {
            "@type": "cr:Field",
            "@id": "default/image",
            "name": "default/image",
            "description": "The image.",
            "dataType": "sc:ImageObject",
            "source": {**source, "extract": {"fileProperty": "content"}},
        }
    ]
    meaning = {"split": "The subset (split) of the item.", "label": "The class name."}
    for position, role in enumerate(layout):
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"default/{role}",
                "name": f"default/{role}",
                "description": meaning[role] + " (its folder)",
                "dataType": "sc:Text",
                "source": {
                    **source,
                    "extract": {"fileProperty": "fullpath"},
                    "transform": {"regex": "^" + "[^/]+/" * position + "([^/]+)/"},
                },
            }
        )
    record_set = {
        "@type": "cr:RecordSet",
        "@id": "default",
        "name": "default",
        "description": "The items: " + ", ".join(["image", *layout]) + ".",
        "field": fields,
    }
    return file_set, record_set


# -- checking a card against its folder ---------------------------------------------------------
def recorded_files(folder: Path) -> dict[str, tuple[str, int | None]] | None:
    """The files a card of ours lists (relative path -> (SHA-256, size)), or None when the
    folder has no card of ours; a card that cannot be read raises ValueError."""
    card = folder / CROISSANT
    if not is_our_card(card):
        return None
    try:
        document = _read_json(card)
    except (ValueError, RecursionError, OSError) as error:
        raise ValueError(f"{card}: not readable JSON ({error})") from None
    out: dict[str, tuple[str, int | None]] = {}
    entries = document.get("distribution") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("@type") != "cr:FileObject":
            continue
        url, digest = entry.get("contentUrl"), entry.get("sha256")
        if not isinstance(url, str) or not _inside(url):
            continue  # a URL, or a path leaving the folder: not a file of this export
        if isinstance(digest, str):
            size = str(entry.get("contentSize", "")).removesuffix(" B")
            # ASCII digits only: str.isdigit takes "²" (int() refuses it) and 5,000 digits
            known = re.fullmatch("[0-9]{1,20}", size) is not None
            out[url] = (digest, int(size) if known else None)
    return out
