"""The message that travels from the API to the worker: validated ingest requests.

A message body is ``{"v": 3, "batches": [{"project_id": 7, "entries": [[...], ...]}, ...]}``,
serialised with orjson: the batches of the requests that arrived while the previous publish
was being confirmed, in one message (one broker write, one confirm, one delivery for all of
them). Each entry is the array of its values in :data:`ENTRY_KEYS` order (the stored entry
of :mod:`tracehub.entry`): without the key names a message is ~40 % smaller, and the worker
decodes it faster and converts it by position.

The version field lets a worker refuse (and dead-letter) a body it does not know instead of
misreading it; 3 is the only version (nothing older was released).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tracehub.entry import ENTRY_KEYS

__all__ = [
    "ENTRY_KEYS",
    "ROWS_VERSION",
    "IngestBatch",
    "MessageError",
    "decode",
    "encode_entries",
    "encode_group",
    "entry_dict",
    "entry_values",
]

#: Version written by :func:`encode_group` and read by :func:`decode`.
ROWS_VERSION = 3

#: The values of an entry dict in :data:`ENTRY_KEYS` order, as a tuple, in one C call.
entry_values = operator.itemgetter(*ENTRY_KEYS)


class MessageError(ValueError):
    """A message body that is not a valid ingest batch (it goes to the dead-letter queue)."""


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """Validated entries of one project, as published by the API and digested by a worker.

    An entry is a dict (the API's general path, handed over in process) or the list of its
    values in :data:`ENTRY_KEYS` order (the API's fast path, or decoded from a message); see
    :func:`entry_dict` for code that wants the dict either way.
    """

    project_id: int
    entries: list[Any]


def entry_dict(entry: Any) -> dict[str, Any] | None:
    """``entry`` as a dict; None for a value array of the wrong length or anything else."""
    if type(entry) is dict:
        return entry
    if type(entry) is list and len(entry) == len(ENTRY_KEYS):
        return dict(zip(ENTRY_KEYS, entry, strict=True))
    return None


def encode_entries(entries: list[Any]) -> bytes:
    """The JSON of one batch's entries as value arrays, for :func:`encode_group` (done once,
    by the request). Entries already given as value lists (the API's canonical path) are
    written as they are; a key a dict entry lacks is written as null."""
    try:
        return orjson.dumps(
            [entry if type(entry) is list else entry_values(entry) for entry in entries]
        )
    except KeyError:  # validated entries have every key; be lenient with others
        return orjson.dumps(
            [entry if type(entry) is list else [entry.get(key) for key in ENTRY_KEYS]
             for entry in entries]
        )  # fmt: skip


def encode_group(parts: Sequence[tuple[int, bytes]]) -> bytes:
    """A version-3 message from ``(project_id, encode_entries(...))`` pairs.

    Joins already-serialised parts in one ``join``, so grouping costs a single byte copy,
    not a second encoding.
    """
    pieces = [b'{"v":%d,"batches":[' % ROWS_VERSION]
    for index, (project_id, entries) in enumerate(parts):
        pieces.append(b'%s{"project_id":%d,"entries":' % (b"," if index else b"", project_id))
        pieces.append(entries)
        pieces.append(b"}")
    pieces.append(b"]}")
    return b"".join(pieces)


def _batch(project_id: Any, entries: Any) -> IngestBatch:
    if type(project_id) is not int or project_id <= 0:
        raise MessageError("message project_id must be a positive integer")
    if type(entries) is not list or not all(type(e) is list for e in entries):
        raise MessageError("message entries must be a list of arrays")
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
    if version != ROWS_VERSION:
        raise MessageError(f"unsupported message version {version!r}")
    batches = data.get("batches")
    if type(batches) is not list or not batches:
        raise MessageError("message batches must be a non-empty list")
    if not all(type(b) is dict for b in batches):
        raise MessageError("message batches must be objects")
    return [_batch(b.get("project_id"), b.get("entries")) for b in batches]
