"""Moving one file from a URL into `NAME.part` beside its target, hashing it on the way.

HTTP(S) goes through `requests` (proxies and CA bundles from the environment, connect and read
timeouts, retries with backoff on 5xx and connection errors through urllib3's `Retry`); a
transfer cut mid-body resumes from the `.part` with a Range request, and starts over when the
server ignores Range. `file://` URLs are copied the same way (offline mirrors). The first bytes of
an answer are checked against the file's container magic, so an HTML error page is named as such.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from engine.errors import OutputError

CHUNK = 1 << 18
#: connect and read timeouts in seconds (MNIST_ENGINE_TIMEOUT or `timeout=` override them)
DEFAULT_TIMEOUT = (10.0, 60.0)
#: further tries after a 5xx, a refused connection or a transfer cut mid-body
RETRIES = 3
#: seconds before the second retry, doubled for each further one (the first is immediate)
BACKOFF = 0.5
#: what a published file starts with, by suffix: (magic, what it is called in messages)
MAGIC: dict[str, tuple[bytes, str]] = {
    ".gz": (b"\x1f\x8b", "gzip file"),
    ".xz": (b"\xfd7zXZ\x00", "xz file"),
    ".bz2": (b"BZh", "bzip2 file"),
    ".zip": (b"PK\x03\x04", "zip archive"),
    ".npz": (b"PK\x03\x04", "zip archive (.npz)"),
    ".parquet": (b"PAR1", "Parquet file"),
}
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<!--")


class MirrorFailed(Exception):
    """What one mirror answered for one file, in a line (collected into a DownloadError)."""


class MirrorLacksFile(MirrorFailed):
    """A mirror folder (``file://``) that does not hold this file: the folder is not dead, and
    may hold the run's other files (a folder of the test files alone is a common offline copy)."""


@dataclass
class Fetched:
    """A finished transfer: the `.part` holds `size` bytes whose digests are `digests`."""

    size: int
    digests: dict[str, str] = field(default_factory=dict)
    resumed_from: int = 0
    restarts: int = 0


def make_session(retries: int | None = None) -> Any:
    """A requests Session that honours the proxy variables and retries 5xx and connection errors
    with exponential backoff (and a server's Retry-After)."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retries = RETRIES if retries is None else retries
    session = requests.Session()  # trust_env: HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, .netrc
    policy = Retry(
        total=retries,
        connect=retries,
        read=0,  # a body cut midway is resumed by `download`, with a Range request
        status=retries,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        backoff_factor=BACKOFF,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "mnist-engine"
    session.headers["Accept-Encoding"] = "identity"  # the published bytes, never re-encoded
    return session


def expected_kind(name: str) -> tuple[bytes, str] | None:
    """(magic, description) of a file by its name's suffix; None when nothing is known."""
    return MAGIC.get(Path(name).suffix.lower())


def check_start(head: bytes, name: str, url: str, status: str, size: int | None) -> None:
    """Refuses an answer that is an HTML page, or does not start as a `name` file should."""
    kind = expected_kind(name)
    what = kind[1] if kind else "the published file"
    stripped = head.lstrip()[:32].lower()
    amount = f", {_human(size)}" if size is not None else ""
    if stripped.startswith(_HTML_STARTS):
        raise MirrorFailed(f"answered an HTML page, not a {what} ({status}{amount})")
    if kind is not None and head and not head.startswith(kind[0][: len(head)]):
        start = head[:8]
        raise MirrorFailed(
            f"answered something that is not a {what}: it starts with {start!r} ({status}{amount})"
        )


def download(
    url: str,
    part: Path,
    *,
    name: str,
    session: Any,
    timeout: tuple[float, float],
    hashes: Sequence[str] = ("sha256",),
    on_bytes: Callable[[int], None] | None = None,
    on_total: Callable[[int | None], None] | None = None,
    retries: int | None = None,
) -> Fetched:
    """Fetches `url` into `part`, resuming what `part` already holds; returns its size and the
    digests named in `hashes` of its whole content. MirrorFailed says what went wrong with the
    mirror; a write that fails (disk full, read-only) is an OutputError."""
    if url.startswith("file:"):
        return _copy_local(
            url, part, name=name, hashes=hashes, on_bytes=on_bytes, on_total=on_total
        )
    import requests
    import urllib3

    retries = RETRIES if retries is None else retries
    restarts = 0
    resumed_from = part.stat().st_size if part.exists() else 0
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(BACKOFF * (2 ** (attempt - 1)) if attempt > 1 else 0)
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            response = session.get(url, stream=True, timeout=timeout, headers=headers)
        except requests.exceptions.RequestException as error:
            raise MirrorFailed(_reason(error, timeout)) from None
        with response:
            status = f"HTTP {response.status_code}"
            length = _int(response.headers.get("Content-Length"))
            if response.status_code == 416 and offset:  # the .part is longer than the file
                _truncate(part)
                restarts += 1
                continue
            if response.status_code >= 400:
                head = response.raw.read1(4096, decode_content=False)
                if head.lstrip()[:32].lower().startswith(_HTML_STARTS):
                    check_start(head, name, url, status, length)
                raise MirrorFailed(f"{status} {response.reason or ''}".rstrip())
            start = _start_of(response, offset)
            if start != offset:  # Range ignored (200) or answered from elsewhere: start over
                restarts += 1 if offset else 0
                offset = 0
            if on_total is not None:
                on_total(None if length is None else length + offset)
            try:
                fetched = _receive(
                    response, part, offset, name, url, status, length, hashes, on_bytes
                )
            except OutputError:
                raise
            except (
                requests.exceptions.RequestException,
                urllib3.exceptions.HTTPError,
                OSError,
            ) as error:
                last = _reason(error, timeout, part)  # cut mid-body: resume from the .part
                continue
        fetched.resumed_from = resumed_from
        fetched.restarts = restarts
        return fetched
    raise MirrorFailed(f"{last} ({retries + 1} tries, resumed each time)")


def _receive(
    response: Any,
    part: Path,
    offset: int,
    name: str,
    url: str,
    status: str,
    length: int | None,
    hashes: Sequence[str],
    on_bytes: Callable[[int], None] | None,
) -> Fetched:
    """Writes the body after `offset` bytes already in `part` (hashing those first)."""
    size = offset
    with _open_part(part, offset) as out:
        sink = _Sink(out, part, hashes)
        try:
            if offset:
                sink.hash_only(part, offset)
                if on_bytes is not None:
                    on_bytes(offset)
            # read1: what has arrived, so a transfer cut midway keeps every byte it received
            while chunk := response.raw.read1(CHUNK, decode_content=False):
                if size == 0:
                    check_start(chunk[:64], name, url, status, length)
                sink.feed(chunk)
                size += len(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
            digests = sink.finish()
        finally:
            sink.close()  # every received byte is in the .part before a retry resumes it
    return Fetched(size, digests)


def _copy_local(
    url: str,
    part: Path,
    *,
    name: str,
    hashes: Sequence[str],
    on_bytes: Callable[[int], None] | None,
    on_total: Callable[[int | None], None] | None,
) -> Fetched:
    """A `file://` URL copied into `part` (a mirror folder on this machine or a network share)."""
    parsed = urlparse(url)
    source = Path(url2pathname(unquote(parsed.path)))
    if parsed.netloc and parsed.netloc != "localhost":
        source = Path(f"//{parsed.netloc}") / source.relative_to(source.anchor)
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError as error:
        raise MirrorLacksFile(f"{source}: {error.strerror or error}") from None
    except OSError as error:
        raise MirrorFailed(f"{source}: {error.strerror or error}") from None
    with handle:
        size = 0
        if on_total is not None:
            on_total(source.stat().st_size)
        with _open_part(part, 0) as out:
            sink = _Sink(out, part, hashes)
            try:
                while chunk := handle.read(CHUNK):
                    if size == 0:
                        check_start(chunk[:64], name, url, "file", source.stat().st_size)
                    sink.feed(chunk)
                    size += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                digests = sink.finish()
            finally:
                sink.close()
    return Fetched(size, digests)


def _open_part(part: Path, offset: int) -> IO[bytes]:
    """The `.part` opened for writing at `offset` (truncated there); OutputError when the folder
    cannot be written."""
    try:
        handle = open(part, "r+b" if offset and part.exists() else "wb")  # noqa: SIM115
        handle.truncate(offset)
        handle.seek(offset)
    except OSError as error:
        raise OutputError(
            f"{part.parent}: cannot write {part.name}: {error.strerror or error}"
        ) from None
    return handle


class _Sink:
    """Writes and hashes the received chunks in two background threads (file writes and hashlib
    release the GIL), so both overlap receiving instead of adding to it. A failed write (disk
    full, read-only) is raised in the caller's thread as an OutputError, the `.part` removed."""

    def __init__(self, out: IO[bytes], part: Path, names: Sequence[str]) -> None:
        self.out, self.part = out, part
        self.hashers = {n: hashlib.new(n, usedforsecurity=False) for n in names}
        self.error: OSError | None = None
        self.queues: list[queue.Queue[bytes | None]] = []
        self.threads = []
        for work in (self._write, self._hash) if names else (self._write,):
            line: queue.Queue[bytes | None] = queue.Queue(maxsize=8)  # <= 8 MiB held
            thread = threading.Thread(target=self._drain, args=(line, work), daemon=True)
            self.queues.append(line)
            self.threads.append(thread)
            thread.start()

    def _drain(self, line: queue.Queue[bytes | None], work: Callable[[bytes], None]) -> None:
        while (chunk := line.get()) is not None:
            if self.error is None:  # after a failed write: drain until told to stop
                work(chunk)

    def _write(self, chunk: bytes) -> None:
        try:
            self.out.write(chunk)
        except OSError as error:
            self.error = error

    def _hash(self, chunk: bytes) -> None:
        for hasher in self.hashers.values():
            hasher.update(chunk)

    def hash_only(self, path: Path, size: int) -> None:
        """The first `size` bytes of `path` hashed (what a resumed `.part` already holds)."""
        with open(path, "rb") as handle:
            left = size
            while left and (chunk := handle.read(min(CHUNK, left))):
                for hasher in self.hashers.values():
                    hasher.update(chunk)
                left -= len(chunk)

    def feed(self, chunk: bytes) -> None:
        self._raise_failed_write()
        for line in self.queues:
            line.put(chunk)

    def finish(self) -> dict[str, str]:
        """Waits for the writes; the digests of everything written (raises a failed write)."""
        self.close()
        self._raise_failed_write()
        return {n: h.hexdigest() for n, h in self.hashers.items()}

    def close(self) -> None:
        for line, thread in zip(self.queues, self.threads, strict=True):
            if thread.is_alive():
                line.put(None)
                thread.join()

    def _raise_failed_write(self) -> None:
        if self.error is None:
            return
        self.close()
        _write_failed(self.error, self.out, self.part)


def _write_failed(error: OSError, out: IO[bytes], part: Path) -> None:
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    why = "the disk is full" if full else (error.strerror or str(error))
    with contextlib.suppress(OSError):
        out.close()
    part.unlink(missing_ok=True)  # a half file is worthless and holds the space
    raise OutputError(f"{part.parent}: cannot write {part.name[: -len('.part')]}: {why}") from None


def _truncate(part: Path) -> None:
    with open(part, "wb"):
        pass


def _start_of(response: Any, offset: int) -> int:
    """Where the body starts in the file: the Content-Range start of a 206, else 0."""
    if response.status_code != 206:
        return 0
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return 0


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _reason(error: BaseException, timeout: tuple[float, float], part: Path | None = None) -> str:
    """A line for a failed request: timeouts and resets named plainly, with what had arrived."""
    text = str(error)
    arrived = f" after {_human(part.stat().st_size)}" if part is not None and part.exists() else ""
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return f"timed out (no data for {timeout[1]:g} s){arrived}"
    if "refused" in text.lower():
        return "connection refused"
    if "reset" in text.lower() or "aborted" in text.lower():
        return f"connection reset{arrived}"
    if "incompleteread" in text.lower() or "ended prematurely" in text.lower():
        return f"body ended early{arrived}"
    if "max retries exceeded" in text.lower():
        inner = text.split("(Caused by ", 1)[-1].rstrip(")")
        return f"cannot connect ({inner.split(':', 1)[0]})"
    return text.splitlines()[0] if text else type(error).__name__


def _human(size: int | None) -> str:
    if size is None:
        return "unknown size"
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def chunks_of(path: Path) -> Iterator[bytes]:
    """The bytes of `path` in CHUNK pieces (for hashing files already in place)."""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
