"""`engine.fetch` against a loopback server with faults: each fault a clear EngineError, no half
file at a final name, mirrors that failed left behind, resume, locks across processes."""

from __future__ import annotations

import errno
import gzip
import multiprocessing
import os
import socket
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import fetching
from engine.cli.main import main
from engine.errors import FileUnverified
from engine.io import transfer
from specs.mnist import SPEC as MNIST
from specs.schema import ConvertedCopy
from tests.conftest import make_dataset
from tests.fetch_helpers import faked, known, quick_and_offline, use_spec, written_files
from tests.fetch_server import serving

LABELS = "t10k-labels-idx1-ubyte.gz"
IMAGES = "t10k-images-idx3-ubyte.gz"


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    quick_and_offline(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def fakes(tmp_path_factory) -> dict[str, bytes]:
    """MNIST-named files written by our IDX writer."""
    return written_files(make_dataset(), "mnist", tmp_path_factory.mktemp("fakes") / "mnist")


@pytest.fixture
def server():
    with serving() as running:
        yield running


def _serve(server, fakes, fault: dict[str, str] | None = None, prefix: str = "") -> None:
    for name, data in fakes.items():
        server.add(prefix + name, data, (fault or {}).get(name))


def _spec(monkeypatch, fakes, *mirrors: str):
    spec = faked(MNIST, fakes, mirrors=mirrors, converted=())
    use_spec(monkeypatch, spec)
    return spec


def test_fetch_downloads_verifies_then_keeps_what_is_there(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes)
    _spec(monkeypatch, fakes, server.url)
    root = engine.fetch("mnist", tmp_path / "mnist")
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == sorted(fakes)
    for name, data in fakes.items():
        assert (root / name).read_bytes() == data
    assert not list(root.glob("*.part"))
    before = sum(server.seen.values())
    engine.fetch("mnist", root)  # everything verifies: nothing is downloaded again
    assert sum(server.seen.values()) == before
    loaded = engine.load("mnist", root, subset="test")
    np.testing.assert_array_equal(
        loaded.subsets()["test"].images, make_dataset().subsets()["test"].images
    )


def test_default_root_is_the_data_folder_and_subsets_limit_the_files(server, fakes, monkeypatch):
    _serve(server, fakes)
    _spec(monkeypatch, fakes, server.url)
    root = engine.fetch("mnist", subsets=["test"])
    assert root == Path(os.environ["MNIST_ENGINE_DATA"]) / "mnist"
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == [IMAGES, LABELS]


def test_a_404_mirror_is_left_behind_for_the_other_files(fakes, tmp_path, monkeypatch):
    with serving() as dead, serving() as alive:
        _serve(alive, fakes)
        _spec(monkeypatch, fakes, dead.url, alive.url)
        engine.fetch("mnist", tmp_path / "m")
        assert sum(dead.seen.values()) == 1  # tried for the first file only
        assert all(alive.served[name] == 1 for name in fakes)


@pytest.mark.parametrize(
    ("fault", "status"), [("403html", "HTTP 403"), ("html200", "HTTP 200")], ids=["403", "200"]
)
def test_an_html_page_is_named_as_such(server, fakes, tmp_path, monkeypatch, fault, status):
    _serve(server, fakes, {LABELS: fault})
    _spec(monkeypatch, fakes, server.url)
    with pytest.raises(engine.DownloadError) as caught:
        engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    message = str(caught.value)
    assert f"{server.url}{LABELS}: answered an HTML page, not a gzip file ({status}," in message
    assert not (tmp_path / "m" / LABELS).exists()
    assert not (tmp_path / "m" / (LABELS + ".part")).exists()


def test_a_500_is_retried_then_succeeds(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes, {LABELS: "500once"})
    _spec(monkeypatch, fakes, server.url)
    engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    assert server.seen[LABELS] == 2
    assert (tmp_path / "m" / LABELS).read_bytes() == fakes[LABELS]


def test_a_reset_halfway_is_resumed_with_a_range_request(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes, {IMAGES: "reset_half"})
    _spec(monkeypatch, fakes, server.url)
    engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    ranges = [r for path, r in server.requests if path.endswith(IMAGES)]
    assert ranges[0] is None
    assert ranges[1] is not None and int(ranges[1].split("=")[1].rstrip("-")) > 0
    assert (tmp_path / "m" / IMAGES).read_bytes() == fakes[IMAGES]


def test_a_server_ignoring_range_is_restarted(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes, {IMAGES: "ignore_range"})
    _spec(monkeypatch, fakes, server.url)
    engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    assert server.seen[IMAGES] == 2
    assert (tmp_path / "m" / IMAGES).read_bytes() == fakes[IMAGES]


def test_a_body_one_byte_short_fails_with_no_file(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes, {IMAGES: "short"})
    _spec(monkeypatch, fakes, server.url)
    with pytest.raises(engine.DownloadError, match=rf"{IMAGES}: body ended early"):
        engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    assert not (tmp_path / "m" / IMAGES).exists()


def test_the_right_size_with_wrong_bytes_is_refused(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes, {IMAGES: "wrong"})
    _spec(monkeypatch, fakes, server.url)
    with pytest.raises(engine.DownloadError, match=r"wrong SHA-256: [0-9a-f]{64} where"):
        engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    assert not (tmp_path / "m" / IMAGES).exists()
    assert not (tmp_path / "m" / (IMAGES + ".part")).exists()


def test_a_stalled_server_times_out(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes, {IMAGES: "stall"})
    _spec(monkeypatch, fakes, server.url)
    with pytest.raises(engine.DownloadError, match=r"timed out \(no data for 0.3 s\)"):
        engine.fetch("mnist", tmp_path / "m", subsets=["test"], timeout=0.3)
    assert not (tmp_path / "m" / IMAGES).exists()


def test_every_mirror_down_lists_each_and_says_where_to_put_files(
    server, fakes, tmp_path, monkeypatch
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused
    refused = f"http://127.0.0.1:{port}/"
    _spec(monkeypatch, fakes, server.url, refused)  # server holds no file: 404
    monkeypatch.setattr(transfer, "RETRIES", 0)
    root = tmp_path / "m"
    with pytest.raises(engine.DownloadError) as caught:
        engine.fetch("mnist", root, subsets=["test"])
    message = str(caught.value)
    assert f"could not fetch 2 file(s) into {root}" in message
    assert f"{server.url}{IMAGES}: HTTP 404 Not Found" in message
    assert f"{refused}{IMAGES}: connection refused" in message
    assert f"{server.url}{LABELS}: left behind: HTTP 404" in message
    assert f"Put the files in {root} by hand" in message
    assert {(a[0], a[1]) for a in caught.value.attempts} >= {(IMAGES, server.url + IMAGES)}


def test_a_full_disk_is_an_output_error_and_leaves_no_file(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes)
    _spec(monkeypatch, fakes, server.url)
    real_open = transfer._open_part

    class FillsUp:
        def __init__(self, handle):
            self.handle, self.written = handle, 0

        def write(self, data):
            if self.written + len(data) > 100:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.handle.write(data)

        def close(self):
            self.handle.close()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(
        transfer, "_open_part", lambda part, offset: FillsUp(real_open(part, offset))
    )
    root = tmp_path / "m"
    with pytest.raises(engine.OutputError, match="the disk is full"):
        engine.fetch("mnist", root, subsets=["test"])
    assert not (root / IMAGES).exists() and not (root / (IMAGES + ".part")).exists()


def test_a_read_only_root_is_an_output_error(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes)
    _spec(monkeypatch, fakes, server.url)
    if os.geteuid() == 0:  # root writes through permissions; sysfs refuses new entries
        root = Path("/sys/mnist-engine-fetch-test")
    else:
        root = tmp_path / "read-only"
        root.mkdir()
        root.chmod(0o555)
    with pytest.raises(engine.OutputError, match=str(root)):
        engine.fetch("mnist", root, subsets=["test"])


def test_an_unknown_dataset_suggests_the_closest_name():
    with pytest.raises(engine.UnknownFormatError, match="did you mean 'mnist'"):
        engine.fetch("mnsit")


def test_kaggle_needs_a_login_and_says_where_to_put_the_files(tmp_path):
    with pytest.raises(engine.DownloadError) as caught:
        engine.fetch("kaggle_digits", tmp_path / "k")
    assert "Kaggle account" in str(caught.value) or "account" in str(caught.value)
    assert f"put them in {tmp_path / 'k'}" in str(caught.value)


def test_proxy_variables_are_honoured(server, fakes, tmp_path, monkeypatch):
    """The mirror's host is never resolved: the request goes to the (loopback) proxy."""
    _serve(server, fakes)
    _spec(monkeypatch, fakes, "http://mirror.invalid/")
    monkeypatch.setenv("HTTP_PROXY", server.url)
    engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    assert (f"http://mirror.invalid/{LABELS}", None) in server.requests


def test_user_mirrors_come_first_and_a_folder_works_offline(fakes, tmp_path, monkeypatch):
    folder = tmp_path / "offline"
    folder.mkdir()
    for name, data in fakes.items():
        (folder / name).write_bytes(data)
    _spec(monkeypatch, fakes, "http://mirror.invalid/")
    monkeypatch.setenv("MNIST_ENGINE_MIRRORS", folder.as_uri())
    root = engine.fetch("mnist", tmp_path / "a", subsets=["test"])
    assert (root / IMAGES).read_bytes() == fakes[IMAGES]
    monkeypatch.delenv("MNIST_ENGINE_MIRRORS")
    root = engine.fetch("mnist", tmp_path / "b", subsets=["train"], mirrors=[str(folder)])
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == sorted(
        n for n in fakes if n.startswith("train")
    )


def test_a_folder_mirror_lacking_one_file_still_serves_the_others(fakes, tmp_path, monkeypatch):
    partial, rest = tmp_path / "test-only", tmp_path / "rest"
    partial.mkdir()
    rest.mkdir()
    for name, data in fakes.items():  # one folder holds the test files, another the train files
        (partial if name.startswith("t10k") else rest).joinpath(name).write_bytes(data)
    _spec(monkeypatch, fakes, "http://mirror.invalid/")
    root = engine.fetch("mnist", tmp_path / "m", mirrors=[str(partial), str(rest)])
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == sorted(fakes)
    for name, data in fakes.items():
        assert (root / name).read_bytes() == data


def test_a_file_that_does_not_verify_is_named_and_replaced(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes)
    _spec(monkeypatch, fakes, server.url)
    root = tmp_path / "m"
    root.mkdir()
    (root / LABELS).write_bytes(gzip.compress(b"not the labels"))
    with pytest.warns(FileUnverified, match=f"{LABELS}: does not match the published file"):
        engine.fetch("mnist", root, subsets=["test"])
    assert (root / LABELS).read_bytes() == fakes[LABELS]


def test_a_recompressed_copy_with_the_published_content_is_accepted(tmp_path, monkeypatch, fakes):
    """A mirror that recompressed a file: bytes differ, content hash equals the published one."""
    content = gzip.decompress(fakes[LABELS])
    recompressed = gzip.compress(content, 1, mtime=0)
    assert recompressed != fakes[LABELS]
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / LABELS).write_bytes(recompressed)
    (folder / IMAGES).write_bytes(fakes[IMAGES])
    entries = (known(LABELS, fakes[LABELS], content=content), known(IMAGES, fakes[IMAGES]))
    spec = faked(MNIST, {}, mirrors=(folder.as_uri() + "/",), converted=())
    use_spec(monkeypatch, spec.model_copy(update={"known_files": entries}))
    root, done = fetching.fetch_report("mnist", tmp_path / "m", subsets=["test"])
    assert {f.name: f.verdict for f in done} == {LABELS: "same_content", IMAGES: "identical"}
    assert (root / LABELS).read_bytes() == recompressed


def test_the_parquet_copy_is_rebuilt_and_accepted_on_content_equality(
    server, fakes, tmp_path, monkeypatch
):
    pytest.importorskip("pyarrow")
    dataset = make_dataset()
    engine.save(dataset, "parquet", tmp_path / "hub")
    for path in (tmp_path / "hub").iterdir():
        server.add("hub/" + path.name, path.read_bytes())
    copy = ConvertedCopy(
        format="parquet",
        subsets={
            "train": f"{server.url}hub/train-00000-of-00001.parquet",
            "test": f"{server.url}hub/test-00000-of-00001.parquet",
        },
    )
    published = {
        name: known(name, b"\x1f\x8b" + data, content=gzip.decompress(data))
        for name, data in fakes.items()
    }  # the published gz bytes are not ours: only the content hash can prove equality
    spec = faked(MNIST, {}, mirrors=(server.url + "gone/",), converted=(copy,))
    spec = spec.model_copy(update={"known_files": tuple(published.values())})
    use_spec(monkeypatch, spec)
    root, done = fetching.fetch_report("mnist", tmp_path / "m", subsets=["test"])
    assert {f.name: (f.how, f.verdict) for f in done} == {
        IMAGES: ("rebuilt", "same_content"),
        LABELS: ("rebuilt", "same_content"),
    }
    assert gzip.decompress((root / IMAGES).read_bytes()) == gzip.decompress(fakes[IMAGES])
    assert not any(p.name.startswith("rebuild") for p in (root / ".mnist-engine-locks").iterdir())


def test_a_rebuilt_file_whose_content_differs_is_refused(server, fakes, tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    engine.save(make_dataset(seed=1), "parquet", tmp_path / "hub")  # other pixels
    for path in (tmp_path / "hub").iterdir():
        server.add("hub/" + path.name, path.read_bytes())
    copy = ConvertedCopy(
        format="parquet", subsets={"test": f"{server.url}hub/test-00000-of-00001.parquet"}
    )
    published = tuple(known(n, b"x" + d, content=gzip.decompress(d)) for n, d in fakes.items())
    spec = faked(MNIST, {}, mirrors=(server.url + "gone/",), converted=(copy,))
    use_spec(monkeypatch, spec.model_copy(update={"known_files": published}))
    with pytest.raises(engine.DownloadError, match="rebuilt file differs"):
        engine.fetch("mnist", tmp_path / "m", subsets=["test"])
    assert not (tmp_path / "m" / IMAGES).exists()


def test_load_with_download_fetches_what_is_missing(server, fakes, tmp_path, monkeypatch):
    _serve(server, fakes)
    _spec(monkeypatch, fakes, server.url)
    loaded = engine.load("mnist", tmp_path / "m", subset="test", download=True)
    assert len(loaded.subsets()["test"]) == len(make_dataset().subsets()["test"])


def test_cli_download_get_fails_with_exit_2(server, fakes, tmp_path, monkeypatch, capsys):
    _spec(monkeypatch, fakes, server.url)
    code = main(["download", "get", "-i", "mnist", "-o", str(tmp_path / "m"), "--subset", "test"])
    assert code == 2
    assert "HTTP 404 Not Found" in capsys.readouterr().err


def _fetch_in_a_process(root: str, spec_dir: str, queue) -> None:
    os.environ["MNIST_ENGINE_SPEC_PATH"] = spec_dir
    try:
        engine.fetch("fetch_probe", root, progress=False)
        queue.put("ok")
    except Exception as error:  # reported to the test
        queue.put(repr(error))


def test_four_processes_fetch_each_file_once(server, fakes, tmp_path):
    _serve(server, fakes)
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    entries = ", ".join(
        f"KnownFile(name={n!r}, size={k.size}, sha256={k.sha256!r})"
        for n, k in ((n, known(n, d)) for n, d in fakes.items())
    )
    (spec_dir / "fetch_probe.py").write_text(
        "from specs.mnist import SPEC as M\n"
        "from specs.schema import KnownFile, Mirror\n"
        "SPEC = M.model_copy(update={'name': 'fetch_probe', 'known_files': (" + entries + "),\n"
        f"  'sources': M.sources.model_copy(update={{'mirrors': (Mirror(url={server.url!r}),),"
        " 'converted': ()})})\n"
    )
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    root = tmp_path / "shared-root"
    workers = [
        context.Process(target=_fetch_in_a_process, args=(str(root), str(spec_dir), queue))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    try:
        results = [queue.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
    assert results == ["ok"] * 4
    assert {name: server.served[name] for name in fakes} == dict.fromkeys(fakes, 1)
    for name, data in fakes.items():
        assert (root / name).read_bytes() == data
