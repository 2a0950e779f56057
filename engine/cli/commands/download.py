"""`download get` / `download describe` (Datumaro's spelling): fetch a dataset's published files
from the mirrors its spec declares, verified, optionally converting them; or list what is
declared (files, sizes, hashes, mirrors, license, citation)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.cli.commands._common import (
    default_output,
    exporter_options,
    no_extra,
    summary,
    write_output,
)
from engine.compute import progress
from engine.errors import UsageError
from engine.fetching import fetch_report, spec_of
from engine.ops.fetch import MIRRORS_ENV, default_root
from engine.registry import formats, get_format
from engine.registry.loading import load_dataset
from specs.schema import DatasetSpec

NAME = "download"
EXAMPLE = "mnist-engine download get -i mnist -o ./mnist   |   mnist-engine download describe"
EXPORTER_OPTIONS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    get = actions.add_parser(
        "get",
        help="fetch the files into a folder (then convert them with -f)",
        description="Fetches the published files a load needs from the declared mirrors (your "
        f"--mirror and ${MIRRORS_ENV} first), verifies them and renames them into place. "
        "With -f, the files are fetched into the data folder and the dataset written to -o in "
        "that format (exporter options after --).",
    )
    get.add_argument("-i", "--dataset-id", required=True, metavar="NAME", help="dataset name")
    get.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="folder for the files (default: $MNIST_ENGINE_DATA/NAME, else the data folder); "
        "with -f, the converted dataset",
    )
    get.add_argument("-f", "--output-format", metavar="FMT", help="convert to this format")
    get.add_argument(
        "-s", "--subset", action="append", metavar="SUBSET", help="only this subset (repeatable)"
    )
    get.add_argument("--split", metavar="SPLIT", help="only this split (EMNIST)")
    get.add_argument("--layout", metavar="CODEC", help="another published layout (kmnist: npz)")
    get.add_argument(
        "--mirror",
        action="append",
        metavar="URL",
        help="try this mirror first: a base URL, file:// URL or folder (repeatable)",
    )
    get.add_argument("--timeout", type=float, metavar="SECONDS", help="connect and read timeout")
    get.add_argument("--overwrite", action="store_true", help="with -f: replace a non-empty -o")
    describe = actions.add_parser(
        "describe", help="list the datasets that can be fetched, their files and mirrors"
    )
    describe.add_argument("-i", "--dataset-id", metavar="NAME", help="only this dataset")
    describe.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    if args.action == "describe":
        no_extra(args)
        return _describe(args)
    return _get(args)


def _get(args: argparse.Namespace) -> int:
    if args.extra and not args.output_format:
        raise UsageError("exporter options after '--' need -f/--output-format")
    options = exporter_options(args.output_format, args.extra) if args.output_format else {}
    spec = spec_of(args.dataset_id)
    converting = args.output_format is not None
    root = default_root(spec.name) if converting or not args.output_dir else Path(args.output_dir)
    folder, done = fetch_report(
        spec.name,
        root,
        subsets=args.subset,
        split=args.split,
        mirrors=args.mirror,
        layout=args.layout,
        timeout=args.timeout,
    )
    for file in done:
        source = f" from {file.source}" if file.source and file.how != "present" else ""
        print(f"{file.name}: {file.how} ({file.verdict}){source}")
    print(f"{spec.name}: {len(done)} files in {folder}")
    if not converting:
        return 0
    load_options: dict[str, Any] = {}
    if args.split and spec.variants:
        load_options[spec.variant_option] = args.split
    if args.layout:
        load_options["layout"] = args.layout
    subset = args.subset[0] if args.subset and len(args.subset) == 1 else None
    with progress.task(f"reading {spec.name}"):
        dataset = load_dataset(spec.name, folder, subset=subset, **load_options)
    output = (
        Path(args.output_dir) if args.output_dir else default_output(spec.name, args.output_format)
    )
    write_output(dataset, args.output_format, output, options, args.overwrite, [folder])
    print(f"wrote {summary(dataset)} as {args.output_format} to {output}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    names = [args.dataset_id] if args.dataset_id else formats()
    entries = []
    for name in names:
        spec = spec_of(name) if args.dataset_id else get_format(name).spec
        if spec is not None and spec.sources is not None:
            entries.append(describe_spec(spec))
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:
        print(_text(entry))
    return 0


def describe_spec(spec: DatasetSpec) -> dict[str, Any]:
    """What a spec declares about obtaining its files, as plain data."""
    sources = spec.sources
    assert sources is not None
    known = {k.name: k for k in (*spec.known_files, *sources.archives)}
    files = []
    for file in sources.files:
        entry: dict[str, Any] = {
            "name": file.name,
            "subsets": list(file.subsets),
            "layout": file.layout or spec.layout.codec,
        }
        if file.variant:
            entry["variant"] = file.variant
        if file.archive:
            entry["archive"] = file.archive
            entry["member"] = file.member or file.name
        published = known.get(file.name)
        if published is not None:
            entry.update(published.model_dump(exclude={"name"}, exclude_none=True))
        files.append(entry)
    return {
        "name": spec.name,
        "description": spec.description,
        "homepage": sources.homepage,
        "license": sources.license,
        "citation": sources.citation,
        "mirrors": [m.url or m.files for m in sources.mirrors],
        "archives": [a.model_dump(exclude_none=True) for a in sources.archives],
        "files": files,
        "converted": [c.model_dump() for c in sources.converted],
        "derived_from": sources.derived_from,
        "login_required": sources.login_required,
        "content_proof": sources.content_proof,
    }


def _text(entry: dict[str, Any]) -> str:
    lines = [f"{entry['name']}: {entry['description']}"]
    lines.append(f"  homepage: {entry['homepage']}")
    lines.append(f"  license:  {entry['license']}")
    lines.append(f"  cite:     {entry['citation']}")
    if entry["login_required"]:
        lines.append(f"  login:    {entry['login_required']}")
    if entry["derived_from"]:
        lines.append(f"  written from the fetched {entry['derived_from']} files by our writer")
    for mirror in entry["mirrors"]:
        lines.append(f"  mirror:   {mirror}")
    for copy in entry["converted"]:
        lines.append(f"  last resort: {copy['note'] or copy['format']} ({copy['format']})")
    for archive in entry["archives"]:
        lines.append(f"  archive:  {_file_line(archive)}")
    for file in entry["files"]:
        where = f" (in {file['archive']})" if "archive" in file else ""
        lines.append(f"  file:     {_file_line(file)}{where} [{', '.join(file['subsets'])}]")
    if entry["content_proof"]:
        lines.append(f"  converted copies: {entry['content_proof']}")
    return "\n".join(lines) + "\n"


def _file_line(file: dict[str, Any]) -> str:
    parts = [file["name"]]
    if "size" in file:
        parts.append(f"{file['size']:,} bytes")
    if "sha256" in file:
        parts.append(f"sha256 {file['sha256']}")
    elif "md5" in file:
        parts.append(f"md5 {file['md5']}")
    else:
        parts.append("no published hash")
    return ", ".join(parts)
