"""parse_log_filter: time parsing, clamping and defaults shared by the API and pages."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tracehub_server.storage.log_filters import Cursor, FilterError
from tracehub_server.web_params import (
    ISSUE_CURSOR,
    LOG_CURSOR,
    parse_issue_filter,
    parse_log_filter,
    sign_cursor,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
KEY = b"k" * 32


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
    """A signed cursor decodes to itself; a tampered one raises FilterError('cursor')."""
    cursor = Cursor(timestamp=NOW, event_id=uuid.uuid4())
    signed = sign_cursor(KEY, LOG_CURSOR, cursor.encode())
    assert signed is not None
    assert parse_log_filter({"cursor": signed}, now=NOW, cursor_key=KEY).cursor == cursor
    with pytest.raises(FilterError) as info:
        parse_log_filter({"cursor": signed[:-3] + "!!!"}, now=NOW, cursor_key=KEY)
    assert info.value.param == "cursor"


def _forgeries(body: str, purpose: str) -> list[tuple[str, bytes | None]]:
    """(cursor, key) pairs that must all be refused: unsigned, other key/purpose, no key."""
    signed = sign_cursor(KEY, purpose, body)
    other = LOG_CURSOR if purpose == ISSUE_CURSOR else ISSUE_CURSOR
    assert signed is not None
    mac = signed.rpartition(".")[2]
    return [
        (body, KEY),
        (f"{body}.{mac[:-1]}A" if mac[-1] != "A" else f"{body}.{mac[:-1]}B", KEY),
        (sign_cursor(b"x" * 32, purpose, body) or "", KEY),
        (sign_cursor(KEY, other, body) or "", KEY),
        (signed, None),
        (f"{body}\ud800.{mac}", KEY),
    ]


def test_log_cursors_without_this_servers_mac_are_refused() -> None:
    """A well-formed logs cursor not signed by this key for logs is a FilterError('cursor')."""
    body = Cursor(timestamp=NOW, event_id=uuid.uuid4()).encode()
    for text, key in _forgeries(body, LOG_CURSOR):
        with pytest.raises(FilterError) as info:
            parse_log_filter({"cursor": text}, now=NOW, cursor_key=key)
        assert info.value.param == "cursor"


def test_issue_cursors_without_this_servers_mac_are_refused() -> None:
    """A well-formed issues cursor not signed by this key for issues is a FilterError."""
    body = base64.urlsafe_b64encode(f"last_seen|{NOW.isoformat()}|7".encode()).decode()
    good = sign_cursor(KEY, ISSUE_CURSOR, body)
    assert parse_issue_filter({"cursor": good or ""}, cursor_key=KEY).cursor == (NOW, 7)
    for text, key in _forgeries(body, ISSUE_CURSOR):
        with pytest.raises(FilterError) as info:
            parse_issue_filter({"cursor": text}, cursor_key=key)
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
