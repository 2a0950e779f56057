"""Reading many image files at once (a folder, or members of an archive) with `skip_broken`.

A file that is not a readable image is a FormatError naming it; with `skip_broken` it is left out
and one FormatWarning counts and names what was skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from engine.errors import FormatError, FormatWarning, hint, warn_caller
from engine.io.images import IMAGE_EXTENSIONS, decode_images

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key putting 'img2' before 'img10', so numbered ids keep their numeric order."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))


def list_files(root: Path, *, follow_symlinks: bool = False) -> list[PurePosixPath]:
    """Every file below `root` as a relative path, hidden names skipped, natural order (a FIFO
    or a device is listed too, to be refused when read rather than passed over).

    Symbolic links (to files or to folders) that lead outside `root` are left out with one
    warning naming them, unless `follow_symlinks`; a folder link leading inside `root` is not
    walked twice (its files are listed where they really are). Link loops are walked once.
    """
    found: list[PurePosixPath] = []
    linked_folders: list[str] = []
    base = os.path.realpath(root)
    seen = {base}
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, relative + "/"))
            elif entry.is_symlink() and entry.is_dir():
                real = os.path.realpath(entry.path)
                if real == base or real.startswith(base + os.sep):
                    continue  # its files are listed at their real place
                if not follow_symlinks:
                    linked_folders.append(relative + "/")
                elif real not in seen:
                    seen.add(real)
                    stack.append((entry.path, relative + "/"))
            elif entry.is_file() or os.path.exists(entry.path):
                found.append(PurePosixPath(relative))  # a FIFO or device: refused when read
    if not follow_symlinks:
        outside = set(links_outside(root, [str(p) for p in found], linked_folders))
        found = [p for p in found if str(p) not in outside]
    return sorted(found, key=lambda p: natural_key(str(p)))


def links_outside(root: Path, names: Sequence[str], folders: Sequence[str] = ()) -> list[str]:
    """The names (relative to `root`) that resolve outside `root`; warns once naming them and
    the linked `folders` (left out whole, as they lead outside too)."""
    base = os.path.realpath(root)
    outside = []
    for name in names:
        real = os.path.realpath(root / name)
        if real != base and not real.startswith(base + os.sep):
            outside.append(name)
    named = [*folders, *outside]
    if named:
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        warn_caller(
            f"{root}: {len(named)} symbolic links lead outside the dataset folder and were not "
            f"followed: {shown}; pass {hint('follow_symlinks=True', '--follow-symlinks')} to "
            "read them",
            FormatWarning,
        )
    return outside


def is_image_name(name: str | PurePosixPath) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


@dataclass
class ReadImages:
    """Images read from a list of files: the pixels kept, their positions in the list, the rest."""

    images: list[np.ndarray]
    kept: list[int]
    skipped: list[tuple[str, str]]


def read_images(
    names: Sequence[str],
    sources: Sequence[str | bytes],
    *,
    container: Path,
    skip_broken: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
) -> ReadImages:
    """Decodes `sources` (paths or bytes; `names` are their relative names inside `container`).

    Files without an image extension are not items (notes, a README, files an overwrite kept):
    they are left out with a warning naming them, as torchvision's ImageFolder leaves them out.
    An image file that does not decode is a FormatError, or skipped and counted with `skip_broken`.
    """
    candidates = [i for i, name in enumerate(names) if is_image_name(name)]
    skipped = [
        (names[i], f"not an image file (extension {PurePosixPath(names[i]).suffix or 'none'!r})")
        for i in range(len(names))
        if not is_image_name(names[i])
    ]
    if skipped and not skip_broken:
        _warn_not_images(container, [name for name, _ in skipped])
        skipped = []
    decoded = decode_images([sources[i] for i in candidates], workers=workers, progress=progress)
    images, kept = [], []
    for index, result in zip(candidates, decoded, strict=True):
        if isinstance(result, str):
            skipped.append((names[index], result))
        else:
            images.append(result)
            kept.append(index)
    skipped.sort(key=lambda entry: natural_key(entry[0]))
    if skipped and not skip_broken:
        _raise_broken(container, *skipped[0], len(skipped))
    if skipped:
        shown = ", ".join(name for name, _ in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warn_caller(
            f"{container}: skipped {len(skipped)} of {len(names)} files that are not readable "
            f"images: {shown}{more}",
            FormatWarning,
        )
    return ReadImages(images, kept, skipped)


def _warn_not_images(container: Path, names: list[str]) -> None:
    shown = ", ".join(sorted(names, key=natural_key)[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    warn_caller(
        f"{container}: left out {len(names)} files that are not images: {shown}{more}",
        FormatWarning,
    )


def _raise_broken(container: Path, name: str, reason: str, count: int) -> None:
    others = f" ({count - 1} more such files)" if count > 1 else ""
    location = container / name if container.is_dir() else container
    raise FormatError(
        location,
        f"{name + ': ' if '/' in name or location == container else ''}{reason}{others}; "
        f"pass {hint('skip_broken=True', '--skip-broken')} to skip such files",
        field="image",
        expected="a readable image",
        actual=reason,
    )
