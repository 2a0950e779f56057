"""Fetching a dataset's published files from the mirrors its spec declares, verified.

Generic: the spec's `sources` say which files a load needs, where they are published, in which
archive they come and what their hashes are; nothing here knows a dataset. Each file is fetched
under an inter-process lock into `NAME.part`, verified (size + SHA-256 when published, MD5
otherwise, content hash of a recompressed copy), then renamed into place. A mirror that fails is
left behind for the other files of the run. When every mirror of a file failed, a converted copy
(rebuilt by the caller with the engine's writers) is accepted only on content-hash equality.
"""

from __future__ import annotations

import contextlib
import os
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.compute import progress as progress_bars
from engine.errors import (
    DownloadError,
    EngineError,
    FileUnverified,
    FormatError,
    OutputError,
    hint,
    warn_caller,
)
from engine.io.digests import content_digests, file_digests
from engine.io.transfer import (
    DEFAULT_TIMEOUT,
    Fetched,
    MirrorFailed,
    MirrorLacksFile,
    check_start,
    download,
    make_session,
)
from specs.schema import ConvertedCopy, DatasetSpec, FetchFile, KnownFile, Mirror, Sources

#: hidden folder in the root holding the per-file locks (and hard links made to hash content)
LOCKS = ".mnist-engine-locks"
MIRRORS_ENV = "MNIST_ENGINE_MIRRORS"
DATA_ENV = "MNIST_ENGINE_DATA"
TIMEOUT_ENV = "MNIST_ENGINE_TIMEOUT"

IDENTICAL, SAME_CONTENT, UNVERIFIED, DIFFERS = "identical", "same_content", "unverified", "differs"

#: rebuild(copy, subsets, folder) -> folder holding the files rebuilt from a converted copy
Rebuild = Callable[[ConvertedCopy, Sequence[str], Path], Path]


@dataclass(frozen=True)
class FetchedFile:
    """One file in place: how it got there and how it compares with the published one."""

    name: str
    path: Path
    how: str  # present, downloaded, extracted, rebuilt, derived
    verdict: str  # identical, same_content, unverified
    source: str = ""


def default_root(name: str) -> Path:
    """`$MNIST_ENGINE_DATA/<name>`, else the user's data folder (XDG) `mnist-engine/<name>`."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser() / name
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "mnist-engine" / name


def sources_of(spec: DatasetSpec, root: Path) -> Sources:
    """The spec's sources; DownloadError when it declares none or needs a login."""
    sources = spec.sources
    if sources is None:
        raise DownloadError(f"{spec.name}: no published files are declared for this format")
    if sources.login_required:
        raise DownloadError(f"{spec.name}: {sources.login_required}; put them in {root}")
    return sources


def plan(
    spec: DatasetSpec,
    subsets: Sequence[str] | None = None,
    split: str | None = None,
    layout: str | None = None,
) -> list[FetchFile]:
    """The declared files a load of `subsets` (default: all published) of variant `split`
    (default: all) in `layout` (a codec; default the spec's first layout) needs."""
    sources = spec.sources
    files = list(sources.files) if sources else []
    if split is not None:
        spec.variant(split)  # ValueError naming the choices
    wanted_layout = layout or spec.layout.codec
    layouts = {spec.layout.codec, *(other.codec for other in spec.other_layouts)}
    if wanted_layout not in layouts:
        raise ValueError(f"{spec.name}: no layout {layout!r}; choose one of {sorted(layouts)}")
    published = sorted({s for f in files for s in f.subsets})
    chosen = None
    if subsets is not None:
        chosen = set()
        for subset in subsets:
            view = spec.subset_views.get(subset)
            source = view.source if view is not None else subset
            if source not in published:
                raise ValueError(
                    f"{spec.name}: no published subset {subset!r}; choose among "
                    f"{[*published, *spec.subset_views]}"
                )
            chosen.add(source)
    return [
        f
        for f in files
        if (f.layout or spec.layout.codec) == wanted_layout
        and (split is None or f.variant in (None, split))
        and (chosen is None or chosen & set(f.subsets))
    ]


