"""One file written whole or not at all: the bytes go to a hidden temporary file beside the target,
are flushed to disk, and the temporary file is renamed over the target in one step."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from engine.errors import OutputError


def write_file_atomically(path: str | Path, data: bytes) -> Path:
    """Writes ``data`` to ``path``; a crash at any moment leaves the old file or the new one."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputError(f"{target}: cannot write the file: {error.strerror or error}") from None
    return target
