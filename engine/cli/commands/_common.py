"""Helpers the subcommands share: reading an input (dataset or project), naming outputs,
filtering and saving with exporter options, each step with progress on long work.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from engine.compute import executors, progress
from engine.errors import EmptyFilterWarning, EngineError, UsageError
from engine.model import Dataset
from engine.project import CONFIG_NAME
from engine.registry import formats, get_format
from engine.registry.loading import detect_best

PROJECT = "project"


def add_input_format(
    parser: argparse.ArgumentParser, *aliases: str, skip_broken: bool = True
) -> None:
    parser.add_argument(
        "-if",
        "--input-format",
        *aliases,
        dest="input_format",
        metavar="FMT",
        help="format of the input (detected when omitted)",
    )
    if skip_broken:
        parser.add_argument(
            "--skip-broken",
            action="store_true",
            help="formats made of image files: leave unreadable files out (a warning counts them)",
        )
        parser.add_argument(
            "--follow-symlinks",
            action="store_true",
            help="image folders: read symbolic links that point outside the dataset folder",
        )


def add_scheduler_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "run the per-chunk work on this Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: "
            f"${executors.SCHEDULER_ENV}, else local processes); the workers must see the input "
            "and output paths"
        ),
    )


def add_card_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--card",
        action="store_true",
        help="also write a dataset card: README.md (Hugging Face) and croissant.json (Croissant, "
        "with each file's SHA-256), with the provenance",
    )


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-e",
        "--filter",
        metavar="EXPR",
        help="keep what this XPath selects, e.g. '/item[annotation/label=\"3\"]'",
    )
    parser.add_argument(
        "-m",
        "--filter-mode",
        default="items",
        choices=list(_filter_modes()),
        metavar="MODE",
        help="items, annotations or items+annotations (i, a, i+a); default items",
    )


def existing_path(path: str | Path) -> Path:
    """`path`, which must exist; `samples/NAME` (the examples of --help) that does not exist
    here is the sample shipped with the package, read with a note naming its folder."""
    path = Path(path)
    if path.exists():
        return path
    parts = path.parts
    if len(parts) == 2 and parts[0] == "samples":
        from engine.api import sample_path

        try:
            shipped = sample_path(parts[1])
        except EngineError:
            pass
        else:
            print(
                f"mnist-engine: note: {path} is not here; reading the sample shipped with "
                f"mnist-engine: {shipped}",
                file=sys.stderr,
            )
            return shipped
    raise FileNotFoundError(f"{path}: no such file or directory")


def _filter_modes() -> tuple[str, ...]:
    from engine.ops.filters import MODES

    return tuple(MODES)


def read_input_of(args: argparse.Namespace, path: str | Path) -> tuple[Dataset, str]:
    """`read_input` of `path` with the command's input flags (-if, --skip-broken,
    --follow-symlinks)."""
    return read_input(
        path,
        args.input_format,
        skip_broken=args.skip_broken,
        follow_symlinks=args.follow_symlinks,
    )


def read_input(
    path: str | Path,
    input_format: str | None,
    *,
    skip_broken: bool = False,
    follow_symlinks: bool = False,
) -> tuple[Dataset, str]:
    """(dataset, format name) for a dataset path (`PATH` or Datumaro's `PATH:FORMAT`) or a
    project directory. Format names are matched in any letter case (`MNIST`)."""
    if input_format is None:
        path, input_format = split_target(str(path))
    path = existing_path(path)
    if input_format is not None:
        input_format = get_format(input_format).name  # the registered spelling
    running = executors.current()
    if running is not None:
        running.check_paths([path])
    from engine.api import load

    if input_format is None and (path / CONFIG_NAME).exists():
        from engine.project import Project

        if skip_broken or follow_symlinks:
            flag = "--skip-broken" if skip_broken else "--follow-symlinks"
            raise UsageError(f"{path} is a project folder: {flag} applies to a dataset's files")

        with progress.task(f"reading project {path}"):
            return Project.open(path).dataset(), PROJECT
    options = {}
    if input_format is None:
        best = detect_best(path)
        input_format, options = best.format, dict(best.options)  # e.g. a detected split
    if skip_broken:
        if "skip_broken" not in get_format(input_format).load_options.model_fields:
            raise UsageError(
                f"--skip-broken applies to formats made of image files, not {input_format}"
            )
        options["skip_broken"] = True
    if follow_symlinks:
        if "follow_symlinks" not in get_format(input_format).load_options.model_fields:
            raise UsageError(f"--follow-symlinks applies to image folders, not {input_format}")
        options["follow_symlinks"] = True
    with progress.task(f"reading {input_format} from {path}"):
        return load(input_format, path, **options), input_format


def input_paths(target: str | Path) -> list[Path]:
    """The folders a target (`PATH`, `PATH:FORMAT` or a project) reads: an output is never
    inside them, nor holds them, and is one of them only as an in-place edit."""
    path = Path(split_target(str(target))[0])
    if (path / CONFIG_NAME).exists():
        from engine.project import Project

        return [path, *Project.open(path).source_paths()]
    return [path]


def in_place_target(target: str | Path) -> Path:
    """The folder an in-place edit of `target` (`PATH` or `PATH:FORMAT`) writes: the dataset's
    folder (the folder of one file of a subset)."""
    path = Path(split_target(str(target))[0])
    if not path.exists():  # never the shipped sample (existing_path): that is the package's
        raise FileNotFoundError(f"{path}: no such file or directory")
    return path.parent if path.is_file() else path


def in_place_output(args: argparse.Namespace, target: str | None = None) -> Path:
    """The output of a verb given no -o: its input, in place, as Datumaro does; like Datumaro,
    only with --overwrite (the dataset is then replaced in one step, see engine.io.output)."""
    given = target or args.target
    folder = in_place_target(given)
    if not args.overwrite:
        raise UsageError(
            f"{args.command} without -o changes {given} in place: pass --overwrite to do so "
            "(or -o DIR to write elsewhere)"
        )
    return folder


def is_project(target: str | Path) -> bool:
    return (Path(split_target(str(target))[0]) / CONFIG_NAME).is_file()


def apply_filter(dataset: Dataset, expression: str | None, mode: str) -> Dataset:
    """The dataset filtered by `expression` (unchanged without one); a filter that keeps no
    item is warned about (the output would be an empty dataset)."""
    if not expression:
        return dataset
    from engine.ops.filters import filter_dataset

    with progress.task("filtering", total=len(dataset)) as task:
        kept = filter_dataset(dataset, expression, mode, progress=task)
    if len(dataset) and not len(kept):
        warnings.warn(
            f"the filter {expression} keeps none of the {len(dataset)} items",
            EmptyFilterWarning,
            stacklevel=2,
        )
    return kept


def exporter_options(format_name: str, extra: list[str]) -> dict:
    """Checks the format exists and parses the words after `--` for it; `-- -h` prints the
    format's exporter options and exits, as Datumaro does."""
    from engine.cli.exporter_options import describe_options, parse_export_options

    fmt = get_format(format_name)
    if "--card" in extra:
        raise UsageError("--card is not an exporter option of one format: give it before '--'")
    if "-h" in extra or "--help" in extra:
        print(f"exporter options of {format_name} (after --):")
        print("\n".join(f"  {line}" for line in describe_options(fmt)))
        raise SystemExit(0)
    return parse_export_options(format_name, fmt, extra)


def formats_help() -> str:
    """The registered formats, one per line, for --help texts."""
    lines = [f"  {name:15} {get_format(name).description}" for name in formats()]
    return "formats (`mnist-engine formats --options` lists their exporter options):\n" + "\n".join(
        lines
    )


def write_output(
    dataset: Dataset,
    format_name: str,
    output: Path,
    options: dict,
    overwrite: bool,
    inputs: Sequence[str | Path] = (),
    *,
    card: bool = False,
) -> None:
    """Saves (never over an input), with a dataset card when asked; names in one line what an
    overwrite kept of the folder."""
    with progress.task(f"writing {format_name} to {output}"):
        from engine.api import save

        kept = save(
            dataset, format_name, output, overwrite=overwrite, inputs=inputs, card=card, **options
        )
    if kept:
        shown = ", ".join(kept[:10]) + (f" and {len(kept) - 10} more" if len(kept) > 10 else "")
        print(f"kept {len(kept)} entries of {output} that are not {format_name} files: {shown}")


def default_output(input_path: str | Path, format_name: str, parent: Path | None = None) -> Path:
    """`<input-name>-<format>` in the current (or given) directory, then `.1`, `.2`, ..."""
    name = Path(input_path).resolve().name or "dataset"
    base = (parent or Path.cwd()) / f"{name}-{format_name}"
    candidate, number = base, 0
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}.{number}")
    return candidate


def no_extra(args: argparse.Namespace) -> None:
    if getattr(args, "extra", None):
        raise UsageError(f"{args.command} takes no exporter options after '--'")


def summary(dataset: Dataset) -> str:
    parts = ", ".join(f"{name} {len(s)}" for name, s in dataset.subsets().items())
    return f"{len(dataset)} items" + (f" ({parts})" if parts else "")


def split_target(text: str) -> tuple[str, str | None]:
    """(path, format or None) from `PATH` or `PATH:FORMAT` (an existing path wins)."""
    path, colon, format_name = text.rpartition(":")
    if colon and path and format_name and not Path(text).exists() and "/" not in format_name:
        return path, format_name
    return text, None
