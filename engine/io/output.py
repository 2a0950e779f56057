"""Output folders that are never lost: a save is staged beside the target and swapped in whole.

The design, so that a `kill -9` at any moment leaves the old or the new dataset at the output path:

1. Before anything is written, an output inside an input, or holding one, is refused; an output
   that is an input is an in-place edit, allowed only with `overwrite` (it is then replaced by
   steps 2-4, so a crash leaves the old or the new dataset). Leftovers of killed runs beside the
   target are recovered (see step 5).
2. The new dataset is written into a staging folder `.NAME.TOKEN.tmp` beside the target, held
   under an exclusive `flock` while the run is alive (so no other run takes it for a leftover).
3. A new output is renamed into place with `renameat2(RENAME_NOREPLACE)` (Linux; elsewhere a
   checked `rename`): of two saves into one new folder exactly one wins, the other gets
   `OutputExistsError`.
4. An overwrite replaces the *dataset*, not the folder's other contents. The entries of the old
   folder that the format does not own (`Format.owns`) and the new dataset does not write are
   "foreign"; their names go into a marker file `.engine-swap.TOKEN.json` inside the staging
   folder. Then the staging folder and the target are exchanged in one step
   (`renameat2(RENAME_EXCHANGE)`; elsewhere two renames via `.NAME.TOKEN.old`), the foreign
   entries are moved (renamed, never copied) from the retired folder into the new one, the marker
   is removed, and the retired folder, now holding only the old dataset's files, is deleted.
   Stale files of the format (a `train` file when only `test` is written now) go with it.
5. Recovery (at the next save to, or load of, the folder): a leftover that no live run holds is
   either a `.old` with no target (the swap stopped between its two renames: renamed back), a
   retired folder whose marker is still in the target (its foreign entries are moved across
   first), or a plain staging folder (deleted).

The folder's identity (its inode) changes on overwrite: a shell whose working directory is the
output is left in the retired folder; its contents are at the same path.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import EngineError, OutputError, OutputExistsError, hint

#: marker file (inside the new folder, during a swap) listing the entries carried over
MARKER = ".engine-swap.{token}.json"
_MARKER_RE = re.compile(r"^\.engine-swap\.([0-9a-f]{12}|[a-z0-9_]{8})\.json$")

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def check_output_dir(path: str | Path, overwrite: bool) -> Path:
    """Raises when `path` is a file, or a non-empty directory and `overwrite` is false."""
    path = Path(path)
    if path.is_symlink():
        raise OutputExistsError(
            f"{path}: is a symbolic link; name the folder it points to ({os.path.realpath(path)})"
        )
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path}: exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{path}: directory is not empty; pass {hint('overwrite=True', '--overwrite')} to "
            "replace it"
        )
    return path


class InputPath(type(Path())):  # type: ignore[misc]
    """An input's absolute path, with the identity (device, inode) of the folder it names (the
    folder of one file) when it was read: the folder is still known as the input after a rename,
    and a relative path read before a change of directory still names it."""

    #: (st_dev, st_ino) of the input's folder when it was read; None when unknown
    identity: tuple[int, int] | None = None
    #: whether the input named one file of the folder (then never written over as a whole)
    one_file = False


def input_path(path: str | Path) -> Path:
    """`path` as an `InputPath`: absolute, remembering its folder (call it when reading)."""
    absolute = InputPath(os.path.abspath(path))
    with contextlib.suppress(OSError):
        absolute.one_file = absolute.is_file()
        folder = os.stat(absolute.parent if absolute.one_file else absolute)
        absolute.identity = (folder.st_dev, folder.st_ino)
    return absolute


def input_folder(given: str | Path, target: Path) -> tuple[Path, Path, bool]:
    """(source, folder, one_file) of the input `given` as the rule sees it beside the resolved
    output `target`: its resolved path, its folder (that of one file of a subset), and whether it
    is one file. A folder renamed or moved since it was read is found by its identity when it is
    `target` or a folder above it."""
    source = Path(given).resolve()
    one_file = source.is_file()
    folder = source.parent if one_file else source
    identity = getattr(given, "identity", None)
    if identity is not None:
        for candidate in (target, *target.parents):
            with contextlib.suppress(OSError):
                found = os.stat(candidate)
                if (found.st_dev, found.st_ino) == identity:
                    if candidate != folder:  # renamed since read: that folder is the input
                        return candidate, candidate, bool(getattr(given, "one_file", False))
                    break
    return source, folder, one_file


def check_not_input(
    output: str | Path, inputs: Iterable[str | Path], *, overwrite: bool = False
) -> None:
    """The one rule for outputs and inputs (every verb, `engine.save`): an output inside an input,
    or holding an input, is refused; an output that *is* an input's folder is an in-place edit,
    allowed only with `overwrite` (then done by the atomic swap, like any overwrite)."""
    target = Path(output).resolve()
    for given in inputs:
        source, folder, one_file = input_folder(given, target)
        if folder == target and one_file:
            raise OutputExistsError(
                f"{output}: the output folder holds the input file {given}, one part of the "
                "dataset there: writing the folder would replace the rest; to edit it in place, "
                "read the whole folder"
            )
        if folder == target:
            if overwrite:
                continue
            raise OutputExistsError(
                f"{output}: the output folder is the input {given}; pass "
                f"{hint('overwrite=True', '--overwrite')} to edit it in place (the dataset is "
                "replaced in one step; files that are not the format's stay)"
            )
        if target in source.parents:
            where, named = "holds", f"the input {given}"
        elif folder in target.parents:
            where = "lies inside"
            named = (
                f"the folder {folder} of the input file {given}"
                if one_file
                else f"the input {given}"
            )
        else:
            continue
        raise OutputExistsError(
            f"{output}: the output folder {where} {named}; choose a folder outside "
            "the inputs (an input is only ever edited in place, as a whole)"
        )


@contextmanager
def atomic_output_dir(
    path: str | Path,
    *,
    overwrite: bool = False,
    owns: Callable[[Path], bool] | None = None,
    inputs: Iterable[str | Path] = (),
    kept: list[str] | None = None,
) -> Iterator[Path]:
    """Yields an empty staging folder that becomes `path` when the block succeeds.

    `owns(entry)` says whether a top-level entry of an existing output belongs to a dataset of
    the format being written (it is replaced); other entries survive an overwrite, and their names
    are appended to `kept`. OS failures (disk full, read-only) raise OutputError naming `path`.
    """
    target = Path(os.path.abspath(path))
    check_not_input(target, inputs, overwrite=overwrite)
    try:
        recover(target)
        check_output_dir(target, overwrite)
        target.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(6)
        staging = target.parent / f".{target.name}.{token}.tmp"
        os.mkdir(staging)
    except EngineError:
        raise
    except OSError as error:
        raise _output_error(target, error) from None
    lock = _lock(staging)
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())
        carried = _place(staging, target, token, overwrite=overwrite, owns=owns)
        if kept is not None:
            kept.extend(carried)
    except OSError as error:
        if isinstance(error, EngineError):
            raise
        raise _output_error(target, error) from None
    finally:
        # After an exchange the staging path holds the retired folder; while the marker is in
        # the target its foreign entries are not all carried over, so it is left for recovery.
        if not os.path.lexists(target / MARKER.format(token=token)):
            shutil.rmtree(staging, ignore_errors=True)
        os.close(lock)


def _place(
    staging: Path, target: Path, token: str, *, overwrite: bool, owns: Callable[[Path], bool] | None
) -> list[str]:
    """Moves the staged dataset to `target`; returns the names of the entries kept from before."""
    if not overwrite and os.path.lexists(target) and (not target.is_dir() or any(target.iterdir())):
        raise OutputExistsError(
            f"{target}: another save wrote this folder first; pass "
            f"{hint('overwrite=True', '--overwrite')} to replace it"
        )
    if not target.is_dir() or not any(target.iterdir()):
        with contextlib.suppress(FileNotFoundError):
            if target.is_dir():
                os.rmdir(target)
        try:
            rename_noreplace(staging, target)
            return []
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not overwrite:
                if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise OutputExistsError(
                        f"{target}: another save wrote this folder first; pass "
                        f"{hint('overwrite=True', '--overwrite')} to replace it"
                    ) from None
                raise
    return _replace(staging, target, token, owns)


def _replace(
    staging: Path, target: Path, token: str, owns: Callable[[Path], bool] | None
) -> list[str]:
    new_names = set(os.listdir(staging))
    foreign = sorted(
        name
        for name in os.listdir(target)
        if name not in new_names
        and not _MARKER_RE.match(name)
        and not (owns is not None and owns(target / name))
    )
    marker = MARKER.format(token=token)
    _write_durably(staging / marker, json.dumps({"foreign": foreign}))
    old_lock = _lock(target)
    try:
        if exchange(staging, target):
            retired = staging
        else:
            retired = target.parent / f".{target.name}.{token}.old"
            os.rename(target, retired)
            try:
                os.rename(staging, target)
            except BaseException:
                os.rename(retired, target)
                raise
        _carry(retired, target, foreign)
        os.unlink(target / marker)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        os.close(old_lock)
    return foreign


def _carry(retired: Path, target: Path, names: Iterable[str]) -> None:
    """Moves the named entries from the retired folder into the new one (missing ones skipped)."""
    for name in names:
        source = retired / name
        if os.path.lexists(source) and not os.path.lexists(target / name):
            os.rename(source, target / name)


#: leftover names: this module's 12 hex digits, or the 8 characters of earlier versions' mkdtemp
_LEFTOVER = r"^\.{name}\.([0-9a-f]{{12}}|[a-z0-9_]{{8}})\.(tmp|old)$"


def recover(target: str | Path) -> list[str]:
    """Recovers or removes what killed saves left beside `target`; returns what it did."""
    target = Path(os.path.abspath(target))
    parent = target.parent
    if not parent.is_dir():
        return []
    pattern = re.compile(_LEFTOVER.format(name=re.escape(target.name)))
    try:
        matches = [m for m in map(pattern.match, os.listdir(parent)) if m]
        found = [(m[2], m[1], parent / m[0]) for m in matches if (parent / m[0]).is_dir()]
    except OSError:
        return []
    done = []
    for kind, token, leftover in sorted(found):  # every .old before any .tmp
        if len(token) != 12 and not (kind == "old" and not os.path.lexists(target)):
            # an earlier version's 8-character name is also what a user may call a folder
            # (".X.backup01.tmp"): such a folder is only ever restored as the missing target
            # (a rename, nothing lost), never deleted
            continue
        try:
            lock = _lock(leftover, wait=False)
        except OSError:
            continue  # held by a live run, or gone
        try:
            done.append(_recover_one(kind, token, leftover, target))
        except OSError:
            continue  # not ours to fix (no permission): the next run with rights will
        finally:
            os.close(lock)
    return done


def _recover_one(kind: str, token: str, leftover: Path, target: Path) -> str:
    marker = target / MARKER.format(token=token)
    if kind == "old" and not os.path.lexists(target):
        os.rename(leftover, target)
        return f"restored {target} from {leftover.name}"
    if marker.is_file():
        try:
            foreign = json.loads(marker.read_text(encoding="utf-8"))["foreign"]
        except (ValueError, KeyError, TypeError, OSError):
            foreign = []
        _carry(leftover, target, [str(name) for name in foreign])
        marker.unlink()
    shutil.rmtree(leftover, ignore_errors=True)
    return f"removed {leftover.name}"


def rename_noreplace(source: Path, destination: Path) -> None:
    """Renames, failing with EEXIST when `destination` exists (atomically where the OS can)."""
    if _renameat2(source, destination, _RENAME_NOREPLACE):
        return
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(destination))
    os.rename(source, destination)


def exchange(first: Path, second: Path) -> bool:
    """Swaps two paths in one atomic step; False where the OS cannot (then nothing changed)."""
    return _renameat2(first, second, _RENAME_EXCHANGE)


def _renameat2(source: Path, destination: Path, flags: int) -> bool:
    """True when renameat2 did it; False when it is unavailable; OSError when it failed."""
    function = _libc_renameat2()
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # old kernel, or a file system without the flag
    raise OSError(code, os.strerror(code), str(destination))


_RENAMEAT2: list[object] = []


def _libc_renameat2() -> Callable[..., int] | None:
    if not _RENAMEAT2:
        function = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            function = libc.renameat2
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            function.argtypes += [ctypes.c_uint]
            function.restype = ctypes.c_int
        except (OSError, AttributeError):
            function = None
        _RENAMEAT2.append(function)
    return _RENAMEAT2[0]  # type: ignore[return-value]


def _lock(folder: Path, *, wait: bool = True) -> int:
    """An open descriptor of `folder` holding an exclusive flock (released when the run dies)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        import fcntl

        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except ImportError:  # pragma: no cover - no flock: runs are told apart by name only
        pass
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _output_error(target: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error)
    return OutputError(f"{target}: cannot write the output folder: {reason}")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
