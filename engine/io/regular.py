"""Opening a data file by name: only a regular file is read, and every read is bounded.

A name that leads to a FIFO blocks ``open()`` forever; one that leads to ``/dev/zero`` (or any
device) yields bytes without end. Every reader that opens a file by name goes through
``open_regular``: the file is opened without blocking, checked with ``fstat`` on the descriptor
it got (so no swap between the check and the read) and refused with a FormatError unless it is a
regular file; ``read_regular`` then reads at most the bytes a caller allows.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO, Any

from engine.errors import FormatError

#: what a whole-file read (a list, a meta file, a pickle) may hold unless the caller says more
DEFAULT_MAX_BYTES = 1 << 31


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def kind_of(path: str | Path) -> str:
    """What `path` leads to, in words ("a FIFO (named pipe)", "a device", ...)."""
    try:
        return _kind(os.stat(path).st_mode)
    except OSError:
        return "not readable"


def not_regular(path: str | Path, mode: int) -> FormatError:
    """The FormatError for a name that leads to something other than a regular file."""
    return FormatError(
        Path(path),
        f"not a regular file: it is {_kind(mode)}, which is never read as data",
        field="file type",
        expected="a regular file",
        actual=_kind(mode),
    )


def check_regular(path: str | Path) -> os.stat_result:
    """The ``stat`` of `path` (links followed) when it is a regular file, else a FormatError."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise _os_error(path, error) from None
    if not stat.S_ISREG(info.st_mode):
        raise not_regular(path, info.st_mode)
    return info


def is_regular(path: str | Path) -> bool:
    """Whether `path` leads to a regular file (links followed); False when it does not exist."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: str | Path, mode: str = "rb", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for reading, refused unless `path` is a regular file.

    The descriptor is opened with ``O_NONBLOCK`` (a FIFO does not block the open) and checked
    with ``fstat`` before the file object is made; an OSError is a FormatError naming the file.
    """
    if any(flag in mode for flag in "wax+"):
        raise ValueError("open_regular opens files for reading only")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _os_error(path, error) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise not_regular(path, info.st_mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, mode, closefd=True, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of the regular file `path`, refused past `max_bytes` (decided from its size,
    then held to it while reading: a file that grows is not read on)."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise FormatError(
                Path(path),
                f"{size} bytes is more than the {max_bytes} this file may hold",
                field="size",
                expected=f"<= {max_bytes} bytes",
                actual=f"{size} bytes",
            )
        # ask for what the file holds (read(n) allocates n bytes first), one byte more to see
        # a file that grew since
        data = handle.read(size + 1)
    if len(data) > max_bytes:
        raise FormatError(Path(path), f"the file grew past {max_bytes} bytes while being read")
    return data


def read_regular_text(
    path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, encoding: str = "utf-8-sig"
) -> str:
    """The text of the regular file `path` (at most `max_bytes`), decoded; bad bytes are a
    FormatError naming the file and the byte."""
    data = read_regular(path, max_bytes)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise FormatError(
            Path(path),
            f"not {encoding} text: {error.reason}",
            offset=error.start,
            field="text",
            expected=encoding,
            actual=repr(data[error.start : error.start + 4]),
        ) from None


def _os_error(path: str | Path, error: OSError) -> FormatError:
    if error.errno == errno.ENAMETOOLONG:
        reason = "the path is too long for this system"
    elif error.errno == errno.EISDIR:
        reason = "not a regular file: it is a folder, which is never read as data"
    else:
        reason = f"cannot be opened: {error.strerror or error}"
    return FormatError(Path(path), reason)
