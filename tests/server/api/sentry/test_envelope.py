"""Envelope parsing: items with and without a length, and what is not an envelope."""

from __future__ import annotations

import pytest

from tracehub_server.api.sentry.envelope import EnvelopeError, parse


def test_items_with_length_may_hold_newlines_and_items_without_end_at_one() -> None:
    """A length-delimited payload may contain newlines; others run to the end of the line."""
    body = (
        b'{"event_id":"abc"}\n{"type":"attachment","length":5}\na\nb\nc\n'
        b'{"type":"event"}\n{"x":1}\n\n{"type":"log","length":2}\n{}'
    )
    header, items = parse(body)
    assert header == {"event_id": "abc"}
    assert [(i.type, i.payload) for i in items] == [
        ("attachment", b"a\nb\nc"), ("event", b'{"x":1}'), ("log", b"{}")
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [b"", b"[]\n", b"{}\n{nope}\n", b'{}\n{"type":"event","length":-1}\n', b'{}\n{"type":1}\n'],
)
def test_malformed_envelopes_raise(body: bytes) -> None:
    """Anything an SDK would not send is an EnvelopeError (answered 400)."""
    with pytest.raises(EnvelopeError):
        parse(body)
