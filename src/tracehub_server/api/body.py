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


#: Seconds a client is asked to wait when the process is reading too many bodies.
BUSY_RETRY_AFTER = 2


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


class Admission:
    """One body's slot in a :class:`BodyGate`; :meth:`release` it when the request is done."""

    __slots__ = ("_gate", "held")

    def __init__(self, gate: BodyGate) -> None:
        self._gate = gate
        self.held = 0

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
    gzip: bool,
    max_bytes: int = MAX_BODY_BYTES,
    max_decompressed: int = MAX_DECOMPRESSED_BYTES,
    limits: BodyLimits | None = None,
    admission: Admission | None = None,
) -> bytes:
    """The (decompressed) body, or :class:`BodyError` with the status to answer.

    With ``limits``, a body not received in time is a 408; with ``admission``, the bytes
    held are charged to its gate.
    """
    if limits is None:
        return await _read(chunks, gzip, max_bytes, max_decompressed, None, None)
    started = asyncio.get_running_loop().time()
    try:
        return await _read(chunks, gzip, max_bytes, max_decompressed, admission, (limits, started))
    except TimeoutError:
        waited = asyncio.get_running_loop().time() - started
        raise BodyError(
            408,
            f"the body was not received in time ({waited:.0f} s; at least "
            f"{limits.min_rate:.0f} bytes/s after {limits.grace:.0f} s, all within "
            f"{limits.deadline:.0f} s)",
            close=True,
        ) from None


def _due(limits: BodyLimits, started: float, received: int) -> float:
    """When the next bytes must have arrived: the rate's due time, capped by the deadline."""
    rate_due = started + limits.grace + received / limits.min_rate if limits.min_rate else math.inf
    return min(started + limits.deadline, rate_due)


async def _read(
    chunks: AsyncIterator[bytes],
    gzip: bool,
    max_bytes: int,
    max_decompressed: int,
    admission: Admission | None,
    timing: tuple[BodyLimits, float] | None,
) -> bytes:
    inflater = zlib.decompressobj(_GZIP_WBITS) if gzip else None
    parts: list[bytes] = []
    received = 0
    produced = 0
    async with _timeout(timing) as timer:
        async for chunk in chunks:
            if not chunk:
                continue
            received += len(chunk)
            if received > max_bytes:
                raise BodyError(413, f"body exceeds the limit of {max_bytes} bytes", close=True)
            if timer is not None and timing is not None:
                timer.reschedule(_due(timing[0], timing[1], received))
            if inflater is None:
                if admission is not None:
                    admission.charge(len(chunk))
                parts.append(chunk)
                continue
            if inflater.eof:
                raise BodyError(400, "unexpected data after the end of the gzip stream")
            budget = max_decompressed - produced
            try:
                out = inflater.decompress(chunk, budget + 1)
            except zlib.error as exc:
                raise BodyError(400, f"body is not valid gzip: {exc}") from None
            produced += len(out)
            if produced > max_decompressed:
                raise BodyError(
                    413, f"decompressed body exceeds the limit of {max_decompressed} bytes"
                )
            if admission is not None:
                admission.charge(len(out))
            parts.append(out)
    if inflater is not None:
        if received == 0:
            raise BodyError(400, "body is empty; send a JSON array of log entries")
        if not inflater.eof:
            raise BodyError(400, "body is not valid gzip: the stream is truncated")
        if inflater.unused_data:
            raise BodyError(400, "unexpected data after the end of the gzip stream")
    return b"".join(parts)


class _NoTimeout:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


def _timeout(timing: tuple[BodyLimits, float] | None) -> Any:
    """``asyncio.timeout_at`` the first due time, in loop time.

    Python 3.10 (past its end of life) has no ``asyncio.timeout``: there, time limits are
    not enforced and only the gate's count and byte budget bound stalled bodies.
    """
    if timing is None or not hasattr(asyncio, "timeout_at"):
        return _NoTimeout()
    limits, started = timing
    return asyncio.timeout_at(_due(limits, started, 0))
