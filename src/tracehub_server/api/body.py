"""Reading an ingest body within the size, time and memory limits, inflating gzip incrementally.

Both size limits are enforced while the body arrives: the compressed size as bytes are
received (or at once from ``Content-Length``), the decompressed size by ``decompressobj``
with ``max_length``, so a gzip bomb inflates at most one byte past the limit before it is
refused.

A client that stalls or trickles cannot hold a body (and the memory it inflated to) for
long: :class:`BodyLimits` gives each body a total deadline and a minimum average rate after
a short grace period (408 when missed), and :class:`BodyGate` bounds, per process, how many
bodies are read at once and how many bytes they hold together (503 with ``Retry-After``
beyond either, before or while reading). Responses that give up on a body close the
connection, so the unread rest cannot be sent as another request.

Time limits cost the hot path almost nothing: rather than a timer per request, the gate runs
one sweep every :data:`SWEEP_SECONDS` while bodies are being read, and cancels the reading
of those past their due time (so a limit is enforced up to that much late).

The open protocols (Sentry SDKs) also send ``deflate`` and ``br``: :func:`content_coding`
names the coding and ``read_body(encoding=...)`` inflates it under the same caps (brotli's
output cap is approximate: it stops growing its buffer once past the limit, and a brotli
body is inflated in one piece per received chunk rather than in slices).
"""

from __future__ import annotations

import asyncio
import math
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracehub.limits import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES

if TYPE_CHECKING:
    from tracehub_server.settings import Settings

_GZIP_WBITS = 16 + zlib.MAX_WBITS
# zlib-wrapped ("deflate" as HTTP means it) or gzip, recognised from the header.
_ZLIB_OR_GZIP_WBITS = 32 + zlib.MAX_WBITS
_CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "br"}


