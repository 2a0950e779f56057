"""A loopback HTTP server for fetch tests: serves files from memory on 127.0.0.1, with a fault
switch per path, and counts what it served. Also answers proxy-style requests (absolute URIs)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

HTML = b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>nope</body></html>"


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path or absolute URL, Range)
        self.served: Counter[str] = Counter()  # complete bodies sent, by path
        self.seen: Counter[str] = Counter()  # requests, by path
        self.closing = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def add(self, path: str, data: bytes, fault: str | None = None) -> None:
        self.files[path.lstrip("/")] = data
        if fault:
            self.faults[path.lstrip("/")] = fault


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = urlparse(self.path).path.lstrip("/")
        byte_range = self.headers.get("Range")
        with self.server.lock:
            self.server.requests.append((self.path, byte_range))
            self.server.seen[path] += 1
            count = self.server.seen[path]
        fault = self.server.faults.get(path, "")
        body = self.server.files.get(path)
        if body is None or fault == "404":
            return self._plain(404, b"Not Found")
        if fault == "403html":
            return self._plain(403, HTML, "text/html")
        if fault == "html200":
            return self._plain(200, HTML * 40, "text/html")
        if fault == "500always" or (fault == "500once" and count == 1):
            return self._plain(500, b"Internal Server Error")
        if fault == "wrong":
            body = bytes(b ^ 0x5A for b in body[:2]) + body[2:]
            body = body[:2] + bytes((b + 1) % 256 for b in body[2:])
            body = b"\x1f\x8b" + body[2:] if path.endswith(".gz") else body
        start = 0
        if byte_range and fault != "ignore_range":
            start = int(byte_range.split("=")[1].split("-")[0])
        if (fault == "ignore_range" and count == 1) or (fault == "reset_half" and count == 1):
            return self._send(body, 0, cut_at=len(body) // 2)
        if fault == "short":
            return self._send(body, start, short_by=1)
        if fault == "stall":
            return self._send(body, start, stall_at=len(body) // 2)
        self._send(body, start)

    def _plain(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(
        self,
        body: bytes,
        start: int,
        cut_at: int | None = None,
        stall_at: int | None = None,
        short_by: int = 0,
    ) -> None:
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if cut_at is not None:  # the link drops midway: a reset once the client has the bytes
            self.wfile.write(body[start : max(cut_at, start)])
            self.wfile.flush()
            time.sleep(0.2)
            self._reset()
            return
        if short_by:  # the server closes (FIN) before the declared length
            self.wfile.write(body[start : len(body) - short_by])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
            return
        if stall_at is not None:
            self.wfile.write(body[start : max(stall_at, start)])
            self.wfile.flush()
            self.server.closing.wait(10)
            self._reset()
            return
        self.wfile.write(body[start:])
        with self.server.lock:
            self.server.served[urlparse(self.path).path.lstrip("/")] += 1

    def _reset(self) -> None:
        """Closes the connection with a TCP reset (SO_LINGER 0), as a dropped link does."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()


@contextlib.contextmanager
def serving() -> Iterator[LoopbackServer]:
    """A LoopbackServer running in a thread, shut down and closed whatever happens."""
    server = LoopbackServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
