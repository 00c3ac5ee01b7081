"""The message that travels from the API to the worker: validated ingest requests.

A message body is serialised with orjson, in one of two versions:

* ``{"v": 2, "batches": [{"project_id": 7, "entries": [...]}, ...]}`` -- what the API
  publishes: the batches of the requests that arrived while the previous publish was being
  confirmed, in one message (one broker write, one confirm, one delivery for all of them).
* ``{"v": 1, "project_id": 7, "entries": [...]}`` -- one request; still accepted, so messages
  queued by an older API are digested after an upgrade.

The entries are the API's validated entry dicts (see :mod:`tracehub_server.api.validation`).
The version field lets a newer worker refuse (and dead-letter) a body it does not know
instead of misreading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

#: Keys of a validated entry, in the order the API writes them (the digest relies on it:
#: an entry with exactly these keys in this order is converted without a lookup per field).
ENTRY_KEYS = (
    "event_id",
    "timestamp",
    "received_at",
    "level",
    "service",
    "environment",
    "message",
    "host",
    "pid",
    "thread_id",
    "sdk_version",
    "module",
    "trace_id",
    "error_type",
    "error_message",
    "stack_trace",
    "extra",
    "original_timestamp",
)

#: Version written by :func:`encode` (one batch).
MESSAGE_VERSION = 1
#: Version written by :func:`encode_group` (several batches).
GROUP_VERSION = 2


class MessageError(ValueError):
    """A message body that is not a valid ingest batch (it goes to the dead-letter queue)."""


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """Validated entries of one project, as published by the API and digested by a worker."""

    project_id: int
    entries: list[dict[str, Any]]


def encode(batch: IngestBatch) -> bytes:
    """Serialise one ``batch`` as a version-1 message."""
    return orjson.dumps(
        {"v": MESSAGE_VERSION, "project_id": batch.project_id, "entries": batch.entries}
    )


def encode_entries(entries: list[dict[str, Any]]) -> bytes:
    """The JSON of one batch's entries, for :func:`encode_group` (done once, by the request)."""
    return orjson.dumps(entries)


def encode_group(parts: Sequence[tuple[int, bytes]]) -> bytes:
    """A version-2 message from ``(project_id, encode_entries(...))`` pairs.

    Joins already-serialised parts in one ``join``, so grouping costs a single byte copy,
    not a second encoding.
    """
    pieces = [b'{"v":2,"batches":[']
    for index, (project_id, entries) in enumerate(parts):
        pieces.append(b'%s{"project_id":%d,"entries":' % (b"," if index else b"", project_id))
        pieces.append(entries)
        pieces.append(b"}")
    pieces.append(b"]}")
    return b"".join(pieces)


def _batch(project_id: Any, entries: Any) -> IngestBatch:
    if type(project_id) is not int or project_id <= 0:
        raise MessageError("message project_id must be a positive integer")
    if type(entries) is not list or not all(type(e) is dict for e in entries):
        raise MessageError("message entries must be a list of objects")
    return IngestBatch(project_id=project_id, entries=entries)


def decode(body: bytes) -> list[IngestBatch]:
    """The batches of a queue message; :class:`MessageError` when it is not one of ours."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"message body is not JSON: {exc}") from None
    if type(data) is not dict:
        raise MessageError("message body must be a JSON object")
    version = data.get("v")
    if version == GROUP_VERSION:
        batches = data.get("batches")
        if type(batches) is not list or not batches:
            raise MessageError("message batches must be a non-empty list")
        if not all(type(b) is dict for b in batches):
            raise MessageError("message batches must be objects")
        return [_batch(b.get("project_id"), b.get("entries")) for b in batches]
    if version == MESSAGE_VERSION:
        return [_batch(data.get("project_id"), data.get("entries"))]
    raise MessageError(f"unsupported message version {version!r}")
