"""Helpers of the hostile-load tests: raw sockets, a /healthz prober, the server's memory."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

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


#: The prober, run in a process of its own so that the test's threads (senders holding the
#: GIL) cannot delay it: it polls until its stdin closes, then prints what it measured.
_PROBE = """
import json, sys, threading, time, httpx
url, every = sys.argv[1], float(sys.argv[2])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
latencies, failures = [], 0
with httpx.Client(base_url=url, timeout=10) as client:
    for _ in range(100_000):  # bounded; stopped long before
        if stop.is_set():
            break
        started = time.perf_counter()
        try:
            ok = client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - started)
        failures += not ok
        stop.wait(every)
print(json.dumps({"latencies": latencies, "failures": failures}))
"""


@dataclass
class HealthProbe:
    """Polls /healthz every ``every`` seconds from another process, recording each latency."""

    server: Server
    every: float = 0.02
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    _process: subprocess.Popen[str] | None = None

    def __enter__(self) -> HealthProbe:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _PROBE, self.server.url, str(self.every)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)  # the prober's interpreter starts before the load does
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        out, _ = self._process.communicate("", timeout=60)
        measured = json.loads(out)
        self.latencies, self.failures = measured["latencies"], measured["failures"]

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
