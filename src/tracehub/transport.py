"""Transports: how a batch of encoded entries reaches the ingest endpoint.

The contract is :class:`Transport`, a :class:`typing.Protocol`: ``send(batch, *,
deadline=None) -> SendResult`` and ``close()`` are required; ``prepare()`` and
``reset_after_fork()`` are optional hooks the worker calls only when present. The
worker is the only caller of ``send``, one batch at a time. :class:`HttpTransport` is
the real one (``tracehub.testing.MemoryTransport`` an in-memory one). Its guarantees,
per response:

* **2xx** — the batch is done (200/202 per the wire contract; any 2xx counts). Entries
  the answer lists in ``rejected`` (``{"accepted": N, "rejected": [{"index": i,
  "error": "..."}]}``) are counted as *refused* and reported once.
* **422 with that same per-entry body** (every entry refused) — the same: refused, not
  retried, not dead-lettered (a resend would be refused again).
* **413** — the batch is split in halves and each half is sent (recursively); a single
  entry that is still too large is *rejected*.
* **429, 503** — backpressure: not retried here. The batch comes back *undelivered*
  with ``throttled`` set to the ``Retry-After`` pause (seconds or an HTTP date, capped
  at ``max_retry_after``; 0 when absent), so the worker stops sending for that long
  and dead-letters meanwhile instead of holding the batch.
* **408, other 5xx, timeouts and connection errors** — retried up to ``max_retries``
  times with full-jitter backoff (:func:`tracehub.backoff.full_jitter`) as long as the
  deadline allows. After ``reconnect_after`` consecutive network failures the HTTP
  client is recreated. What still failed is returned as *undelivered*.
* **any other 4xx** — not retried: the batch is *rejected* (dead-lettered by the
  worker) and the server's error is reported once through the ``tracehub`` logger.

``deadline`` (a ``time.monotonic()`` value) bounds the whole call: each request's
timeout is cut to what is left, and no attempt or backoff starts after it.

Fork safety: the TLS context and the HTTP client are built in the constructor, on the
application's thread, before any SDK thread exists; a reconnect, and the child after
``fork()``, build a new client around that same context. So the delivery thread never
calls into OpenSSL's context set-up (which takes process-wide locks: a fork while it
ran left the child waiting forever in ``ssl.SSLContext.__new__``), and everything the
first request needs is imported before the worker starts.

Sending never waits on ``logging``'s module lock, which ``dictConfig`` and
``logging.shutdown()`` hold while they flush handlers (a bridge's flush may wait on us).
httpx and httpcore call ``Logger.isEnabledFor`` on every request -- and so does an
application's instrumentation wrapped around httpx (``sentry-sdk``'s httpx integration logs a
debug line per traced request) --, and once a reconfiguration has cleared the level caches
that call takes the module lock. So those loggers (:data:`QUIETED_LOGGERS`) get an
``isEnabledFor`` that answers False on SDK threads without asking ``logging``
(:func:`quiet_loggers_on_sdk_threads`, run at construction and again by
:meth:`HttpTransport.prepare`). On application threads the original check runs unchanged, so
the app's own logging is unaffected; only what they would log about the SDK's own requests
goes unlogged (a bridge would drop those records anyway).
"""

from __future__ import annotations

import contextlib
import email.utils
import encodings.idna  # noqa: F401 - imported by the first request otherwise (see above)
import gzip
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import httpcore  # pre-imported: httpx imports it lazily, on the first client
import httpx
import orjson

from tracehub import _diagnostics
from tracehub._version import __version__
from tracehub.backoff import full_jitter
from tracehub.models import SendResult

__all__ = [
    "OPTIONAL_HOOKS",
    "QUIETED_LOGGERS",
    "HttpTransport",
    "Transport",
    "call_optional_hook",
    "quiet_loggers_on_sdk_threads",
]

#: Response bytes read for an error report (a hostile server can't make us buffer more).
MAX_ERROR_BODY = 2_048
#: Response bytes read from a 2xx or 422 (a per-entry answer for 1,000 refused entries
#: fits) before the connection is dropped instead of reused.
MAX_OK_BODY = 1024 * 1024
#: Statuses that mean "slow down": never retried inside ``send``.
THROTTLE_STATUSES = frozenset({429, 503})
#: gzip level: 1 keeps the worker fast; log JSON still shrinks about tenfold.
GZIP_LEVEL = 1

_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

_OK, _TOO_LARGE, _RETRYABLE, _REJECTED, _DEADLINE, _THROTTLED, _REFUSED = range(7)

#: Top-level names of the loggers (children included) quieted on SDK threads: the HTTP
#: stack's, and those of instrumentation that wraps httpx in the application and logs from
#: inside the wrapper -- Sentry's (``sentry_sdk.errors``, on every traced request) and
#: OpenTelemetry's.
QUIETED_LOGGERS = frozenset({httpx.__name__, httpcore.__name__, "sentry_sdk", "opentelemetry"})
_quiet_lock = threading.Lock()


