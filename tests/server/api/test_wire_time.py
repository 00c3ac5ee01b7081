"""Epoch times written in the shape the native canonical path takes as it is."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tracehub_server.api.validation import is_canonical_utc
from tracehub_server.api.wire_time import TimeRangeError, iso_from_nanos, iso_from_seconds


def test_nanos_and_seconds_give_isoformat_text() -> None:
    """The text equals isoformat() of the same instant (microseconds) and is canonical."""
    instant = datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=timezone.utc)
    nanos = int(instant.timestamp()) * 1_000_000_000 + 456_789_123
    assert iso_from_nanos(nanos) == instant.isoformat()
    assert iso_from_seconds(instant.timestamp()) == instant.isoformat()
    assert is_canonical_utc(iso_from_nanos(nanos))
    assert iso_from_nanos(0) == "1970-01-01T00:00:00.000000+00:00"


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 1e13])
def test_unrepresentable_times_raise(seconds: float) -> None:
    """Times past year 9999, infinities and NaN are refused, never a crash."""
    with pytest.raises(TimeRangeError):
        iso_from_seconds(seconds)
    with pytest.raises(TimeRangeError):
        iso_from_nanos(10**21)
