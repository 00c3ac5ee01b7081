"""IngestBatch encoding: round trip, and refusal of bodies that are not ours."""

from __future__ import annotations

import pytest

from tracehub_server.queue.messages import IngestBatch, MessageError, decode, encode


def test_round_trip() -> None:
    """encode then decode gives the same batch."""
    batch = IngestBatch(project_id=3, entries=[{"event_id": "a" * 32, "extra": {"k": [1]}}])
    assert decode(encode(batch)) == batch


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"v": 2, "project_id": 1, "entries": []}',
        b'{"v": 1, "project_id": "1", "entries": []}',
        b'{"v": 1, "project_id": 0, "entries": []}',
        b'{"v": 1, "project_id": true, "entries": []}',
        b'{"v": 1, "project_id": 1, "entries": {}}',
        b'{"v": 1, "project_id": 1, "entries": [1]}',
    ],
)
def test_foreign_bodies_raise_message_error(body: bytes) -> None:
    """Anything but a version-1 batch raises MessageError (the worker dead-letters it)."""
    with pytest.raises(MessageError):
        decode(body)
