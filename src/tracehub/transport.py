"""Transports: how a batch of encoded entries reaches the ingest endpoint.

A transport implements the four methods of :class:`Transport`, which the worker, its
only caller, uses one batch at a time: ``prepare()`` when the worker starts, ``send(batch,
*, deadline=None) -> SendResult`` per batch, ``reset_after_fork()`` in a forked child and
``close()`` at shutdown. :class:`HttpTransport` is the real one. Its guarantees, per response:

* **2xx** — the batch is done (200/202 per the wire contract; any 2xx counts).
* **413** — the batch is split in halves and each half is sent (recursively); a single
  entry that is still too large is *rejected*.
* **408, 429, 5xx, timeouts and connection errors** — retried up to ``max_retries``
  times with exponential backoff and full jitter; ``Retry-After`` (seconds or an HTTP
  date) is honoured, capped at ``max_retry_after``. After ``reconnect_after``
  consecutive network failures the HTTP client is recreated. What still failed is
  returned as *undelivered* (the worker dead-letters it).
* **any other 4xx** — not retried: the batch is *rejected* (dead-lettered by the
  worker) and the server's error is reported once through the ``tracehub`` logger.

``deadline`` (a ``time.monotonic()`` value) bounds everything: each request's timeout
is cut to what is left, and no attempt or backoff starts after it.

Sending never waits on ``logging``'s module lock, which ``dictConfig`` and
``logging.shutdown()`` hold while they flush handlers (a bridge's flush may wait on us).
httpx and httpcore call ``Logger.isEnabledFor`` on every request, and once a
reconfiguration has cleared the level caches that call takes the module lock. So
:meth:`HttpTransport.prepare`, run by the worker when it starts, imports the HTTP stack
and builds the client there (imports create loggers, which also takes the lock), then
gives those loggers an ``isEnabledFor`` that answers False on SDK threads without
asking ``logging`` (:func:`quiet_http_loggers_on_sdk_threads`). On application threads
the original check runs unchanged, so the app's own httpx logging is unaffected; only
the SDK's own requests go unlogged by httpx (a bridge would drop those records anyway).
"""

from __future__ import annotations

import email.utils
import gzip
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence

import httpcore  # pre-imported: httpx imports it lazily, on the first client
import httpx

from tracehub import _diagnostics
from tracehub._version import __version__
from tracehub.models import SendResult

__all__ = ["HTTP_CLIENT_LOGGERS", "HttpTransport", "Transport", "quiet_http_loggers_on_sdk_threads"]

#: Response bytes read for an error report (a hostile server can't make us buffer more).
MAX_ERROR_BODY = 2_048
#: Response bytes read from a 2xx before the connection is dropped instead of reused.
MAX_OK_BODY = 65_536
#: gzip level: 1 keeps the worker fast; log JSON still shrinks about tenfold.
GZIP_LEVEL = 1

_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

_OK, _TOO_LARGE, _RETRYABLE, _REJECTED, _DEADLINE = range(5)

#: Top-level names of the HTTP stack's loggers (children included) quieted on SDK threads.
HTTP_CLIENT_LOGGERS = frozenset({httpx.__name__, httpcore.__name__})
_quiet_lock = threading.Lock()


def quiet_http_loggers_on_sdk_threads() -> None:
    """Let the HTTP stack's loggers skip SDK threads without taking ``logging``'s lock.

    Each existing ``httpx``/``httpcore`` logger gets an instance-level ``isEnabledFor``
    that returns False at once on an SDK-internal thread and otherwise calls the
    original. Idempotent. The logger registry is read without ``logging``'s lock on
    purpose (a ``list()`` of a dict is atomic in CPython).
    """
    with _quiet_lock:
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger):
                continue  # a PlaceHolder: no logger of that exact name yet
            if name.partition(".")[0] not in HTTP_CLIENT_LOGGERS:
                continue
            if not getattr(logger.isEnabledFor, "_tracehub_quiet", False):
                logger.isEnabledFor = _quiet_on_sdk_threads(logger.isEnabledFor)  # type: ignore[method-assign, assignment]


def _quiet_on_sdk_threads(original: Callable[[int], bool]) -> Callable[[int], bool]:
    is_internal = _diagnostics.is_sdk_internal

    def is_enabled_for(level: int) -> bool:
        return False if is_internal() else original(level)

    is_enabled_for._tracehub_quiet = True  # type: ignore[attr-defined]
    return is_enabled_for


class Transport:
    """Base class: deliver one batch of encoded entries, and release resources.

    Implementations must not raise from :meth:`send`; they report what happened in the
    returned :class:`~tracehub.models.SendResult`.
    """

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        """Deliver ``batch`` (JSON objects as bytes), finishing by ``deadline``."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Get ready to send; called on the worker thread when it starts, before any send."""

    def close(self) -> None:
        """Release connections (idempotent; may be called while ``send`` runs elsewhere,
        which then stops retrying)."""

    def reset_after_fork(self) -> None:
        """Forget state inherited from the parent process (connections, locks)."""


def encode_body(batch: Sequence[bytes]) -> bytes:
    """A JSON array from already-encoded entries."""
    return b"[" + b",".join(batch) + b"]"


