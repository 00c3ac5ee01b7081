"""The SDK's data shapes: the buffered record, delivery results and counters.

A logging call stores a :data:`Record` — a plain tuple, because building one is the
cheapest thing the caller's thread can do. The worker turns records into wire entries
(JSON bytes, see :mod:`tracehub.serializer`), and a batch travels as a list of those
bytes so the transport, the 413 splitter and the dead-letter queue never re-encode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "LOST_REASONS",
    "ErrorInfo",
    "Record",
    "SendResult",
    "Stats",
]

#: ``(error_type, error_message, stack_trace, exception, fingerprint)``; each part None when
#: not captured. ``exception`` is the structured chain's wire ``values``
#: (:mod:`tracehub.stacktrace`), ``fingerprint`` the caller's custom grouping, unchecked.
ErrorInfo = tuple["str | None", "str | None", "str | None", "list[dict[str, Any]] | None", Any]

#: What the caller's thread buffers:
#: ``(level, message, unix_time, module, extra, trace_id, thread_id, error_info)``.
Record = tuple[str, str, float, Any, "dict[str, Any] | None", "str | None", str, "ErrorInfo | None"]


#: Why an entry was lost (neither delivered nor kept on disk), as counted in
#: :attr:`Stats.lost_by_reason`:
#:
#: * ``buffer_full`` — the in-memory buffer was full and nothing could move its oldest
#:   entries to disk (no ``dlq_path``, or the disk refused the write);
#: * ``no_dlq`` — a batch could not be delivered and no dead-letter queue is configured;
#: * ``dlq_write_failed`` — a batch could not be delivered and writing it to the
#:   dead-letter directory failed (disk full, permissions);
#: * ``dlq_full`` — dead-letter files deleted, oldest first, to stay under ``dlq_max_bytes``;
#: * ``dlq_corrupt`` — unreadable dead-letter lines skipped on replay;
#: * ``rejected`` — entries the server refused for good (listed in a 2xx/422 answer's
#:   ``rejected``, or a replayed batch refused with a 4xx other than 401/403).
LOST_REASONS = ("buffer_full", "no_dlq", "dlq_write_failed", "dlq_full", "dlq_corrupt", "rejected")

_NO_LOSSES: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class Stats:
    """Delivery counters of one logger in the current process (reset in a forked child).

    * ``enqueued`` — entries accepted by logging calls.
    * ``sent`` — entries the server acknowledged (2xx), live traffic only.
    * ``dropped`` — entries discarded because the buffer was full (oldest first); the
      same number as ``lost_by_reason["buffer_full"]``.
    * ``retried`` — HTTP requests repeated after a retryable failure.
    * ``dead_lettered`` — entries written to the dead-letter queue (undelivered batches,
      and buffered entries moved to disk under pressure).
    * ``replayed`` — entries from dead-letter files that the server acknowledged.
    * ``lost`` — every entry neither delivered nor kept on disk: the sum of
      ``lost_by_reason`` (see :data:`LOST_REASONS`).
    * ``buffered`` — entries waiting in the buffer right now.
    * ``rejected`` — entries the server refused (per entry in a 2xx/422 answer, or a
      whole batch with a 4xx); those not kept on disk are also in ``lost``.
    * ``lost_by_reason`` — ``lost`` split by reason; reasons with no loss are absent.
    """

    enqueued: int = 0
    sent: int = 0
    dropped: int = 0
    retried: int = 0
    dead_lettered: int = 0
    replayed: int = 0
    lost: int = 0
    buffered: int = 0
    rejected: int = 0
    lost_by_reason: Mapping[str, int] = field(default_factory=lambda: _NO_LOSSES)


@dataclass
class SendResult:
    """What a transport did with one batch.

    ``undelivered`` entries failed for reasons that may pass (network, 5xx, 429, the
    deadline); ``rejected`` entries were refused as a whole batch for good (a 4xx other
    than 408/413/429, or 413 for a single entry), with ``rejected_status`` saying which.
    ``refused`` counts entries the server refused one by one in an answer that listed
    them (``{"accepted": N, "rejected": [...]}`` with 2xx or 422): they are not kept,
    a resend would be refused again; ``refused_detail`` quotes the server's first reason.
    ``throttled`` is the pause (seconds) a 429/503 asked for: no request should be
    sent before it ends (None when the server did not throttle).
    """

    delivered: int = 0
    retries: int = 0
    undelivered: list[bytes] = field(default_factory=list)
    rejected: list[bytes] = field(default_factory=list)
    rejected_status: int | None = None
    refused: int = 0
    refused_detail: str = ""
    throttled: float | None = None

    @property
    def ok(self) -> bool:
        """True when every entry was delivered."""
        return not self.undelivered and not self.rejected and not self.refused
