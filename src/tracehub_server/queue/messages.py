"""The message that travels from the API to the worker: one validated ingest request.

A message body is ``{"v": 1, "project_id": 7, "entries": [...]}`` serialised with orjson;
the entries are the API's validated entry dicts (see :mod:`tracehub_server.api.validation`).
The version field lets a newer worker refuse (and dead-letter) a body it does not know
instead of misreading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

#: Version written by :func:`encode` and the only one :func:`decode` accepts.
MESSAGE_VERSION = 1


class MessageError(ValueError):
    """A message body that is not a valid ingest batch (it goes to the dead-letter queue)."""


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """Validated entries of one project, as published by the API and digested by a worker."""

    project_id: int
    entries: list[dict[str, Any]]


def encode(batch: IngestBatch) -> bytes:
    """Serialise ``batch`` for the queue."""
    return orjson.dumps(
        {"v": MESSAGE_VERSION, "project_id": batch.project_id, "entries": batch.entries}
    )


def decode(body: bytes) -> IngestBatch:
    """Parse a queue message body; raises :class:`MessageError` when it is not one of ours."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"message body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MessageError("message body must be a JSON object")
    if data.get("v") != MESSAGE_VERSION:
        raise MessageError(f"unsupported message version {data.get('v')!r}")
    project_id = data.get("project_id")
    entries = data.get("entries")
    if type(project_id) is not int or project_id <= 0:
        raise MessageError("message project_id must be a positive integer")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MessageError("message entries must be a list of objects")
    return IngestBatch(project_id=project_id, entries=entries)
