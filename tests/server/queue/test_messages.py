"""Queue message encoding: round trips of both versions, refusal of bodies that are not ours."""

from __future__ import annotations

import orjson
import pytest

from tracehub_server.queue.messages import (
    IngestBatch,
    MessageError,
    decode,
    encode,
    encode_entries,
    encode_group,
)


def test_round_trip() -> None:
    """encode then decode gives the same batch (version 1, one request)."""
    batch = IngestBatch(project_id=3, entries=[{"event_id": "a" * 32, "extra": {"k": [1]}}])
    assert decode(encode(batch)) == [batch]


def test_group_round_trip_keeps_order_and_projects() -> None:
    """A version-2 message gives back every batch, in order, each with its project."""
    batches = [
        IngestBatch(project_id=1, entries=[{"message": "a"}]),
        IngestBatch(project_id=2, entries=[{"message": "b\u2028\x00"}, {"message": "c"}]),
        IngestBatch(project_id=1, entries=[]),
    ]
    body = encode_group([(b.project_id, encode_entries(b.entries)) for b in batches])
    assert decode(body) == batches
    assert orjson.loads(body)["v"] == 2


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
        b'{"v": 2, "batches": []}',
        b'{"v": 2, "batches": [1]}',
        b'{"v": 2, "batches": {"project_id": 1}}',
        b'{"v": 2, "batches": [{"project_id": -1, "entries": []}]}',
        b'{"v": 2, "batches": [{"project_id": 1, "entries": [[]]}]}',
        b'{"v": 2, "batches": [{"project_id": 1}]}',
    ],
)
def test_foreign_bodies_raise_message_error(body: bytes) -> None:
    """Anything but a well-formed version-1 or -2 message raises MessageError (dead-lettered)."""
    with pytest.raises(MessageError):
        decode(body)
