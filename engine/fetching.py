"""`engine.fetch`: a dataset's published files, fetched from the mirrors its spec declares and
verified (see `engine.ops.fetch`). Here the registry is at hand, so this is also where a converted
copy (the Hub's Parquet) is rebuilt with the engine's own writers, and where a dataset published
nowhere in its own format (`mnist_csv`) is written from its source dataset's fetched files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import DownloadError
from engine.io.transfer import MirrorFailed, download, make_session
from engine.ops.fetch import (
    LOCKS,
    FetchedFile,
    Fetcher,
    default_root,
    plan,
    sources_of,
    timeout_of,
    user_mirrors,
)
from engine.registry import get_format
from engine.registry.loading import load_dataset
from specs.schema import ConvertedCopy, CsvLayout, DatasetSpec, NpzLayout


def fetch(
    name: str,
    root: str | Path | None = None,
    *,
    subsets: Sequence[str] | None = None,
    split: str | None = None,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
    layout: str | None = None,
    timeout: float | tuple[float, float] | None = None,
) -> Path:
    """Fetches the published files of dataset `name` that a load of `subsets` (default: all) of
    variant `split` (EMNIST; default: all) needs into `root`, verified; returns `root`.

    `root` defaults to `$MNIST_ENGINE_DATA/<name>`, else the user's data folder. Files already
    there that verify are kept. `mirrors` (base URLs, `file://` URLs or folders) and
    `$MNIST_ENGINE_MIRRORS` are tried before the declared mirrors; a mirror that fails is left
    behind for the other files. `layout` picks another published layout (`"npz"` for KMNIST's
    archives); `timeout` is seconds (connect, read). `progress=None` shows byte bars when the
    command line enabled progress; True always, False never. DownloadError lists every mirror and
    its answer when a file cannot be obtained.
    """
    return fetch_report(
        name,
        root,
        subsets=subsets,
        split=split,
        mirrors=mirrors,
        progress=progress,
        layout=layout,
        timeout=timeout,
    )[0]


def fetch_report(
    name: str,
    root: str | Path | None = None,
    *,
    subsets: Sequence[str] | None = None,
    split: str | None = None,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
    layout: str | None = None,
    timeout: float | tuple[float, float] | None = None,
) -> tuple[Path, list[FetchedFile]]:
    """`fetch`, also returning how each file got there and how it compares (for the CLI)."""
    spec = spec_of(name)
    folder = Path(root).expanduser() if root is not None else default_root(spec.name)
    sources = sources_of(spec, folder)
    seconds = timeout_of(timeout)
    if sources.derived_from:
        done = _derive(spec, sources.derived_from, folder, subsets, mirrors, progress, seconds)
        return folder, done
    fetcher = Fetcher(
        spec,
        folder,
        [*user_mirrors(mirrors), *sources.mirrors],
        seconds,
        progress,
        rebuild=lambda copy, wanted, staging: _rebuild(spec, copy, wanted, staging, seconds),
    )
    return folder, fetcher.run(plan(spec, subsets, split, layout))


def spec_of(name: str) -> DatasetSpec:
    """The spec of dataset `name` (UnknownFormatError with a did-you-mean for a typo)."""
    spec = get_format(name).spec
    if spec is None:
        raise DownloadError(
            f"{name}: a format, not a dataset with published files; fetch a dataset (see "
            "`mnist-engine download describe`) and convert it"
        )
    return spec


def _rebuild(
    spec: DatasetSpec,
    copy: ConvertedCopy,
    subsets: Sequence[str],
    staging: Path,
    timeout: tuple[float, float],
) -> Path:
    """Downloads the converted copy of `subsets`, reads it with its format and writes it with
    the spec's own writer; returns the folder holding the rebuilt files."""
    held = staging / "copy"
    held.mkdir(parents=True, exist_ok=True)
    session = make_session()
    try:
        for subset in subsets:
            url = copy.subsets[subset]
            file_name = url.rsplit("/", 1)[-1].split("?", 1)[0]
            part = held / (file_name + ".part")
            try:
                download(url, part, name=file_name, session=session, timeout=timeout, hashes=())
            except MirrorFailed as failure:
                raise DownloadError(f"{url}: {failure}") from None
            os.replace(part, held / file_name)
    finally:
        session.close()
    dataset = load_dataset(copy.format, held)
    rebuilt = staging / "rebuilt"
    _write(dataset, spec.name, rebuilt)
    return rebuilt


def _write(dataset: Any, format_name: str, folder: Path) -> None:
    """`dataset` written by format `format_name`'s own writer into the new folder `folder`."""
    fmt = get_format(format_name)
    folder.mkdir(parents=True)
    fmt.save(dataset, folder, fmt.options.of(fmt.name, {}))


def _derive(
    spec: DatasetSpec,
    source: str,
    root: Path,
    subsets: Sequence[str] | None,
    mirrors: Sequence[str] | None,
    progress: bool | None,
    timeout: tuple[float, float],
) -> list[FetchedFile]:
    """A dataset no living source publishes in its own format: its source dataset is fetched
    (into the source's own data folder) and each missing subset written by this spec's writer."""
    source_spec = spec_of(source)
    wanted = (
        list(subsets)
        if subsets
        else sorted(
            {
                s
                for f in (source_spec.sources.files if source_spec.sources else ())
                for s in f.subsets
            }
        )
    )
    done: list[FetchedFile] = []
    todo = []
    for subset in wanted:
        present = [root / n for n in _written_names(spec, subset) if (root / n).is_file()]
        if present:
            done.extend(FetchedFile(p.name, p, "present", "unverified") for p in present)
        else:
            todo.append(subset)
    if not todo:
        return done
    source_root = fetch(source, subsets=todo, mirrors=mirrors, progress=progress, timeout=timeout)
    staging = root / LOCKS / f"derive-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        for subset in todo:
            dataset = load_dataset(source, source_root, subset=subset)
            out = staging / subset
            _write(dataset, spec.name, out)
            for produced in sorted(out.iterdir()):
                if produced.is_file():
                    target = root / produced.name
                    os.replace(produced, target)
                    done.append(FetchedFile(produced.name, target, "derived", "unverified", source))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done


def _written_names(spec: DatasetSpec, subset: str) -> list[str]:
    """The file names the spec's writer gives a subset (its first name pattern)."""
    layout = spec.layout
    patterns = layout.file_names if isinstance(layout, CsvLayout) else layout.images_names
    compressions = ("",) if isinstance(layout, NpzLayout) else layout.compressions or ("",)
    suffix = spec.subset_compressions.get(subset, compressions[0])
    return [p.format(prefix=spec.prefix_of(subset)) + suffix for p in patterns[:1]]