class HttpTransport(Transport):
    """POSTs batches to ``{endpoint}/api/v1/ingest`` over a keep-alive httpx client."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        compress: bool = True,
        retry_backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        reconnect_after: int = 3,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.max_retries = max_retries
        self.compress = compress
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.reconnect_after = reconnect_after
        self._headers = {
            "X-API-Key": api_key,
            "Content-Type": "application/json",
            "User-Agent": f"tracehub-python/{__version__}",
        }
        if compress:
            self._headers["Content-Encoding"] = "gzip"
        self._client: httpx.Client | None = None
        self._network_failures = 0
        self._closed = threading.Event()

    # -- lifecycle -------------------------------------------------------------------

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            # trust_env=False: a self-hosted endpoint is reached directly, never through
            # a proxy picked up from the environment.
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            # TCP_NODELAY: h11 writes headers and body separately; with Nagle's algorithm
            # the body's last segment would wait for a delayed ACK (~40 ms per request).
            transport = httpx.HTTPTransport(limits=limits, socket_options=_SOCKET_OPTIONS)
            self._client = httpx.Client(timeout=self.timeout, transport=transport, trust_env=False)
        return self._client

    def prepare(self) -> None:
        """Build the client and quiet the HTTP stack's loggers on SDK threads (see above)."""
        self._get_client()
        quiet_http_loggers_on_sdk_threads()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception as exc:
                _diagnostics.report("transport-close", f"closing the HTTP client failed: {exc}")

    def close(self) -> None:
        """Close the HTTP client; a later ``send`` would open a new one."""
        self._closed.set()
        self._drop_client()

    def reset_after_fork(self) -> None:
        """Drop the parent's client without closing it: its socket belongs to the parent."""
        self._client = None
        self._network_failures = 0
        self._closed = threading.Event()

    # -- sending ---------------------------------------------------------------------

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        """Deliver ``batch``; see the module docstring for what each outcome does."""
        result = SendResult()
        if batch:
            self._send_part(list(batch), deadline, result)
        return result

    def _send_part(self, entries: list[bytes], deadline: float | None, result: SendResult) -> None:
        outcome, status = self._post_with_retries(encode_body(entries), deadline, result)
        if outcome == _OK:
            result.delivered += len(entries)
        elif outcome == _TOO_LARGE and len(entries) > 1:
            middle = len(entries) // 2
            self._send_part(entries[:middle], deadline, result)
            self._send_part(entries[middle:], deadline, result)
        elif outcome in (_REJECTED, _TOO_LARGE):
            result.rejected.extend(entries)
            result.rejected_status = status
        else:
            result.undelivered.extend(entries)

    def _post_with_retries(
        self, body: bytes, deadline: float | None, result: SendResult
    ) -> tuple[int, int | None]:
        if self.compress:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        for attempt in range(self.max_retries + 1):
            if self._closed.is_set():
                return _DEADLINE, None
            if attempt:
                result.retries += 1
            left = _remaining(deadline)
            if left is not None and left <= 0:
                return _DEADLINE, None
            outcome, status, wait = self._post_once(body, left)
            if outcome != _RETRYABLE:
                return outcome, status
            if attempt == self.max_retries:
                break
            delay = max(self._backoff(attempt), wait or 0.0)
            left = _remaining(deadline)
            if left is not None and delay >= left:
                return _DEADLINE, status
            if self._closed.wait(delay):
                break  # closed meanwhile: stop retrying, the caller dead-letters the batch
        return _RETRYABLE, None

    def _post_once(self, body: bytes, left: float | None) -> tuple[int, int | None, float | None]:
        """One request: (outcome, status, Retry-After seconds)."""
        timeout = self.timeout if left is None else max(min(self.timeout, left), 0.001)
        try:
            client = self._get_client()
            request = client.build_request(
                "POST", self.url, content=body, headers=self._headers, timeout=timeout
            )
            response = client.send(request, stream=True)
        except Exception as exc:  # httpx.TransportError and anything below it
            self._network_failure(exc)
            return _RETRYABLE, None, None
        self._network_failures = 0
        try:
            return self._classify(response)
        finally:
            response.close()

    def _classify(self, response: httpx.Response) -> tuple[int, int | None, float | None]:
        status = response.status_code
        if 200 <= status < 300:
            _read_at_most(response, MAX_OK_BODY)
            return _OK, status, None
        detail = _read_at_most(response, MAX_ERROR_BODY).decode("utf-8", "replace")
        if status == 413:
            return _TOO_LARGE, status, None
        if status in (408, 429) or status >= 500:
            _diagnostics.report(
                f"http-retry-{status}", f"ingest answered {status}; retrying: {detail[:200]}"
            )
            return _RETRYABLE, status, self._retry_after(response)
        _diagnostics.report(
            f"http-reject-{status}",
            f"ingest refused a batch with {status} (not retried, dead-lettered): {detail}",
        )
        return _REJECTED, status, None

    def _network_failure(self, exc: Exception) -> None:
        self._network_failures += 1
        _diagnostics.report(
            f"network-{type(exc).__name__}",
            f"could not reach {self.url}: {type(exc).__name__}: {exc}",
        )
        if self._network_failures >= self.reconnect_after:
            # Auto-reconnect: a client wedged on a dead connection pool is replaced.
            self._network_failures = 0
            self._drop_client()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: a random share of base * 2**attempt, capped."""
        ceiling = min(self.max_backoff, self.retry_backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if not value:
            return None
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            seconds = when.timestamp() - time.time()
        if seconds != seconds:  # NaN
            return None
        return min(max(seconds, 0.0), self.max_retry_after)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except Exception:  # noqa: S110 - the status already says what we need
        pass
    return b"".join(chunks)[:limit]
