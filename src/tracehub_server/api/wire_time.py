"""Epoch times (OTLP nanoseconds, Sentry float seconds) as the wire entry's ISO 8601 text.

The text is the shape ``isoformat()`` gives a UTC time with microseconds, one the native
canonical path (:func:`~tracehub_server.api.validation.is_canonical_utc`) takes as it is.
The records of one request mostly share their second, so its text is cached: a dict
lookup and one format per time, the least a mapped record can pay for its timestamp.
"""

from __future__ import annotations

from datetime import datetime, timezone


class TimeRangeError(ValueError):
    """The time cannot be written as a date (beyond year 9999, or NaN)."""


#: Seconds since the epoch -> ``YYYY-MM-DDTHH:MM:SS``; emptied when full (bounded memory).
_SECONDS: dict[int, str] = {}
_CACHED_SECONDS = 256


def _second(seconds: int) -> str:
    try:
        text = datetime.fromtimestamp(seconds, timezone.utc).isoformat()[:19]
    except (OverflowError, OSError, ValueError):
        raise TimeRangeError(f"{seconds} s is not a representable time") from None
    if len(_SECONDS) >= _CACHED_SECONDS:
        _SECONDS.clear()
    _SECONDS[seconds] = text
    return text


def iso_from_nanos(nanos: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` of nanoseconds since the epoch."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    try:
        second = _SECONDS.get(seconds) or _second(seconds)
    except TimeRangeError:
        raise TimeRangeError(f"{nanos} ns is not a representable time") from None
    return f"{second}.{rest // 1000:06d}+00:00"


def iso_from_seconds(seconds: float) -> str:
    """The same for (fractional) seconds since the epoch."""
    try:
        return iso_from_nanos(round(seconds * 1_000_000) * 1000)
    except (OverflowError, ValueError):  # inf, nan
        raise TimeRangeError(f"{seconds} s is not a representable time") from None
