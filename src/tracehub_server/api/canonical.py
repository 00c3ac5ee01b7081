"""The ingest fast path: a body in the SDK's canonical form, decoded and checked in one C pass.

What the SDK sends is already valid: every field present has the right type, the level is
upper case, the event id (if any) is 32 lower-case hex digits, the thread id a string,
the timestamp is UTC in ``isoformat()`` shape -- which is also what the original SDKs send,
except for the event id, which they leave out. For such a body, msgspec decodes the JSON
and checks every type, length, range and pattern in C -- its ``Struct`` is built from the
entry's definition (:mod:`tracehub.entry`), so its limits are the general path's -- about a
third of what parsing with orjson and checking each field in Python costs
(``bench/bench_server.py``; the docs' Performance page has the figures).

This module only *recognises* canonical bodies; it never decides anything differently from
:mod:`tracehub_server.api.validation`. Anything that needs a default other than
``unknown``, an alias, a truncation, a NUL replacement, an error message -- or that orjson
would read differently (an integer beyond 64 bits, nesting beyond its depth limit) --
makes :func:`canonical_rows` return None and the whole body takes the general path, which
answers exactly as before. A test checks both paths store the same values.

Entries come out as value lists in :data:`~tracehub_server.queue.messages.ENTRY_KEYS`
order, the form a version-3 queue message carries and the digest converts by position.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from tracehub.entry import LEVELS, WIRE_FIELDS, Field
from tracehub.limits import MAX_ENTRIES_PER_BATCH
from tracehub_server.api.event_ids import EventIdSource, random_event_id
from tracehub_server.api.structured import StructureError, checked_exception, checked_fingerprint
from tracehub_server.api.validation import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_SERVICE,
    checked_extra,
    is_canonical_utc,
)

__all__ = ["WireEntry", "canonical_items", "canonical_rows"]

#: What the fast path accepts of the fields the SDK writes in a shape of their own.
_SHAPES: dict[str, Any] = {
    "level": Literal[LEVELS],  # upper case, no alias
    "event_id": Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")],  # as the SDK writes it
}


def _shape(field: Field) -> Any:
    """The type the fast path accepts for ``field``: only values that need no repair."""
    if field.name in _SHAPES:
        return _SHAPES[field.name]
    if field.kind == "integer":
        return Annotated[int, msgspec.Meta(ge=0, le=field.limit)]
    if field.kind == "object":
        return dict[str, Any]
    if field.kind == "array of strings":
        return list[str]
    # A string within its limit (an integer thread id takes the general path).
    return Annotated[str, msgspec.Meta(max_length=field.limit)] if field.limit else str


#: An entry as the SDK writes it, built from :data:`tracehub.entry.WIRE_FIELDS`: any other
#: key or shape fails the decode. ``gc=False``: decoded entries hold no reference cycles, so
#: the collector need not track (and scan) thousands of them per second.
WireEntry = msgspec.defstruct(
    "WireEntry",
    [(f.name, _shape(f)) if f.required else (f.name, _shape(f) | None, None) for f in WIRE_FIELDS],
    kw_only=True,
    forbid_unknown_fields=True,
    gc=False,
)

# Typed Any: the Struct is built at import, so mypy knows none of its fields.
_ENTRIES: Any = list[WireEntry]  # type: ignore[valid-type]
_decode: Callable[[bytes], list[Any]] = msgspec.json.Decoder(_ENTRIES).decode
_convert = msgspec.convert
_dumps = orjson.dumps
_from_iso = datetime.fromisoformat


def canonical_rows(
    body: bytes,
    received: str,
    oldest: datetime,
    newest: datetime,
    event_ids: EventIdSource = random_event_id,
) -> list[list[Any]] | None:
    """The validated entries of ``body`` as value lists, or None for the general path.

    ``received`` is the receive time (ISO 8601), ``[oldest, newest]`` the accepted
    timestamp range and ``event_ids`` the source of ids for entries sent without one, as
    in :meth:`~tracehub_server.api.validation.EntryValidator.validate`.
    The caller has checked that ``body`` holds no ``\\u0000`` escape (NUL needs repair).
    """
    try:
        entries = _decode(body)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError):
        return None  # malformed or not canonical: the general path says what is wrong
    return _rows(entries, received, oldest, newest, event_ids)


def canonical_items(
    items: list[Any],
    received: str,
    oldest: datetime,
    newest: datetime,
    event_ids: EventIdSource = random_event_id,
) -> list[list[Any]] | None:
    """The same for entries already parsed (a protocol's mapped entries): the same Struct
    checks them, converted from the Python objects (``msgspec.convert``) rather than
    decoded from their JSON.

    They are still written as JSON (orjson, in C), for what a JSON body would tell: a NUL
    in any string (JSON escapes it) or a value orjson cannot write (an integer beyond 64
    bits, a lone surrogate, a key that is not a string) sends them to the general path.
    """
    try:
        raw = _dumps(items)
        entries = _convert(items, _ENTRIES)
    except (msgspec.MsgspecError, RecursionError, orjson.JSONEncodeError):
        return None
    if b"\\u0000" in raw:
        return None
    return _rows(entries, received, oldest, newest, event_ids)


def _rows(
    entries: list[Any],
    received: str,
    oldest: datetime,
    newest: datetime,
    event_ids: EventIdSource,
) -> list[list[Any]] | None:
    """The rows of entries checked by the Struct, or None for the general path."""
    if len(entries) > MAX_ENTRIES_PER_BATCH:
        return None  # the general path answers 413
    rows: list[list[Any]] = []
    append = rows.append
    try:
        for index, entry in enumerate(entries):  # fields by name, rows in ENTRY_KEYS order
            sent = entry.timestamp
            original = None
            if sent is None:
                timestamp = received
            elif is_canonical_utc(sent):
                timestamp = sent
                if not oldest <= _from_iso(sent) <= newest:
                    timestamp, original = received, sent
            else:
                return None  # "Z", naive or offset times: the general path normalises them
            extra = entry.extra
            if extra:
                extra = checked_extra(extra)
            exception, fingerprint = entry.exception, entry.fingerprint
            if exception is not None or fingerprint is not None:
                exception = checked_exception(exception)
                fingerprint = checked_fingerprint(fingerprint)
            append(
                [entry.event_id or event_ids(index), timestamp, received, entry.level,
                 entry.service or DEFAULT_SERVICE, entry.environment or DEFAULT_ENVIRONMENT,
                 entry.message, entry.host, entry.pid, entry.thread_id, entry.sdk_version,
                 entry.module, entry.trace_id, entry.error_type, entry.error_message,
                 entry.stack_trace, extra, original, exception, fingerprint]
            )  # fmt: skip
    except StructureError:
        return None  # the general path rejects the entry, saying why
    except (ValueError, orjson.JSONEncodeError):
        # An impossible date in canonical shape, or an ``extra`` that orjson (which parses
        # the general path and the queue message) reads differently: an integer beyond
        # 64 bits, or nesting it cannot write (checked_extra's EntryError, a ValueError).
        return None
    return rows
