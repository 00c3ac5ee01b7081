"""Encoding records: snapshots, conversions, limits, ids and timestamps."""

from __future__ import annotations

import json
import re
import uuid

from tracehub.limits import MAX_EXTRA_BYTES, MAX_TRACE_ID_CHARS
from tracehub.serializer import EntryEncoder, new_event_ids, snapshot_extra


def _encode(record: tuple) -> dict:
    encoder = EntryEncoder(service="s", environment="e", sdk_version="1")
    return json.loads(encoder.encode([record])[0])


def test_event_ids_are_unique_uuid4_hex() -> None:
    """Bulk ids are valid, distinct UUID4s in uuid4().hex form."""
    ids = new_event_ids(2_000)
    assert len(set(ids)) == 2_000
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).hex == i for i in ids)


def test_timestamp_is_utc_iso_with_milliseconds() -> None:
    """1775435400.123 formats as 2026-04-06T00:30:00.123+00:00."""
    entry = _encode(("INFO", "m", 1775435400.1234, "", None, None, 1, None))
    assert entry["timestamp"] == "2026-04-06T00:30:00.123+00:00"


def test_snapshot_copies_nested_containers_and_stringifies_objects() -> None:
    """Nested lists/dicts are copied; mutable objects are turned into text at call time."""

    class Box:
        def __init__(self) -> None:
            self.v = 1

        def __repr__(self) -> str:
            return f"Box({self.v})"

    box = Box()
    original = {"list": [1, [2]], "box": box}
    snap = snapshot_extra(original)
    original["list"][1].append(3)
    box.v = 2
    assert snap == {"list": [1, [2]], "box": "Box(1)"}


def test_snapshot_of_cycles_and_huge_containers_is_bounded() -> None:
    """A self-referencing dict and a million-item list snapshot without blowing up."""
    cyclic: dict = {}
    cyclic["me"] = cyclic
    snap = snapshot_extra({"cyclic": cyclic, "big": list(range(1_000_000))})
    assert snap is not None
    assert len(snap["big"]) <= 1_001


def test_non_mapping_extra_is_wrapped() -> None:
    """A list or string passed as extra is kept under "value"."""
    assert snapshot_extra([1, 2]) == {"value": [1, 2]}
    assert snapshot_extra("text") == {"value": "text"}


def test_extra_over_the_limit_becomes_a_summary() -> None:
    """An extra larger than MAX_EXTRA_BYTES is replaced by a documented summary."""
    entry = _encode(("INFO", "m", 0.0, "", {"blob": "x" * (MAX_EXTRA_BYTES * 2)}, None, 1, None))
    assert entry["extra"]["_truncated"] is True
    assert len(json.dumps(entry["extra"])) <= MAX_EXTRA_BYTES


def test_long_trace_id_is_cut_and_unset_fields_are_omitted() -> None:
    """A long trace id is cut to MAX_TRACE_ID_CHARS; absent optional fields are absent."""
    entry = _encode(("INFO", "m", 0.0, "", None, "t" * 500, 1, None))
    assert len(entry["trace_id"]) == MAX_TRACE_ID_CHARS
    assert not {"module", "extra", "error_type", "stack_trace"} & set(entry)


def test_broken_record_still_produces_an_entry() -> None:
    """A record that can't be built becomes an ERROR entry saying why, not an exception."""
    encoder = EntryEncoder(service="s", environment="e", sdk_version="1")
    (raw,) = encoder.encode([("INFO",)])  # type: ignore[list-item]
    entry = json.loads(raw)
    assert entry["error_type"] == "TraceHubEncodingError"
    assert re.fullmatch(r"[0-9a-f]{32}", entry["event_id"])