class BodyError(Exception):
    """The body cannot be accepted; ``status`` is the HTTP status to answer with.

    ``retry_after`` (seconds) is set when the client should try again later (503), and
    ``close`` when the connection must be closed because the body was not read to its end.
    """

    def __init__(
        self, status: int, message: str, *, retry_after: float | None = None, close: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.close = close

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the parser child (api.offload) and re-raised here: it must pickle whole.
        return _body_error, (self.status, self.message, self.retry_after, self.close)


def _body_error(status: int, message: str, retry_after: float | None, close: bool) -> BodyError:
    return BodyError(status, message, retry_after=retry_after, close=close)


#: Seconds a client is asked to wait when the process is reading too many bodies.
BUSY_RETRY_AFTER = 2
#: Seconds between two checks of the bodies being read against their due time.
SWEEP_SECONDS = 0.5
#: Bytes inflated per step of the event loop (about a millisecond of zlib): a chunk that
#: inflates to megabytes is inflated in slices, other requests served in between.
INFLATE_SLICE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyLimits:
    """How long a body may take and how much a process reads at once (see the settings)."""

    #: Seconds from the first ``receive`` to the end of the body.
    deadline: float = 30.0
    #: Bytes per second the body must average once :attr:`grace` has passed.
    min_rate: float = 4096.0
    #: Seconds at the start of a body during which no rate is demanded.
    grace: float = 5.0
    #: Bodies being read (and parsed) at once in this process.
    max_concurrent: int = 64
    #: Bytes those bodies may hold together (received and inflated).
    max_memory: int = 256 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        return cls(
            deadline=settings.body_timeout_seconds,
            min_rate=settings.body_min_rate,
            max_concurrent=settings.max_concurrent_bodies,
            max_memory=settings.body_memory_mb * 1024 * 1024,
        )


class BodyGate:
    """Per-process admission of bodies: a count and a byte budget, never waiting.

    :meth:`admit` refuses at once (503) instead of queueing: a queue of stalled clients is
    exactly what the gate exists to prevent.
    """

    def __init__(self, limits: BodyLimits | None = None) -> None:
        self.limits = limits or BodyLimits()
        self.active = 0
        self.held = 0
        self._timed: set[Admission] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyGate:
        return cls(BodyLimits.from_settings(settings))

    def admit(self) -> Admission:
        """A slot for one body, or :class:`BodyError` (503) when every slot is taken."""
        if self.active >= self.limits.max_concurrent:
            raise BodyError(
                503,
                f"this server is reading {self.active} bodies already; retry later",
                retry_after=BUSY_RETRY_AFTER,
                close=True,
            )
        self.active += 1
        return Admission(self)

    def _watch(self, admission: Admission) -> None:
        loop = asyncio.get_running_loop()
        admission.task = asyncio.current_task()
        admission.started = loop.time()
        self._timed.add(admission)
        if self._sweep is None or self._sweep_loop is not loop:
            self._sweep_loop = loop
            self._sweep = loop.call_later(SWEEP_SECONDS, self._sweep_once)

    def _sweep_once(self) -> None:
        loop, limits = self._sweep_loop, self.limits
        if loop is None:  # scheduled only with a loop; nothing to sweep without one
            return
        now = loop.time()
        for admission in list(self._timed):
            if now >= due_time(limits, admission.started, admission.received):
                self._timed.discard(admission)
                admission.expired = True
                if admission.task is not None:
                    admission.task.cancel()
        self._sweep = loop.call_later(SWEEP_SECONDS, self._sweep_once) if self._timed else None


class Admission:
    """One body's slot in a :class:`BodyGate`; :meth:`release` it when the request is done."""

    __slots__ = ("_gate", "expired", "held", "received", "started", "task")

    def __init__(self, gate: BodyGate) -> None:
        self._gate = gate
        self.held = 0
        #: Bytes received as sent (compressed), for the rate.
        self.received = 0
        self.started = 0.0
        self.expired = False
        self.task: asyncio.Task[Any] | None = None

    def charge(self, size: int) -> None:
        """Count ``size`` more bytes held by this body; 503 when the process budget is spent."""
        gate = self._gate
        if gate.held + size > gate.limits.max_memory:
            raise BodyError(
                503,
                "this server holds too many request bodies in memory; retry later",
                retry_after=BUSY_RETRY_AFTER,
                close=True,
            )
        gate.held += size
        self.held += size

    def release(self) -> None:
        """Give back the slot and the bytes (idempotent)."""
        gate, self._gate = self._gate, None  # type: ignore[assignment]
        if gate is not None:
            gate.active -= 1
            gate.held -= self.held
            gate._timed.discard(self)
            self.held = 0


def encoding_is_gzip(content_encoding: str | None) -> bool:
    """True for gzip, False for none/identity; raises :class:`BodyError` (415) otherwise."""
    if not content_encoding:
        return False
    value = content_encoding.strip().lower()
    if value in ("gzip", "x-gzip"):
        return True
    if value == "identity":
        return False
    raise BodyError(
        415, f"unsupported Content-Encoding {content_encoding[:40]!r}; send gzip or none"
    )


def content_coding(content_encoding: str | None, accepted: frozenset[str]) -> str | None:
    """``gzip``, ``deflate`` or ``br`` when accepted, None for none/identity; else 415."""
    if not content_encoding:
        return None
    value = content_encoding.strip().lower()
    if value == "identity":
        return None
    coding = _CODINGS.get(value)
    if coding is None or coding not in accepted:
        names = ", ".join(sorted(accepted))
        raise BodyError(
            415, f"unsupported Content-Encoding {content_encoding[:40]!r}; send {names} or none"
        )
    return coding


class _Brotli:
    """A brotli decompressor with ``decompressobj``'s interface, as far as read_body uses it."""

    def __init__(self) -> None:
        import brotli  # the server extra installs it; imported only for a brotli body

        self._inflater = brotli.Decompressor()
        self._error = brotli.error
        self.unused_data = b""

    @property
    def eof(self) -> bool:
        return bool(self._inflater.is_finished())

    def decompress(self, data: bytes, max_length: int) -> bytes:
        try:
            return bytes(self._inflater.process(data, output_buffer_limit=max_length))
        except self._error as exc:
            raise zlib.error(str(exc) or "invalid brotli data") from None


def _inflater(coding: str | None) -> Any:
    if coding == "gzip":
        return zlib.decompressobj(_GZIP_WBITS)
    if coding == "deflate":
        return zlib.decompressobj(_ZLIB_OR_GZIP_WBITS)
    if coding == "br":
        return _Brotli()
    return None


def check_content_length(header: str | None, *, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Refuse a declared oversized body before reading it."""
    if header is None:
        return
    try:
        declared = int(header)
    except ValueError:
        raise BodyError(400, "Content-Length is not a number") from None
    if declared > max_bytes:
        raise BodyError(413, f"body is {declared} bytes; the limit is {max_bytes} bytes")


async def read_body(
    chunks: AsyncIterator[bytes],
    *,
    gzip: bool = False,
    encoding: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
    max_decompressed: int = MAX_DECOMPRESSED_BYTES,
    admission: Admission | None = None,
) -> bytes:
    """The (decompressed) body, or :class:`BodyError` with the status to answer.

    ``encoding`` is a coding named by :func:`content_coding`; ``gzip=True`` means "gzip".
    With an ``admission``, the bytes held are charged to its gate and the body must arrive
    within the gate's time limits (else 408).
    """
    coding = "gzip" if gzip else encoding
    if admission is None:
        return await _read(chunks, coding, max_bytes, max_decompressed, None)
    gate = admission._gate
    gate._watch(admission)
    try:
        return await _read(chunks, coding, max_bytes, max_decompressed, admission)
    except asyncio.CancelledError:
        if not admission.expired:
            raise
        if admission.task is not None and hasattr(admission.task, "uncancel"):
            admission.task.uncancel()  # the sweep's cancel is answered here, not propagated
        limits = gate.limits
        raise BodyError(
            408,
            f"the body was not received in time (at least {limits.min_rate:.0f} bytes/s after "
            f"{limits.grace:.0f} s, all within {limits.deadline:.0f} s)",
            close=True,
        ) from None
    finally:
        gate._timed.discard(admission)


def due_time(limits: BodyLimits, started: float, received: int) -> float:
    """When a body that started at ``started`` and has ``received`` bytes is overdue."""
    rate_due = started + limits.grace + received / limits.min_rate if limits.min_rate else math.inf
    return min(started + limits.deadline, rate_due)


async def _read(
    chunks: AsyncIterator[bytes],
    coding: str | None,
    max_bytes: int,
    max_decompressed: int,
    admission: Admission | None,
) -> bytes:
    inflater = _inflater(coding)
    # brotli keeps unconsumed input inside its decompressor: it is not sliced (see above).
    slice_bytes = INFLATE_SLICE_BYTES if coding != "br" else max_decompressed + 1
    parts: list[bytes] = []
    received = 0
    produced = 0
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > max_bytes:
            raise BodyError(413, f"body exceeds the limit of {max_bytes} bytes", close=True)
        if inflater is None:
            if admission is not None:
                admission.received = received
                admission.charge(len(chunk))
            parts.append(chunk)
            continue
        if inflater.eof:
            raise BodyError(400, f"unexpected data after the end of the {coding} stream")
        if admission is not None:
            admission.received = received
        pending = chunk
        while pending:
            budget = max_decompressed - produced
            try:
                out = inflater.decompress(pending, min(budget + 1, slice_bytes))
            except zlib.error as exc:
                raise BodyError(400, f"body is not valid {coding}: {exc}") from None
            produced += len(out)
            if produced > max_decompressed:
                raise BodyError(
                    413, f"decompressed body exceeds the limit of {max_decompressed} bytes"
                )
            if admission is not None:
                admission.charge(len(out))
            parts.append(out)
            pending = getattr(inflater, "unconsumed_tail", b"")
            if pending:
                await asyncio.sleep(0)  # a slice at a time: other requests run in between
    if inflater is not None:
        if received == 0:
            raise BodyError(400, "body is empty; send a JSON array of log entries")
        if not inflater.eof:
            raise BodyError(400, f"body is not valid {coding}: the stream is truncated")
        if inflater.unused_data:
            raise BodyError(400, f"unexpected data after the end of the {coding} stream")
    return b"".join(parts)
