"""Per-entry validation: required fields, aliases, nulls, timestamps, truncation, NULs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from ingest_helpers import sdk_entry

from tracehub.entry import ENTRY_KEYS
from tracehub.limits import MAX_EXTRA_BYTES, MAX_STACK_TRACE_CHARS
from tracehub_server.api.event_ids import random_event_id
from tracehub_server.api.ingest import validate_body
from tracehub_server.api.validation import EntryValidator

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _one(item: Any) -> dict[str, Any]:
    accepted, rejected = EntryValidator(retention_days=30).validate([item], NOW)
    assert rejected == [], rejected
    return accepted[0]


def _error(item: Any) -> str:
    accepted, rejected = EntryValidator(retention_days=30).validate([item], NOW)
    assert accepted == []
    return rejected[0]["error"]


def test_minimal_entry_gets_every_key() -> None:
    """Only level and message are required; the result has exactly the contract's keys."""
    got = _one({"level": "info", "message": "hi"})
    assert tuple(got) == ENTRY_KEYS
    assert got["level"] == "INFO"
    assert got["service"] == "unknown"
    assert got["timestamp"] == got["received_at"] == NOW.isoformat()
    assert len(got["event_id"]) == 32


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("debug", "DEBUG"),
        ("Info", "INFO"),
        ("WARN", "WARN"),
        ("warning", "WARN"),
        ("error", "ERROR"),
        ("FATAL", "FATAL"),
        ("critical", "FATAL"),
        ("Trace", "DEBUG"),
        ("exception", "ERROR"),
        ("NOTSET", "DEBUG"),
    ],
)
def test_levels_are_case_insensitive_with_aliases(sent: str, stored: str) -> None:
    """The five levels in any case, and the entry's aliases (WARNING->WARN, TRACE->DEBUG...)."""
    assert _one({"level": sent, "message": "m"})["level"] == stored


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ([], "must be a JSON object"),
        (None, "must be a JSON object"),
        ({"message": "m"}, "level is required"),
        ({"level": 3, "message": "m"}, "level is required"),
        ({"level": "VERBOSE", "message": "m"}, "level must be one of"),
        ({"level": "x" * 10_000, "message": "m"}, "level must be one of"),
        ({"level": "INFO"}, "message is required"),
        ({"level": "INFO", "message": 5}, "message must be a string"),
        ({"level": "INFO", "message": "m", "service": 1}, "service must be a string"),
        ({"level": "INFO", "message": "m", "pid": True}, "pid must be an integer"),
        ({"level": "INFO", "message": "m", "pid": -1}, "pid must be between"),
        ({"level": "INFO", "message": "m", "pid": 2**40}, "pid must be between"),
        ({"level": "INFO", "message": "m", "thread_id": 1.5}, "thread_id must be a string or"),
        ({"level": "INFO", "message": "m", "thread_id": {}}, "thread_id must be a string or"),
        ({"level": "INFO", "message": "m", "extra": "x"}, "extra must be an object"),
        ({"level": "INFO", "message": "m", "event_id": "g" * 32}, "event_id must be a UUID"),
        ({"level": "INFO", "message": "m", "event_id": 7}, "event_id must be a string"),
        ({"level": "INFO", "message": "m", "timestamp": "soon"}, "not an ISO 8601"),
        ({"level": "INFO", "message": "m", "timestamp": 1700000000}, "timestamp must be"),
        ({"level": "INFO", "message": "m", "timestamp": "2026-13-40T00:00:00Z"}, "ISO 8601"),
        ({"level": "INFO", "message": "m", "timestamp": "2" * 100}, "ISO 8601"),
    ],
)
def test_invalid_entries_are_rejected_with_a_reason(item: Any, error: str) -> None:
    """Each invalid entry is refused with a message naming the field."""
    assert error in _error(item)


def test_rejections_carry_their_index() -> None:
    """Rejected entries are reported by position; valid neighbours are kept."""
    items = [{"level": "INFO", "message": "a"}, {"level": "?"}, {"level": "INFO", "message": "b"}]
    accepted, rejected = EntryValidator(retention_days=30).validate(items, NOW)
    assert [e["message"] for e in accepted] == ["a", "b"]
    assert [r["index"] for r in rejected] == [1]


def test_nulls_mean_absent() -> None:
    """null optionals are None; null service/environment take the defaults."""
    fields = ("module", "trace_id", "error_type", "stack_trace", "extra", "host", "pid")
    got = _one({"level": "INFO", "message": "m", "service": None, **dict.fromkeys(fields)})
    assert got["service"] == "unknown"
    assert all(got[name] is None for name in fields)


def test_event_ids_are_normalised() -> None:
    """Dashed and upper-case UUIDs become 32 lower-case hex digits."""
    got = _one(
        {"level": "INFO", "message": "m", "event_id": "ABCDEF01-2345-6789-ABCD-EF0123456789"}
    )
    assert got["event_id"] == "abcdef0123456789abcdef0123456789"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2026-06-01T11:59:00.123+00:00", "2026-06-01T11:59:00.123+00:00"),
        ("2026-06-01T11:59:00.123456+00:00", "2026-06-01T11:59:00.123456+00:00"),
        ("2026-06-01T11:59:00.1+00:00", "2026-06-01T11:59:00.100000+00:00"),
        ("2026-06-01 11:59:00.123+00:00", "2026-06-01T11:59:00.123000+00:00"),
        ("2026-06-01T11:59:00Z", "2026-06-01T11:59:00+00:00"),
        ("2026-06-01T13:59:00+02:00", "2026-06-01T13:59:00+02:00"),
        ("2026-06-01T11:59:00", "2026-06-01T11:59:00+00:00"),
        ("2026-05-03T00:00:00+00:00", "2026-05-03T00:00:00+00:00"),
    ],
)
def test_timestamps_in_range_are_kept(sent: str, kept: str) -> None:
    """In-range timestamps are kept: canonical UTC ones as sent, others re-formatted as UTC."""
    got = _one({"level": "INFO", "message": "m", "timestamp": sent})
    assert got["timestamp"] == kept
    assert got["original_timestamp"] is None


