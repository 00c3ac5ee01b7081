"""Test helpers shipped with the SDK: a real ingest endpoint on 127.0.0.1, and a
transport that keeps batches in memory.

:class:`LocalReceiver` is a small threaded HTTP server that speaks the ingest wire
format (``POST /api/v1/ingest``, optional gzip, a JSON array of entries). Tests point a
:class:`~tracehub.TraceHubLogger` at ``rx.url`` and assert on what actually arrived,
so the SDK is exercised over real sockets instead of a mock of the thing under test.

Replies can be scripted (``respond_with``) to exercise retries, 413 splitting,
throttling and rejections; ``hang()`` makes requests block until ``stop_hanging()`` or
``close()``; ``down()`` and ``up()`` stop and restart the server on the same port,
which is how outages and recoveries are tested.

:class:`MemoryTransport` is the SDK's ``MockTransport``: pass it as ``transport=`` to
test code that logs, without any network, and read ``transport.entries``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

from tracehub.models import SendResult

__all__ = ["LocalReceiver", "MemoryTransport", "ReceivedRequest"]

#: Status recorded for a request that was never answered (``hang()`` or receiver closed).
NOT_ANSWERED = 0


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it, with the status it answered."""

    method: str
    path: str
    headers: httpx.Headers
    raw_body: bytes
    entries: list[dict[str, Any]]
    status: int
    #: ``time.monotonic()`` when the request's body had been read.
    received_at: float = 0.0


@dataclass
class _Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None
    remaining: int = 1


def _decode_entries(headers: httpx.Headers, raw: bytes) -> list[dict[str, Any]]:
    """Gunzip (when announced) and parse a JSON array; raise ValueError when it is not one."""
    data = raw
    if headers.get("content-encoding", "").lower() == "gzip":
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"body is not valid gzip: {exc}") from exc
    parsed = json.loads(data)
    if not isinstance(parsed, list) or not all(isinstance(e, dict) for e in parsed):
        raise ValueError("body is not a JSON array of objects")
    return parsed


