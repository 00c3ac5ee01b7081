"""Sentry envelopes: a JSON header line, then items of a JSON header line and a payload.

An item's payload is ``length`` bytes when its header says so, else the rest of its line
(https://develop.sentry.dev/sdk/data-model/envelopes/). Anything else is
:class:`EnvelopeError` (400): an SDK never sends it, so the body is broken or not an envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


class EnvelopeError(ValueError):
    """The body is not a well-formed envelope."""


@dataclass(frozen=True, slots=True)
class Item:
    """One envelope item: its type (``event``, ``log``, ``transaction``, ...) and payload."""

    type: str
    headers: dict[str, Any]
    payload: bytes


def _json_line(body: bytes, start: int, what: str) -> tuple[dict[str, Any], int]:
    end = body.find(b"\n", start)
    if end < 0:
        end = len(body)
    try:
        value = orjson.loads(body[start:end])
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"{what} is not valid JSON: {exc}") from None
    if type(value) is not dict:
        raise EnvelopeError(f"{what} must be a JSON object")
    return value, end + 1


def _header(body: bytes) -> tuple[dict[str, Any], int]:
    if not body.strip():
        raise EnvelopeError("body is empty; send a Sentry envelope")
    return _json_line(body, 0, "the envelope header")


def header(body: bytes) -> dict[str, Any]:
    """The envelope's header alone (a tunnelled envelope's ``dsn`` is there)."""
    return _header(body)[0]


def parse(body: bytes) -> tuple[dict[str, Any], list[Item]]:
    """The envelope's header and items."""
    header, position = _header(body)
    items: list[Item] = []
    while position < len(body):
        if body[position : position + 1] == b"\n":
            position += 1  # blank lines between items are tolerated, as Relay does
            continue
        headers, position = _json_line(body, position, f"item header {len(items)}")
        kind = headers.get("type")
        if type(kind) is not str:
            raise EnvelopeError(f"item {len(items)} has no type")
        length = headers.get("length")
        if length is None:
            end = body.find(b"\n", position)
            end = len(body) if end < 0 else end
            payload, position = body[position:end], end + 1
        elif type(length) is int and 0 <= length <= len(body) - position:
            payload = body[position : position + length]
            position += length
            if body[position : position + 1] == b"\n":
                position += 1
        else:
            raise EnvelopeError(f"item {len(items)} length {length!r} is beyond the body")
        items.append(Item(type=kind, headers=headers, payload=payload))
    return header, items
