"""parse_log_filter: time parsing, clamping and defaults shared by the API and pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracehub_server.storage.log_filters import Cursor, FilterError
from tracehub_server.web_params import parse_log_filter

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)


def test_defaults_bound_the_range_to_the_last_day() -> None:
    """No parameters: since is 24 h ago, until open, limit 50."""
    flt = parse_log_filter({}, now=NOW)
    assert flt.since == NOW - timedelta(hours=24)
    assert flt.until is None
    assert flt.limit == 50


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("2h", NOW - timedelta(hours=2)),
        ("1w", NOW - timedelta(days=7)),
        ("2025-03-10T11:00:00Z", datetime(2025, 3, 10, 11, tzinfo=timezone.utc)),
        ("2025-03-10T13:00:00+02:00", datetime(2025, 3, 10, 11, tzinfo=timezone.utc)),
        ("2025-03-10 11:00", datetime(2025, 3, 10, 11, tzinfo=timezone.utc)),
    ],
)
def test_since_accepts_relative_and_iso(value: str, expected: datetime) -> None:
    """Relative ages and ISO times (naive = UTC) parse to aware datetimes."""
    assert parse_log_filter({"since": value}, now=NOW).since == expected


def test_since_is_clamped_to_retention() -> None:
    """A since older than retention is raised to the retention window."""
    flt = parse_log_filter({"since": "365d"}, now=NOW, retention_days=30)
    assert flt.since == NOW - timedelta(days=31)


def test_cursor_round_trips_and_foreign_cursors_fail() -> None:
    """An encoded cursor decodes to itself; a tampered one raises FilterError('cursor')."""
    import uuid

    cursor = Cursor(timestamp=NOW, event_id=uuid.uuid4())
    assert parse_log_filter({"cursor": cursor.encode()}, now=NOW).cursor == cursor
    with pytest.raises(FilterError) as info:
        parse_log_filter({"cursor": cursor.encode()[:-3] + "!!!"}, now=NOW)
    assert info.value.param == "cursor"


def test_extra_values_try_json_then_string() -> None:
    """extra.n=5 matches the number 5 or the string "5"; nested keys build nested documents."""
    flt = parse_log_filter({"extra.n": "5", "extra.a.b": "x"}, now=NOW)
    assert flt.extra[0].candidates == ({"n": 5}, {"n": "5"})
    assert flt.extra[1].candidates == ({"a": {"b": "x"}},)


def test_unknown_parameters_are_ignored() -> None:
    """Pages may add their own parameters (tail=1)."""
    assert parse_log_filter({"tail": "1"}, now=NOW).limit == 50


@pytest.mark.parametrize("value", ["²", "\u0661\u0660", "0", "1001", "5x"])
def test_limit_takes_ascii_digits_within_bounds_only(value: str) -> None:
    """A limit of Unicode digits or out of range is a FilterError naming limit, never a crash."""
    with pytest.raises(FilterError) as caught:
        parse_log_filter({"limit": value}, now=NOW)
    assert caught.value.param == "limit"
