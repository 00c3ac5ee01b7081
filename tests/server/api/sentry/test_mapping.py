"""The Sentry log mapping: entries in canonical form (they take the C path), the same from
the SDKs' shape decoded in C as from any shape read as plain JSON, ids stable."""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec
import orjson
import pytest

from tracehub.entry import LEVELS, WIRE_FIELDS
from tracehub_server.api.canonical import canonical_rows
from tracehub_server.api.event_ids import RequestEventIds
from tracehub_server.api.sentry import mapping
from tracehub_server.api.sentry.mapping import log_entries
from tracehub_server.api.validation import EntryValidator


def test_log_thread_id_is_text_and_the_entry_is_canonical() -> None:
    """An integer ``thread.id`` attribute becomes the text the validator would store, and
    the entry passes the canonical C path unchanged."""
    log = {
        "timestamp": 1_700_000_000.25, "level": "warn", "body": "slow",
        "attributes": {"thread.id": {"value": 140000, "type": "integer"},
                       "logger.name": {"value": "orders", "type": "string"}},
    }  # fmt: skip
    [entry] = log_entries(orjson.dumps({"items": [log]}), 7)
    assert (entry["thread_id"], entry["module"], entry["level"]) == ("140000", "orders", "WARN")
    now = datetime(2023, 11, 14, 23, 0, tzinfo=timezone.utc)
    oldest, newest = EntryValidator(retention_days=30).timestamp_range(now)
    rows = canonical_rows(orjson.dumps([entry]), now.isoformat(), oldest, newest)
    assert rows is not None
    assert rows[0][9] == "140000"


def test_mapped_fields_and_levels_are_the_entry_definitions() -> None:
    """Log attributes map to wire fields of tracehub.entry, and every level to one of its."""
    assert set(mapping._LOG_FIELDS.values()) <= {field.name for field in WIRE_FIELDS}
    assert set(mapping._LEVELS.values()) <= set(LEVELS)


def _log(**more: object) -> dict[str, object]:
    attributes = {
        "sentry.environment": {"value": "production", "type": "string"},
        "server.address": {"value": "web-1", "type": "string"},
        "thread.id": {"value": 140000, "type": "integer"},
        "sentry.message.parameter.0": {"value": 2.5, "type": "double"},
        "flag": {"value": True, "type": "boolean"},
        "ids": {"value": [1, 2], "type": "array"},
        "size": {"value": 3, "type": "integer", "unit": "byte"},
    }
    return {"timestamp": 1_700_000_000.123456, "level": "info", "body": "hi",
            "trace_id": "ab" * 16, "span_id": "cd" * 8, "severity_number": 9,
            "attributes": attributes, **more}  # fmt: skip


def _as_read_by_orjson(monkeypatch: pytest.MonkeyPatch, payload: bytes) -> list[object]:
    def refuse(payload: bytes) -> object:
        raise msgspec.ValidationError("forced")

    with monkeypatch.context() as patch:
        patch.setattr(mapping, "_decode_logs", refuse)
        return log_entries(payload, 7)


@pytest.mark.parametrize(
    "items",
    [
        [_log()],
        [_log(level="WARNING", timestamp=1_700_000_000), _log(attributes={}), {"body": "bare"}],
        [_log(timestamp="2023-11-14T22:13:20Z", trace_id="", attributes=None)],
    ],
)
def test_the_sdks_shape_decoded_in_c_maps_as_the_general_reading_does(
    monkeypatch: pytest.MonkeyPatch, items: list[object]
) -> None:
    """A log item in the shape Sentry SDKs send gives, value for value and type for type,
    the entries the general (orjson) reading gives."""
    payload = orjson.dumps({"items": items})
    mapping._decode_logs(payload)  # the shape is the fast one
    fast, general = log_entries(payload, 7), _as_read_by_orjson(monkeypatch, payload)
    assert orjson.dumps(fast, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        general, option=orjson.OPT_SORT_KEYS
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # Beyond 64 bits orjson reads a float: so is it stored.
        (b'{"items":[{"attributes":{"n":{"value":18446744073709551617}}}]}',
         {"n": 18446744073709551617.0}),
        # An attribute without "value" is kept whole; a bare value as it is.
        (b'{"items":[{"attributes":{"a":{"type":"string"},"b":"x"}}]}',
         {"a": {"type": "string"}, "b": "x"}),
        # An unknown key, an object value: the general reading.
        (b'{"items":[{"new":1,"attributes":{"o":{"value":{"k":1}}}}]}', {"o": {"k": 1}}),
    ],
)  # fmt: skip
def test_any_other_shape_takes_the_general_reading(payload: bytes, expected: object) -> None:
    """What the C decoder would read differently, or not at all, is read by orjson."""
    with pytest.raises(msgspec.ValidationError):
        mapping._decode_logs(payload)
    [entry] = log_entries(payload, 7)
    assert orjson.dumps(entry["extra"]) == orjson.dumps(expected)  # types too: 1.0 is not 1


@pytest.mark.parametrize(
    "payload",
    [b'{"items":[{"body":"x","new":1e400}]}', b'{"items":[{"body":"\\ud800"}]}',
     b'{"items":[{"body":"x","new":"\xff"}]}', b'{"items":{}}', b"[]"],
)  # fmt: skip
def test_what_is_not_a_log_item_is_refused_even_in_a_key_nobody_reads(payload: bytes) -> None:
    """Invalid JSON anywhere (an infinite number, a lone surrogate, bad UTF-8), or no list
    of items, is a ValueError (the view's 400), as orjson says."""
    with pytest.raises(ValueError):
        log_entries(payload, 7)


def test_log_ids_are_derived_from_the_project_the_payload_and_the_position() -> None:
    """Ids derive as a native body's do (one derivation): a resent payload gets the same
    ids, another payload or another project other ones, and two equal logs differ."""
    payload = orjson.dumps({"items": [_log(), _log()]})
    ids = [entry["event_id"] for entry in log_entries(payload, 7)]
    assert ids == [RequestEventIds(7, payload)(position) for position in range(2)]
    assert len(set(ids)) == 2
    assert [entry["event_id"] for entry in log_entries(payload, 7)] == ids
    assert not {entry["event_id"] for entry in log_entries(payload, 8)} & set(ids)
    other = orjson.dumps({"items": [_log(), _log(), _log()]})
    assert not {entry["event_id"] for entry in log_entries(other, 7)} & set(ids)