def quiet_loggers_on_sdk_threads() -> None:
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
            if name.partition(".")[0] not in QUIETED_LOGGERS:
                continue
            if not getattr(logger.isEnabledFor, "_tracehub_quiet", False):
                logger.isEnabledFor = _quiet_on_sdk_threads(logger.isEnabledFor)  # type: ignore[method-assign, assignment]


def _quiet_on_sdk_threads(original: Callable[[int], bool]) -> Callable[[int], bool]:
    is_internal = _diagnostics.is_sdk_internal

    def is_enabled_for(level: int) -> bool:
        return False if is_internal() else original(level)

    is_enabled_for._tracehub_quiet = True  # type: ignore[attr-defined]
    return is_enabled_for


@runtime_checkable
class Transport(Protocol):
    """What the worker needs from a transport: ``send`` and ``close``.

    ``send`` must not raise; it reports what happened in the returned
    :class:`~tracehub.models.SendResult` (the worker treats an exception as "nothing
    delivered" and dead-letters the batch, but reports it as a bug). ``close`` is
    idempotent and may be called while ``send`` runs on the worker thread, which should
    then stop retrying.

    Three optional hooks, called only when the object has them (see
    :func:`call_optional_hook`): ``prepare()`` on the worker thread when it starts,
    before any ``send``; ``reset_after_fork()`` in a forked child, to forget
    connections and locks inherited from the parent (a transport without it is used as
    is in the child); ``reconnect()`` when the supervisor gave up on a ``send`` that
    hung, from another thread while that send may still run: drop the connections it
    holds so the next ``send`` (on a new thread) does not queue behind it.
    """

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        """Deliver ``batch`` (JSON objects as bytes), finishing by ``deadline``."""
        ...

    def close(self) -> None:
        """Release connections (idempotent; ``send`` running elsewhere stops retrying)."""
        ...


#: The optional hooks of the contract, by name.
OPTIONAL_HOOKS = ("prepare", "reset_after_fork", "reconnect")


def call_optional_hook(transport: object, name: str) -> None:
    """Call ``transport.<name>()`` when the transport has that hook; report a failure."""
    hook = getattr(transport, name, None)
    if not callable(hook):
        return
    try:
        hook()
    except Exception as exc:  # a user transport's hook must not stop the worker
        _diagnostics.report(f"transport-{name}", f"transport.{name}() failed: {exc!r}")


def encode_body(batch: Sequence[bytes]) -> bytes:
    """A JSON array from already-encoded entries."""
    return b"[" + b",".join(batch) + b"]"


