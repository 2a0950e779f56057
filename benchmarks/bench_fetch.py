"""Fetching 100 MB from a loopback server: ours (transfer + SHA-256 on the way + verify + rename)
against `curl` and `urllib` writing the same file, side by side in one run (median of several
runs; each client in its own process, its peak RssAnon reported); then the resume saving: a
transfer cut at 50% resumed with a Range request against a fresh one.

The server is a separate process (sendfile, Range support), so it does not share our GIL.
Run: `python benchmarks/bench_fetch.py [--mb 100] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import _common

ROOT = _common.ROOT

OURS = """
import sys, time
from pathlib import Path
import filelock, requests  # imported once per process, as urllib is in its script
from engine.ops.fetch import Fetcher
from specs.mnist import SPEC
from specs.schema import FetchFile, KnownFile, Mirror
url, out, size, sha = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
name = url.rsplit("/", 1)[1]
spec = SPEC.model_copy(update={
    "known_files": (KnownFile(name=name, size=size, sha256=sha),),
    "sources": SPEC.sources.model_copy(update={
        "files": (FetchFile(name=name, subsets=("train",)),), "converted": ()}),
})
start = time.perf_counter()
mirror = Mirror(url=url.rsplit("/", 1)[0] + "/")
Fetcher(spec, out, [mirror], progress=False).run(spec.sources.files)
print(time.perf_counter() - start)
"""

URLLIB = """
import shutil, sys, time, urllib.request
start = time.perf_counter()
with urllib.request.urlopen(sys.argv[1]) as answer, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(answer, out, 1 << 20)
print(time.perf_counter() - start)
"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.server.folder) / self.path.lstrip("/")  # type: ignore[attr-defined]
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        with open(path, "rb") as handle:
            self.connection.sendfile(handle, start, size - start)


def serve(folder: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.folder = folder  # type: ignore[attr-defined]
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _timed(command: list[str]) -> tuple[float, int]:
    """(seconds, peak RssAnon in kB) of a client process: it prints its own time (ours, urllib:
    without the interpreter's start) or is timed from outside (curl); RssAnon is sampled from
    /proc every 5 ms."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_env())
    peak = 0
    while process.poll() is None:
        peak = max(peak, _rss_anon(process.pid))
        time.sleep(0.005)
    outside = time.perf_counter() - start
    output = process.stdout.read().strip() if process.stdout else ""
    return (float(output) if output else outside), peak


def _rss_anon(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(ROOT)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--dir", help="folder for the served file and the outputs (default: the temp folder)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    work = Path(tempfile.mkdtemp(prefix="bench-fetch-", dir=args.dir))
    served = work / "served"
    served.mkdir()
    blob = served / "blob.bin"
    data = os.urandom(args.mb << 20)
    blob.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    del data
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(served)], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/blob.bin"
        clients = {
            "ours (engine.fetch machinery)": lambda out: [
                sys.executable,
                "-c",
                OURS,
                url,
                str(out),
                str(blob.stat().st_size),
                sha,
            ],
            "curl": lambda out: ["curl", "-s", "--noproxy", "*", "-o", str(out / "blob.bin"), url],
            "urllib": lambda out: [sys.executable, "-c", URLLIB, url, str(out / "blob.bin")],
        }
        results: dict[str, list[tuple[float, int]]] = {name: [] for name in clients}
        names = list(clients)
        for run in range(args.runs):
            # interleaved, the order rotated each run: each client meets the same disk state
            for name in names[run % len(names) :] + names[: run % len(names)]:
                command = clients[name]
                out = work / f"out-{run}-{len(results[name])}-{name.split()[0]}"
                out.mkdir()
                results[name].append(_timed(command(out)))
                assert (out / "blob.bin").stat().st_size == blob.stat().st_size
                shutil.rmtree(out)
        print(f"fetch {args.mb} MB from loopback, median of {args.runs} runs")
        base = statistics.median(t for t, _ in results["curl"])
        for name, timings in results.items():
            seconds = statistics.median(t for t, _ in timings)
            peak = max(p for _, p in timings)
            print(
                f"  {name:30} {seconds:6.3f} s  {args.mb / seconds:7.1f} MB/s  "
                f"{seconds / base:5.2f}x curl  peak RssAnon {peak / 1024:6.1f} MB"
            )
        _resume(work, blob, sha, url, args.runs)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def _resume(work: Path, blob: Path, sha: str, url: str, runs: int) -> None:
    """A .part holding the first half, resumed with Range, against a fresh transfer."""
    size = blob.stat().st_size
    fresh, resumed = [], []
    for run in range(runs):
        for kind in ("fresh", "resumed"):
            out = work / f"resume-{run}-{kind}"
            out.mkdir()
            if kind == "resumed":
                with open(blob, "rb") as source, open(out / "blob.bin.part", "wb") as part:
                    part.write(source.read(size // 2))
            seconds, _ = _timed([sys.executable, "-c", OURS, url, str(out), str(size), sha])
            (fresh if kind == "fresh" else resumed).append(seconds)
            shutil.rmtree(out)
    f, r = statistics.median(fresh), statistics.median(resumed)
    print(f"resume from 50%: {r:.3f} s against {f:.3f} s fresh ({r / f:.2f}x)")


if __name__ == "__main__":
    main()