class LocalReceiver:
    """A threaded HTTP ingest endpoint on a free 127.0.0.1 port, for tests.

    Use it as a context manager; ``close()`` releases hanging requests and stops the
    server. Unscripted requests get ``202 {"accepted": n, "rejected": []}`` (or 400 when
    the body is not a JSON array).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._replies: deque[_Reply] = deque()
        self._requests: list[ReceivedRequest] = []
        self._entries: list[dict[str, Any]] = []
        self._hanging = False
        self._release = threading.Event()
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._server = self._bind(0)
        self._port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> LocalReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        server.daemon_threads = True
        return server

    def start(self) -> None:
        """Start serving in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="tracehub-local-receiver",
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """Release hanging requests, drop open connections and stop the server."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._release.set()
        self._stop_serving()

    def _stop_serving(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """Stop listening and cut every connection: clients get "connection refused"."""
        self.stop_hanging()
        self._stop_serving()

    def up(self) -> None:
        """Listen again on the same port (after :meth:`down`)."""
        if self._thread is None and not self._closing.is_set():
            self._server = self._bind(self._port)
            self.start()

    # -- scripting -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL to pass as a logger's ``endpoint``."""
        return f"http://127.0.0.1:{self._port}"

    def respond_with(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
        body: bytes | None = None,
    ) -> None:
        """Queue a scripted reply used for the next ``times`` requests.

        ``body`` defaults to the usual ``{"accepted": n, ...}`` for 2xx and a JSON error
        object otherwise. ``delay`` waits before answering (cut short by ``close()``).
        """
        reply = _Reply(status, dict(headers or {}), delay, body, max(times, 1))
        with self._lock:
            self._replies.append(reply)

    def hang(self) -> None:
        """Make every following request block (unanswered) until released or closed."""
        with self._lock:
            self._hanging = True
            self._release = threading.Event()

    def stop_hanging(self) -> None:
        """Answer again; requests hanging so far are dropped without an answer."""
        with self._lock:
            self._hanging = False
            self._release.set()

    # -- observations ----------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Decoded entries of every successfully answered (2xx) request, in order."""
        with self._lock:
            return list(self._entries)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` entries arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._entries) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected >= {n} entries within {timeout}s, got {len(self._entries)}"
                    )
                self._lock.wait(left)
            return list(self._entries)

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until at least ``n`` requests arrived (any status); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected >= {n} requests within {timeout}s, got {len(self._requests)}"
                    )
                self._lock.wait(left)
            return list(self._requests)

    # -- request handling ------------------------------------------------------------

    def _next_reply(self) -> _Reply | None:
        with self._lock:
            if not self._replies:
                return None
            reply = self._replies[0]
            reply.remaining -= 1
            if reply.remaining <= 0:
                self._replies.popleft()
            return reply

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def _accept(self, entries: list[dict[str, Any]]) -> None:
        with self._lock:
            self._entries.extend(entries)
            self._lock.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(_Handler):
            rx = receiver

        return Handler


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, answers it as scripted, records what happened."""

    rx: LocalReceiver
    protocol_version = "HTTP/1.1"  # keep-alive, like the real server
    timeout = 10  # idle keep-alive connections end on their own
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests assert on recorded requests, not on stderr."""

    def setup(self) -> None:
        """Track the connection so ``close()`` can cut it."""
        super().setup()
        with self.rx._lock:
            self.rx._sockets.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        with self.rx._lock:
            self.rx._sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        """Answer health probes and anything else with the scripted/default reply."""
        self._handle()

    def do_POST(self) -> None:
        """Ingest: decode, reply, record."""
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        rx = self.rx
        headers = httpx.Headers(list(self.headers.items()))
        raw = self._read_body()
        try:
            entries = _decode_entries(headers, raw) if raw else []
            error = None
        except ValueError as exc:
            entries, error = [], str(exc)
        reply = rx._next_reply()
        if reply is None:
            reply = _Reply(400 if error else 202)
        with rx._lock:
            hanging, release = rx._hanging, rx._release
        status = NOT_ANSWERED if hanging else reply.status
        rx._record(
            ReceivedRequest(
                self.command, self.path, headers, raw, entries, status, time.monotonic()
            )
        )
        if hanging:
            release.wait()
            self.close_connection = True
            return
        if reply.delay and rx._closing.wait(reply.delay):
            self.close_connection = True
            return
        self._respond(reply, entries, error)

    def _respond(self, reply: _Reply, entries: list[dict[str, Any]], error: str | None) -> None:
        ok = 200 <= reply.status < 300
        if reply.body is not None:
            body = reply.body
        elif ok:
            body = json.dumps({"accepted": len(entries), "rejected": []}).encode()
        else:
            body = json.dumps({"error": error or f"scripted status {reply.status}"}).encode()
        if ok:
            # Recorded before the reply is written, as a real server stores before it
            # answers: once the client sees 2xx, ``entries`` already holds the batch.
            self.rx._accept(entries)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class MemoryTransport:
    """A transport that keeps what it is sent, for tests of code that logs.

    ``handler``, when given, sees each batch's decoded entries and returns the
    :class:`~tracehub.models.SendResult` to report (None: accept the batch), so a test
    can script failures. Implements only the required ``send`` and ``close``.
    """

    def __init__(
        self, handler: Callable[[list[dict[str, Any]]], SendResult | None] | None = None
    ) -> None:
        self.handler = handler
        # No lock: list.extend is atomic, and a lock held by the parent's worker at fork
        # time would stay held in the child (this transport has no reset_after_fork).
        self._entries: list[dict[str, Any]] = []
        self.closed = False

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Entries of every batch accepted so far, in order."""
        return list(self._entries)

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        """Decode ``batch``; keep it unless the handler says otherwise."""
        entries = [orjson.loads(entry) for entry in batch]
        result = self.handler(entries) if self.handler is not None else None
        if result is None:
            result = SendResult(delivered=len(entries))
        if result.delivered == len(entries):
            self._entries.extend(entries)
        return result

    def close(self) -> None:
        """Nothing to release; remembered for assertions."""
        self.closed = True
