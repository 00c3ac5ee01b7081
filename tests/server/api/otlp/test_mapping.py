"""The OTLP mapping writes entries in canonical form, so they take the validator's C path."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from tracehub.entry import WIRE_FIELDS
from tracehub_server.api.canonical import canonical_rows
from tracehub_server.api.otlp import mapping
from tracehub_server.api.otlp.mapping import Resource, wire_entry
from tracehub_server.api.validation import EntryValidator


def _entry(thread_id: object) -> dict[str, object]:
    resource = Resource({"service.name": "api", "process.pid": 42}, "app", "", {})
    return wire_entry(
        resource, "0" * 32, time_ns=1_700_000_000_123_456_789, observed_ns=0, severity_number=9,
        severity_text="", body="hello", attributes={"thread.id": thread_id, "user": 3},
        trace_id="", span_id="", event_name="",
    )  # fmt: skip


@pytest.mark.parametrize(("sent", "stored"), [(140000, "140000"), ("0012", "12"), ("main", "main")])
def test_thread_id_is_text_and_the_entry_is_canonical(sent: object, stored: str) -> None:
    """An integer (or digit) thread id is written as the text the validator would store,
    and the whole entry passes the canonical C path unchanged."""
    entry = _entry(sent)
    assert entry["thread_id"] == stored
    now = datetime(2023, 11, 14, 23, 0, tzinfo=timezone.utc)
    oldest, newest = EntryValidator(retention_days=30).timestamp_range(now)
    rows = canonical_rows(orjson.dumps([entry]), now.isoformat(), oldest, newest)
    assert rows is not None
    assert rows[0][9] == stored


def test_mapped_fields_are_the_entry_definitions() -> None:
    """Every field the mapping fills is a wire field of tracehub.entry (it maps *into* it)."""
    names = {field.name for field in WIRE_FIELDS}
    targets = {*mapping._RESOURCE_FIELDS.values(), *mapping._RECORD_FIELDS.values()}
    assert targets | set(_entry("main")) <= names
