"""Helpers of the hostile-load tests: raw sockets, a /healthz prober, the server's memory."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import httpx
import psutil

#: Small bounds so that a test reaches them quickly; the defaults are in ``Settings``.
BOUNDS = {
    "TRACEHUB_BODY_TIMEOUT_SECONDS": "3",
    "TRACEHUB_MAX_CONCURRENT_BODIES": "8",
    "TRACEHUB_BODY_MEMORY_MB": "64",
}


@dataclass(frozen=True)
class Server:
    """A running server under test."""

    port: int
    pid: int
    api_key: str
    dsn: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        """Resident bytes of the server process (where bodies are received and held)."""
        return psutil.Process(self.pid).memory_info().rss

    def children_rss(self) -> int:
        """Resident bytes of its children (the body parser: at most one body at a time)."""
        children = psutil.Process(self.pid).children(recursive=True)
        return sum(child.memory_info().rss for child in children)


def open_ingest(server: Server, *, length: int, gzip: bool = False) -> socket.socket:
    """A connection that has sent an ingest request's headers and no body yet."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    encoding = "Content-Encoding: gzip\r\n" if gzip else ""
    sock.sendall(
        (
            f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {server.api_key}\r\n"
            f"Content-Type: application/json\r\n{encoding}Content-Length: {length}\r\n\r\n"
        ).encode()
    )
    return sock


def read_until_closed(sock: socket.socket, *, timeout: float) -> bytes:
    """Everything the server sends until it closes (or ``timeout`` passes: then b'' ends it)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the server kept the connection open; it sent {data[:200]!r}")


@dataclass
class HealthProbe:
    """Polls /healthz from its own thread every ``every`` seconds, recording each latency."""

    server: Server
    every: float = 0.02
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HealthProbe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=10) as client:
            for _ in range(10_000):  # bounded; stopped long before
                if self._stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - started)
                self.failures += not ok
                self._stop.wait(self.every)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
