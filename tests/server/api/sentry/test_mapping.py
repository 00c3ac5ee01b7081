"""The Sentry log mapping writes entries in canonical form, so they take the C path."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson

from tracehub.entry import LEVELS, WIRE_FIELDS
from tracehub_server.api.canonical import canonical_rows
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
