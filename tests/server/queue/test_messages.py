"""Queue message encoding: round trips, refusal of bodies that are not ours."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tracehub_server.queue.messages import (
    ENTRY_KEYS,
    IngestBatch,
    MessageError,
    decode,
    encode_entries,
    encode_group,
    entry_dict,
)


def _full(entry: dict[str, Any]) -> dict[str, Any]:
    return {**dict.fromkeys(ENTRY_KEYS), **entry}


def test_group_round_trip_keeps_order_and_projects() -> None:
    """A version-3 message gives back every batch, in order, with its project and values."""
    batches = [
        IngestBatch(project_id=1, entries=[{"message": "a"}]),
        IngestBatch(project_id=2, entries=[{"message": "b\u2028\x00"}, {"message": "c"}]),
        IngestBatch(project_id=1, entries=[]),
    ]
    body = encode_group([(b.project_id, encode_entries(b.entries)) for b in batches])
    decoded = decode(body)
    assert [b.project_id for b in decoded] == [1, 2, 1]
    assert [[entry_dict(e) for e in b.entries] for b in decoded] == [
        [_full(e) for e in b.entries] for b in batches
    ]
    assert orjson.loads(body)["v"] == 3


def test_entries_travel_as_value_arrays_in_entry_key_order() -> None:
    """A full validated entry is written as its values in ENTRY_KEYS order, no key names."""
    entry = {key: f"{key}-value" for key in reversed(ENTRY_KEYS)}
    assert orjson.loads(encode_entries([entry])) == [[f"{key}-value" for key in ENTRY_KEYS]]


@pytest.mark.parametrize(
    "entry", [[], [1] * (len(ENTRY_KEYS) - 2), [1] * (len(ENTRY_KEYS) + 1), "x", 5, None]
)
def test_entry_dict_refuses_what_is_not_an_entry(entry: Any) -> None:
    """A value array of the wrong length, or a non-entry, gives None (counted invalid)."""
    assert entry_dict(entry) is None


def test_group_of_many_large_batches() -> None:
    """Grouping hundreds of batches stays valid JSON (oversized input is just bytes)."""
    parts = [(p, encode_entries([{"message": "x" * 1000}] * 10)) for p in range(1, 300)]
    assert len(decode(encode_group(parts))) == 299


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"v": 3, "project_id": 1, "entries": []}',
        b'{"v": 1, "project_id": "1", "entries": []}',
        b'{"v": 1, "project_id": 0, "entries": []}',
        b'{"v": 1, "project_id": true, "entries": []}',
        b'{"v": 1, "project_id": 1, "entries": {}}',
        b'{"v": 1, "project_id": 1, "entries": [1]}',
        b'{"v": 2, "project_id": 1, "entries": []}',
        b'{"v": 1, "project_id": 1, "entries": [{"message": "m"}]}',
        b'{"v": 2, "batches": [{"project_id": 1, "entries": [{"message": "m"}]}]}',
        b'{"v": 3, "batches": []}',
        b'{"v": 3, "batches": [{"project_id": 1, "entries": [[1], {}]}]}',
        b'{"v": 2, "batches": []}',
        b'{"v": 2, "batches": [1]}',
        b'{"v": 2, "batches": {"project_id": 1}}',
        b'{"v": 2, "batches": [{"project_id": -1, "entries": []}]}',
        b'{"v": 2, "batches": [{"project_id": 1, "entries": [[]]}]}',
        b'{"v": 2, "batches": [{"project_id": 1}]}',
        b'{"v": 3, "batches": [{"project_id": 1, "entries": [{}]}]}',
        b'{"v": 3, "batches": [{"project_id": 1, "entries": [1]}]}',
        b'{"v": 4, "batches": [{"project_id": 1, "entries": []}]}',
    ],
)
def test_foreign_bodies_raise_message_error(body: bytes) -> None:
    """Anything but a well-formed version-3 message raises MessageError (dead-lettered)."""
    with pytest.raises(MessageError):
        decode(body)
