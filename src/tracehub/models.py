"""The SDK's data shapes: levels, the buffered record, delivery results and counters.

A logging call stores a :data:`Record` — a plain tuple, because building one is the
cheapest thing the caller's thread can do. The worker turns records into wire entries
(JSON bytes, see :mod:`tracehub.serializer`), and a batch travels as a list of those
bytes so the transport, the 413 splitter and the dead-letter queue never re-encode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LEVELS", "ErrorInfo", "Record", "SendResult", "Stats", "normalize_level"]

DEBUG = "DEBUG"
INFO = "INFO"
WARN = "WARN"
ERROR = "ERROR"
FATAL = "FATAL"
#: The wire levels, lowest first.
LEVELS = (DEBUG, INFO, WARN, ERROR, FATAL)

_ALIASES = {
    **{name: name for name in LEVELS},
    "WARNING": WARN,
    "CRITICAL": FATAL,
    "EXCEPTION": ERROR,
    "TRACE": DEBUG,
    "NOTSET": DEBUG,
}
_NUMERIC = ((50, FATAL), (40, ERROR), (30, WARN), (20, INFO))

#: ``(error_type, error_message, stack_trace, exception, fingerprint)``; each part None when
#: not captured. ``exception`` is the structured chain's wire ``values``
#: (:mod:`tracehub.stacktrace`), ``fingerprint`` the caller's custom grouping, unchecked.
ErrorInfo = tuple["str | None", "str | None", "str | None", "list[dict[str, Any]] | None", Any]

#: What the caller's thread buffers:
#: ``(level, message, unix_time, module, extra, trace_id, thread_id, error_info)``.
Record = tuple[str, str, float, Any, "dict[str, Any] | None", "str | None", int, "ErrorInfo | None"]


def normalize_level(level: object) -> str:
    """Map a level name or stdlib number to a wire level (unknown names become INFO)."""
    if isinstance(level, str):
        return _ALIASES.get(level.strip().upper(), INFO)
    if isinstance(level, int) and not isinstance(level, bool):
        for threshold, name in _NUMERIC:
            if level >= threshold:
                return name
        return DEBUG
    return INFO


@dataclass(frozen=True)
class Stats:
    """Delivery counters of one logger in the current process (reset in a forked child).

    * ``enqueued`` — entries accepted by logging calls.
    * ``sent`` — entries the server acknowledged (2xx), live traffic only.
    * ``dropped`` — entries discarded because the buffer was full (oldest first).
    * ``retried`` — HTTP requests repeated after a retryable failure.
    * ``dead_lettered`` — entries written to the dead-letter queue.
    * ``replayed`` — entries from dead-letter files that the server acknowledged.
    * ``lost`` — entries neither delivered nor dead-lettered (no DLQ configured or
      writable, a dead-letter entry the server refused, or DLQ files dropped to stay
      under its size bound).
    * ``buffered`` — entries waiting in the buffer right now.
    """

    enqueued: int = 0
    sent: int = 0
    dropped: int = 0
    retried: int = 0
    dead_lettered: int = 0
    replayed: int = 0
    lost: int = 0
    buffered: int = 0


@dataclass
class SendResult:
    """What a transport did with one batch.

    ``undelivered`` entries failed for reasons that may pass (network, 5xx, 429, the
    deadline); ``rejected`` entries were refused for good (a 4xx other than 408/413/429,
    or 413 for a single entry), with ``rejected_status`` saying which.
    """

    delivered: int = 0
    retries: int = 0
    undelivered: list[bytes] = field(default_factory=list)
    rejected: list[bytes] = field(default_factory=list)
    rejected_status: int | None = None

    @property
    def ok(self) -> bool:
        """True when every entry was delivered."""
        return not self.undelivered and not self.rejected
