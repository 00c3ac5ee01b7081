"""Epoch times (OTLP nanoseconds, Sentry float seconds) as the wire entry's ISO 8601 text.

The text is the shape ``isoformat()`` gives a UTC time with microseconds, one the native
canonical path (:func:`~tracehub_server.api.validation.is_canonical_utc`) takes as it is.
The records of one request mostly share their second, so its text is cached.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache


class TimeRangeError(ValueError):
    """The time cannot be written as a date (beyond year 9999, or NaN)."""


@lru_cache(maxsize=256)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat()[:19]


def iso_from_nanos(nanos: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` of nanoseconds since the epoch."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    try:
        return f"{_second(seconds)}.{rest // 1000:06d}+00:00"
    except (OverflowError, OSError, ValueError):
        raise TimeRangeError(f"{nanos} ns is not a representable time") from None


def iso_from_seconds(seconds: float) -> str:
    """The same for (fractional) seconds since the epoch."""
    try:
        return iso_from_nanos(round(seconds * 1_000_000) * 1000)
    except (OverflowError, ValueError):  # inf, nan
        raise TimeRangeError(f"{seconds} s is not a representable time") from None