class HttpTransport:
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
        self._network_failures = 0
        self._closed = threading.Event()
        # Built here, on the constructing thread, never on the worker (module docstring).
        self._tls = _tls_context(url)
        self._client: httpx.Client | None = self._new_client()
        quiet_loggers_on_sdk_threads()

    # -- lifecycle -------------------------------------------------------------------

    def _new_client(self) -> httpx.Client:
        """A client around the prebuilt TLS context: no OpenSSL set-up happens here."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        # TCP_NODELAY: h11 writes headers and body separately; with Nagle's algorithm
        # the body's last segment would wait for a delayed ACK (~40 ms per request).
        transport = httpx.HTTPTransport(
            verify=self._tls, limits=limits, socket_options=_SOCKET_OPTIONS, trust_env=False
        )
        # trust_env=False: a self-hosted endpoint is reached directly, never through a
        # proxy picked up from the environment.
        return httpx.Client(timeout=self.timeout, transport=transport, trust_env=False)

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def prepare(self) -> None:
        """Quiet the HTTP stack's loggers on SDK threads (see above); cheap and idempotent."""
        quiet_loggers_on_sdk_threads()

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

    def reconnect(self) -> None:
        """Leave the current client to a hung send; the next send builds a new one."""
        client, self._client = self._client, None
        if client is not None:
            # Closed on a helper thread: closing may wait for the hung request's locks.
            threading.Thread(target=_close_quietly, args=(client,), daemon=True).start()

    def reset_after_fork(self) -> None:
        """Drop the parent's client without closing it: its socket belongs to the parent.

        The child's first send builds a new client around the inherited TLS context.
        """
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
        outcome, status, answer = self._post_with_retries(encode_body(entries), deadline, result)
        if outcome == _OK or (outcome == _REFUSED and answer is not None):
            refused = _count_refused(answer, len(entries), result) if answer else 0
            result.delivered += len(entries) - refused
        elif outcome == _TOO_LARGE and len(entries) > 1:
            middle = len(entries) // 2
            self._send_part(entries[:middle], deadline, result)
            self._send_part(entries[middle:], deadline, result)
        elif outcome in (_REJECTED, _TOO_LARGE):
            result.rejected.extend(entries)
            result.rejected_status = status
        else:
            result.undelivered.extend(entries)
            if outcome == _THROTTLED and answer is not None:
                pause = answer.get("retry_after")
                pause = float(pause) if isinstance(pause, (int, float)) else 0.0
                result.throttled = max(result.throttled or 0.0, pause)

    def _post_with_retries(
        self, body: bytes, deadline: float | None, result: SendResult
    ) -> tuple[int, int | None, dict[str, object] | None]:
        """Send until an outcome is final or the deadline/retries run out.

        Returns (outcome, status, answer): the parsed per-entry answer for _OK/_REFUSED,
        ``{"retry_after": s}`` for _THROTTLED, else None.
        """
        if self.compress:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        for attempt in range(self.max_retries + 1):
            if self._closed.is_set():
                return _DEADLINE, None, None
            if attempt:
                result.retries += 1
            left = _remaining(deadline)
            if left is not None and left <= 0:
                return _DEADLINE, None, None
            outcome, status, answer = self._post_once(body, left)
            if outcome != _RETRYABLE:
                return outcome, status, answer
            if attempt == self.max_retries:
                break
            delay = full_jitter(attempt, base=self.retry_backoff, cap=self.max_backoff)
            left = _remaining(deadline)
            if left is not None and delay >= left:
                return _DEADLINE, status, None
            if self._closed.wait(delay):
                break  # closed meanwhile: stop retrying, the caller dead-letters the batch
        return _RETRYABLE, None, None

    def _post_once(
        self, body: bytes, left: float | None
    ) -> tuple[int, int | None, dict[str, object] | None]:
        """One request: (outcome, status, answer)."""
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

    def _classify(
        self, response: httpx.Response
    ) -> tuple[int, int | None, dict[str, object] | None]:
        status = response.status_code
        if 200 <= status < 300:
            return _OK, status, _per_entry_answer(_read_at_most(response, MAX_OK_BODY))
        if status == 422:
            answer = _per_entry_answer(_read_at_most(response, MAX_OK_BODY))
            if answer is not None:
                return _REFUSED, status, answer
            detail = ""
        else:
            detail = _read_at_most(response, MAX_ERROR_BODY).decode("utf-8", "replace")
        if status == 413:
            return _TOO_LARGE, status, None
        if status in THROTTLE_STATUSES:
            _diagnostics.report(
                f"http-throttle-{status}",
                f"ingest answered {status}; pausing delivery (entries go to the dead-letter "
                f"queue meanwhile): {detail[:200]}",
            )
            return _THROTTLED, status, {"retry_after": self._retry_after(response) or 0.0}
        if status == 408 or status >= 500:
            _diagnostics.report(
                f"http-retry-{status}", f"ingest answered {status}; retrying: {detail[:200]}"
            )
            return _RETRYABLE, status, None
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
        return float(min(max(seconds, 0.0), self.max_retry_after))


def _close_quietly(client: httpx.Client) -> None:
    _diagnostics.mark_thread_internal()
    # A hung connection may fail to close; it is abandoned either way.
    with contextlib.suppress(Exception):
        client.close()


def _tls_context(url: str) -> ssl.SSLContext:
    """The one TLS context of a transport (httpx's default for https; unused for http)."""
    if url.startswith("https:"):
        return httpx.create_ssl_context()  # certifi's roots, or SSL_CERT_FILE/SSL_CERT_DIR
    # httpx wants a context even for plain http; a bare one costs no file reads.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _per_entry_answer(body: bytes) -> dict[str, object] | None:
    """The ``{"accepted": N, "rejected": [...]}`` answer, or None when the body is not one."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("rejected"), list):
        return answer
    return None


def _count_refused(answer: dict[str, object], sent: int, result: SendResult) -> int:
    """Count the entries the server listed as rejected (of ``sent``); return how many."""
    rejected = answer.get("rejected")
    accepted = answer.get("accepted")
    listed = rejected if isinstance(rejected, list) else []
    if isinstance(accepted, int) and not isinstance(accepted, bool) and 0 <= accepted <= sent:
        refused = sent - accepted  # trusted over the list, which a large body may cut
    else:
        refused = min(len(listed), sent)
    if refused > 0:
        result.refused += refused
        if not result.refused_detail and listed:
            first = listed[0]
            error = first.get("error") if isinstance(first, dict) else first
            result.refused_detail = str(error)[:200]
    return refused


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


def _after_fork_in_child() -> None:
    global _quiet_lock
    # The parent's worker may have held it at fork time (prepare() on a new thread).
    _quiet_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