@pytest.mark.parametrize(
    "sent",
    [
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00+00:00",
        (NOW - timedelta(days=31)).isoformat(),
        (NOW + timedelta(days=1, minutes=1)).isoformat(),
        "9999-12-31T23:59:59+00:00",
    ],
)
def test_out_of_range_timestamps_become_receive_time(sent: str) -> None:
    """Too old or too far ahead: receive time, with the sent value kept."""
    got = _one({"level": "INFO", "message": "m", "timestamp": sent})
    assert got["timestamp"] == NOW.isoformat()
    assert got["original_timestamp"] == sent


def test_long_fields_are_truncated_with_a_marker() -> None:
    """Over-long text keeps its limit and says how much was dropped; traces keep the end."""
    trace = "start" + "x" * MAX_STACK_TRACE_CHARS + "RAISE_SITE"
    got = _one({"level": "ERROR", "message": "m" * 40_000, "stack_trace": trace})
    assert got["message"].endswith("chars]")
    assert got["stack_trace"].endswith("RAISE_SITE")
    assert len(got["stack_trace"]) <= MAX_STACK_TRACE_CHARS


def test_oversized_extra_is_summarised() -> None:
    """An extra over the byte limit becomes a small summary with a preview."""
    got = _one({"level": "INFO", "message": "m", "extra": {"k": "v" * MAX_EXTRA_BYTES}})
    assert got["extra"]["_truncated"] is True
    assert got["extra"]["_original_bytes"] > MAX_EXTRA_BYTES
    assert got["extra"]["_preview"].startswith('{"k":"vvv')


def test_nul_characters_are_replaced_everywhere() -> None:
    """NUL (unstorable in PostgreSQL text and jsonb) becomes U+FFFD in text, keys and values."""
    got = _one(
        {"level": "INFO", "message": "a\x00", "module": "\x00", "extra": {"\x00k": ["\x00"]}}
    )
    assert got["message"] == "a\ufffd"
    assert got["module"] == "\ufffd"
    assert got["extra"] == {"\ufffdk": ["\ufffd"]}


def _canonical(**fields: Any) -> dict[str, Any]:
    return sdk_entry(NOW, **{"timestamp": (NOW - timedelta(minutes=5)).isoformat(), **fields})


@pytest.mark.parametrize(
    "item",
    [
        _canonical(),
        _canonical(service="", environment=None, host=None, extra=None, timestamp=None),
        _canonical(timestamp="1999-01-01T00:00:00+00:00"),
        _canonical(timestamp="2026-06-01T11:00:00Z"),
        _canonical(timestamp="2026-06-01T11:00:00"),
        _canonical(level="warning", event_id="0123456789ABCDEF0123456789ABCDEF"),
        _canonical(event_id="01234567-89ab-cdef-0123-456789abcdef", pid=0, thread_id=2**64 - 1),
        _canonical(message="a\x00b", host="h\x00", extra={"k\x00": "\x00"}),
        _canonical(message="m" * 40_000, stack_trace="s" * 70_000, trace_id="t" * 500),
        _canonical(extra={"blob": "x" * (MAX_EXTRA_BYTES + 1)}),
        _canonical(pid=-1),
        _canonical(pid=True),
        _canonical(host=5),
        _canonical(extra=[1]),
        _canonical(timestamp="not a time", host=5),
        _canonical(level="LOUD", pid="x"),
    ],
)
def test_fast_path_agrees_with_the_general_path(item: dict[str, Any]) -> None:
    """Canonical or not, what the ingest step stores (fast path first) is the general path's."""
    validator = EntryValidator(retention_days=30)
    general: list[Any] = []
    try:
        general = [
            validator._entry(
                item,
                NOW.isoformat(),
                NOW - timedelta(days=30),
                NOW + timedelta(days=1),
                0,
                random_event_id,
            )
        ]
    except ValueError as exc:
        general = [str(exc)]
    accepted, rejected = validate_body(validator, orjson.dumps([item]), NOW)
    got = [e if type(e) is dict else dict(zip(ENTRY_KEYS, e, strict=True)) for e in accepted]
    got = got or [r["error"] for r in rejected]
    if general and isinstance(general[0], dict) and item.get("event_id") is None:
        got[0]["event_id"] = general[0]["event_id"]
    assert got == general


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2026-06-01T11:59:00.123456789Z", "2026-06-01T11:59:00.123456+00:00"),
        ("2026-06-01T11:59:00.000+0000", "2026-06-01T11:59:00+00:00"),
        ("2026-06-01T13:59:00.5+0200", "2026-06-01T13:59:00.500000+02:00"),
        ("2026-06-01T11:59:00,250+00:00", "2026-06-01T11:59:00.250000+00:00"),
    ],
)
def test_other_clients_timestamp_shapes_are_read(sent: str, kept: str) -> None:
    """Nanoseconds (Java), ``+0000`` offsets (C strftime) and decimal commas are dates too,
    on every supported Python (3.10's fromisoformat refuses them)."""
    assert _one({"level": "INFO", "message": "m", "timestamp": sent})["timestamp"] == kept