def user_mirrors(given: Sequence[str] | None) -> list[Mirror]:
    """Mirrors from `MNIST_ENGINE_MIRRORS` (whitespace-separated) and `given`, in that order:
    base URLs (`http(s)://`, `file://`) or plain folder paths."""
    addresses = [*os.environ.get(MIRRORS_ENV, "").split(), *(given or ())]
    mirrors = []
    for address in addresses:
        address = str(address)
        if "://" not in address:
            address = Path(address).expanduser().absolute().as_uri()
        mirrors.append(Mirror(url=address if address.endswith("/") else address + "/"))
    return mirrors


def timeout_of(timeout: float | tuple[float, float] | None) -> tuple[float, float]:
    """(connect, read) seconds from `timeout=`, else `$MNIST_ENGINE_TIMEOUT`, else the default."""
    if timeout is None and os.environ.get(TIMEOUT_ENV):
        timeout = float(os.environ[TIMEOUT_ENV])
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, int | float):
        return (float(timeout), float(timeout))
    return (float(timeout[0]), float(timeout[1]))


@dataclass
class Fetcher:
    """One fetch run over a spec's files: the mirrors in order, those left behind after failing
    (not tried again for the other files), and every failed attempt for the final error."""

    spec: DatasetSpec
    root: Path
    mirrors: list[Mirror]
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    progress: bool | None = None
    rebuild: Rebuild | None = None
    failed: dict[str, str] = field(default_factory=dict)
    attempts: list[tuple[str, str, str]] = field(default_factory=list)
    _session: Any = None

    def run(self, files: Sequence[FetchFile]) -> list[FetchedFile]:
        """Fetches `files` into the root; DownloadError listing every attempt when one cannot
        be obtained anywhere."""
        _make_folder(self.root)
        done: list[FetchedFile] = []
        missing: list[FetchFile] = []
        try:
            for file in files:
                try:
                    done.append(self._obtain(file))
                except _Unavailable:
                    missing.append(file)
            if missing and self.rebuild is not None:
                missing = self._rebuilt(missing, done)
        finally:
            if self._session is not None:
                self._session.close()
        if missing:
            raise DownloadError(self._failure(missing), self.attempts)
        return done

    # -- one file -------------------------------------------------------------------------------

    def _obtain(self, file: FetchFile) -> FetchedFile:
        target = self.root / file.name
        with self._lock(file.name):
            kept = self._present(target, file)
            if kept is not None:
                return kept
            if file.archive is not None:
                return self._extract(file)
            return self._download(file.name, self._known(file.name))

    def _present(self, target: Path, file: FetchFile) -> FetchedFile | None:
        """The file already in place when it verifies; one that does not is named (and then
        replaced)."""
        if not target.is_file():
            return None
        if file.archive is not None:
            verdict, detail = self._judge_member(target, file)
        else:
            verdict, detail = judge(target, self._known(file.name))
        if verdict != DIFFERS:
            return FetchedFile(file.name, target, "present", verdict)
        warn_caller(
            f"{target}: does not match the published file ({detail}); fetching it again",
            FileUnverified,
        )
        return None

    def _download(self, name: str, known: list[KnownFile]) -> FetchedFile:
        target = self.root / name
        part = self.root / (name + ".part")
        hashes = _hashes_for(known)
        tried = False
        for mirror in self.mirrors:
            url = mirror.url_of(name)
            if url is None:
                continue
            key = mirror.url or url
            if key in self.failed:
                self.attempts.append((name, url, f"left behind: {self.failed[key]}"))
                continue
            tried = True
            try:
                fetched = self._transfer(url, part, name, known, hashes)
                verdict, detail = judge(
                    part, known, fetched.digests, name=name, links=self._links()
                )
                if verdict == DIFFERS and fetched.resumed_from:  # a stale .part of another file
                    part.unlink(missing_ok=True)
                    fetched = self._transfer(url, part, name, known, hashes)
                    verdict, detail = judge(
                        part, known, fetched.digests, name=name, links=self._links()
                    )
            except MirrorLacksFile as failure:  # a folder without this file: try it for the rest
                self.attempts.append((name, url, str(failure)))
                continue
            except MirrorFailed as failure:
                if part.exists() and part.stat().st_size == 0:
                    part.unlink()
                self._fail(name, key, url, str(failure))
                continue
            if verdict == DIFFERS:
                part.unlink(missing_ok=True)
                self._fail(name, key, url, detail)
                continue
            os.replace(part, target)
            if verdict == UNVERIFIED:
                _warn_unverified(target)
            return FetchedFile(name, target, "downloaded", verdict, url)
        if not tried and not any(attempt[0] == name for attempt in self.attempts):
            self.attempts.append((name, "", "no mirror serves this file"))
        raise _Unavailable(name)

    def _transfer(
        self, url: str, part: Path, name: str, known: list[KnownFile], hashes: list[str]
    ) -> Fetched:
        with _bytes_bar(name, _declared_size(known), self.progress) as bar:
            return download(
                url,
                part,
                name=name,
                session=self._http(),
                timeout=self.timeout,
                hashes=hashes,
                on_bytes=bar.update,
                on_total=bar.set_total,
            )

    def _extract(self, file: FetchFile) -> FetchedFile:
        """The file taken out of its published archive (fetched and verified first)."""
        archive_name = file.archive or ""
        archive = self.root / archive_name
        with self._lock(archive_name):
            known = [k for k in self._sources().archives if k.name == archive_name]
            if not (archive.is_file() and judge(archive, known)[0] != DIFFERS):
                self._download(archive_name, known)
        member = file.member or file.name
        target = self.root / file.name
        part = self.root / (file.name + ".part")
        try:
            with (
                zipfile.ZipFile(archive) as bundle,
                bundle.open(member) as source,
                open(part, "wb") as out,
            ):
                while chunk := source.read(1 << 20):
                    out.write(chunk)
        except KeyError:
            raise FormatError(archive, f"holds no member {member!r}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            part.unlink(missing_ok=True)
            raise FormatError(archive, f"member {member}: {error}") from None
        except OSError as error:
            part.unlink(missing_ok=True)
            raise OutputError(f"{self.root}: cannot write {file.name}: {error.strerror}") from None
        os.replace(part, target)
        return FetchedFile(file.name, target, "extracted", IDENTICAL, f"{archive_name}:{member}")

    def _judge_member(self, target: Path, file: FetchFile) -> tuple[str, str]:
        """A file taken from an archive: its CRC-32 against the archive's, when the archive is
        here; else only its type can be checked."""
        archive = self.root / (file.archive or "")
        if not archive.is_file():
            return _type_only(target)
        try:
            with zipfile.ZipFile(archive) as bundle:
                expected = bundle.getinfo(file.member or file.name).CRC
        except (zipfile.BadZipFile, KeyError, OSError):
            return _type_only(target)
        crc = 0
        with open(target, "rb") as handle:
            while chunk := handle.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        if crc == expected:
            return IDENTICAL, ""
        return DIFFERS, f"CRC-32 {crc:08x}, the archive holds {expected:08x}"

    # -- the converted copy ---------------------------------------------------------------------

    def _rebuilt(self, missing: list[FetchFile], done: list[FetchedFile]) -> list[FetchFile]:
        """Files rebuilt from a converted copy and proven equal by content hash; returns those
        still missing."""
        for copy in self._sources().converted:
            if not missing:
                break
            provable = [f for f in missing if _content_hashes(self._known(f.name))]
            for file in missing:
                if file not in provable:
                    self.attempts.append(
                        (
                            file.name,
                            copy.note or copy.format,
                            "no published content hash: a rebuilt file cannot be proven equal",
                        )
                    )
            subsets = sorted({s for f in provable for s in f.subsets if s in copy.subsets})
            if not subsets:
                continue
            staging = self.root / LOCKS / f"rebuild-{os.getpid()}"
            try:
                folder = self.rebuild(copy, subsets, staging) if self.rebuild else staging
                still = []
                for file in missing:
                    accepted = (
                        self._accept_rebuilt(file, folder, copy) if file in provable else None
                    )
                    if accepted is not None:
                        done.append(accepted)
                    else:
                        still.append(file)
                missing = still
            except (EngineError, MirrorFailed, ImportError) as error:
                for file in provable:
                    self.attempts.append((file.name, copy.note or copy.format, str(error)))
            finally:
                _remove_tree(staging)
        return missing

    def _accept_rebuilt(
        self, file: FetchFile, folder: Path, copy: ConvertedCopy
    ) -> FetchedFile | None:
        where = copy.note or copy.format
        rebuilt = folder / file.name
        if not rebuilt.is_file():
            self.attempts.append((file.name, where, "the converted copy does not hold it"))
            return None
        known = self._known(file.name)
        verdict, detail = judge(rebuilt, known, content_only=True)
        if verdict not in (IDENTICAL, SAME_CONTENT):
            self.attempts.append((file.name, where, f"rebuilt file differs: {detail}"))
            return None
        target = self.root / file.name
        with self._lock(file.name):
            os.replace(rebuilt, target)
        return FetchedFile(file.name, target, "rebuilt", SAME_CONTENT, where)

    # -- helpers --------------------------------------------------------------------------------

    def _sources(self) -> Sources:
        assert self.spec.sources is not None
        return self.spec.sources

    def _known(self, name: str) -> list[KnownFile]:
        sources = self._sources()
        return [k for k in (*self.spec.known_files, *sources.archives) if k.name == name]

    def _http(self) -> Any:
        if self._session is None:
            self._session = make_session()
        return self._session

    def _fail(self, name: str, key: str, url: str, answer: str) -> None:
        self.failed.setdefault(key, answer)
        self.attempts.append((name, url, answer))

    def _links(self) -> Path:
        return self.root / LOCKS

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        """Holds the inter-process lock of file `name` (other processes wait, then verify)."""
        from filelock import FileLock, Timeout

        folder = self.root / LOCKS
        _make_folder(folder)
        lock = FileLock(str(folder / f"{name}.lock"))
        try:
            lock.acquire(timeout=0.05)
        except Timeout:
            with progress_bars.task(f"waiting for another process fetching {name}"):
                lock.acquire()
        except OSError as error:
            raise OutputError(f"{self.root}: cannot lock {name}: {error.strerror}") from None
        try:
            yield
        finally:
            lock.release()

    def _failure(self, missing: list[FetchFile]) -> str:
        sources = self._sources()
        lines = [f"{self.spec.name}: could not fetch {len(missing)} file(s) into {self.root}:"]
        for file in missing:
            lines.append(f"  {file.name}:")
            tried = [a for a in self.attempts if a[0] in (file.name, file.archive)]
            for _, where, answer in tried or [("", "", "no mirror declared for it")]:
                lines.append(f"    {where or '-'}: {answer}")
        flag = hint("mirrors=[...]", "--mirror URL")
        lines.append(
            f"Put the files in {self.root} by hand (from {sources.homepage}), or name a mirror "
            f"that has them ({flag}, or ${MIRRORS_ENV})."
        )
        return "\n".join(lines)


class _Unavailable(Exception):
    """Internal: every mirror of a file failed (the attempts are in the Fetcher)."""


def judge(
    path: Path,
    known: Sequence[KnownFile],
    digests: dict[str, str] | None = None,
    *,
    name: str | None = None,
    links: Path | None = None,
    content_only: bool = False,
) -> tuple[str, str]:
    """(verdict, detail) of a file against the published versions `known` of it: `identical`
    (size and SHA-256 when published, MD5 otherwise), `same_content` (uncompressed content hash
    equal), `unverified` (no hash published: only its type was checked) or `differs`."""
    name = name or path.name
    hashes = _hashes_for(known)
    if not hashes and not _content_hashes(known):
        return _type_only(path, name)
    size = path.stat().st_size
    if hashes and not content_only:
        own = digests if digests and all(h in digests for h in hashes) else None
        own = own or file_digests(path, hashes)
        for candidate in known:
            if _same_file(candidate, own, size):
                return IDENTICAL, ""
    content_names = _content_hashes(known)
    if content_names:
        with _named_like(path, name, links) as readable:
            try:
                content = content_digests(readable, content_names)
            except FormatError as error:
                return DIFFERS, f"not a readable file: {error}"
        for candidate in known:
            if (candidate.content_sha256 and candidate.content_sha256 == content.get("sha256")) or (
                not candidate.content_sha256
                and candidate.content_md5
                and candidate.content_md5 == content.get("md5")
            ):
                return SAME_CONTENT, "recompressed"
    return DIFFERS, _difference(known, size, digests or {}, path, hashes)


def _same_file(candidate: KnownFile, own: dict[str, str], size: int) -> bool:
    if candidate.size is not None and candidate.size != size:
        return False
    if candidate.sha256:
        return candidate.sha256 == own.get("sha256")
    return candidate.md5 is not None and candidate.md5 == own.get("md5")


def _difference(
    known: Sequence[KnownFile], size: int, digests: dict[str, str], path: Path, hashes: list[str]
) -> str:
    first = known[0]
    if first.size is not None and first.size != size:
        short = f" ({first.size - size} bytes short)" if size < first.size else ""
        return f"wrong size: {size} bytes where {first.size} are published{short}"
    own = digests if digests and all(h in digests for h in hashes) else file_digests(path, hashes)
    if first.sha256:
        return f"wrong SHA-256: {own.get('sha256')} where {first.sha256} is published"
    if first.md5:
        return f"wrong MD5: {own.get('md5')} where {first.md5} is published"
    return "content differs from the published file"


def _hashes_for(known: Sequence[KnownFile]) -> list[str]:
    """The one hash worth computing: SHA-256 when published, MD5 otherwise."""
    if any(k.sha256 for k in known):
        return ["sha256"]
    if any(k.md5 for k in known):
        return ["md5"]
    return []


def _content_hashes(known: Sequence[KnownFile]) -> list[str]:
    names = []
    if any(k.content_sha256 for k in known):
        names.append("sha256")
    if any(k.content_md5 and not k.content_sha256 for k in known):
        names.append("md5")
    return names


def _type_only(path: Path, name: str | None = None) -> tuple[str, str]:
    """No hash is published: the file passes when it starts as its kind of file should."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    try:
        check_start(head, name or path.name, str(path), "file", path.stat().st_size)
    except MirrorFailed as failure:
        return DIFFERS, str(failure).replace("answered", "is")
    return UNVERIFIED, "no hash is published; only the file's type was checked"


def _warn_unverified(path: Path) -> None:
    warn_caller(
        f"{path.name}: no primary source publishes a hash of this file; only its type was checked",
        FileUnverified,
    )


@contextlib.contextmanager
def _named_like(path: Path, name: str, links: Path | None) -> Iterator[Path]:
    """`path` readable under `name` (a `.part` hashed as the compressed file it will become):
    a hard link in `links`, or the path itself when the names agree."""
    if path.name == name or links is None:
        yield path
        return
    folder = links / f"check-{os.getpid()}"
    _make_folder(folder)
    linked = folder / name
    linked.unlink(missing_ok=True)
    try:
        os.link(path, linked)
    except OSError:
        import shutil

        shutil.copyfile(path, linked)
    try:
        yield linked
    finally:
        linked.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


def _declared_size(known: Sequence[KnownFile]) -> int | None:
    sizes = {k.size for k in known if k.size is not None}
    return sizes.pop() if len(sizes) == 1 else None


class _BytesBar:
    """A byte-counting progress bar opened on the first total it learns."""

    def __init__(self, label: str, total: int | None, enabled: bool | None) -> None:
        self.label, self.enabled = label, enabled
        self.bar: progress_bars.Progress | None = None
        if total:
            self.set_total(total)

    def set_total(self, total: int | None) -> None:
        if self.bar is None:
            self.bar = progress_bars.Progress(
                total or 0, self.label, enabled=self.enabled, in_bytes=True
            ).__enter__()

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextlib.contextmanager
def _bytes_bar(label: str, total: int | None, enabled: bool | None) -> Iterator[_BytesBar]:
    bar = _BytesBar(label, total, enabled)
    try:
        yield bar
    finally:
        bar.close()


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{folder}: cannot create the folder: {error.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: the folder is read-only")


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
