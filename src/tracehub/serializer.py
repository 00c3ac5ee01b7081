"""Turning buffered records into wire entries, and snapshotting ``extra`` at call time.

Caller side (cheap): :func:`snapshot_extra` copies ``extra`` so a later mutation by the
application can't change what is sent — a shallow dict copy, deep copies of nested
containers only, and ``str()`` at call time for objects that might change later.

Worker side: :class:`EntryEncoder` adds the constant fields, formats the timestamp,
assigns the ``event_id``, truncates to the limits of :mod:`tracehub.entry` and encodes
with orjson.
Values orjson can't encode (Decimal, set, bytes, arbitrary objects, huge ints, lone
surrogates, non-string keys) are converted; an entry is never lost to encoding.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import os
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from tracehub.entry import ERROR, FIELD, limit_of
from tracehub.limits import MAX_FINGERPRINT_PART_CHARS, truncate_text
from tracehub.models import Record

__all__ = ["EntryEncoder", "new_event_ids", "safe_text", "snapshot_extra"]

#: Nesting kept when snapshotting ``extra``; deeper values (and cycles) become a marker.
MAX_EXTRA_DEPTH = 16
#: Items copied per nested container; more can never fit in ``extra``'s limit anyway.
MAX_EXTRA_ITEMS = 1_000
#: Bytes of the original ``extra`` kept as a preview when it is over the limit.
EXTRA_PREVIEW_BYTES = 1_024


# The limits of tracehub.entry, read once: the worker's path looks up nothing per entry.
_MAX_MESSAGE_CHARS = limit_of("message")
_MAX_TRACE_ID_CHARS = limit_of("trace_id")
_MAX_MODULE_CHARS = limit_of("module")
_MAX_ERROR_TYPE_CHARS = limit_of("error_type")
_MAX_ERROR_MESSAGE_CHARS = limit_of("error_message")
_MAX_STACK_TRACE_CHARS = limit_of("stack_trace")
_MAX_EXTRA_BYTES = limit_of("extra")
_MAX_FINGERPRINT_PARTS = limit_of("fingerprint")
_STACK_KEEPS_END = FIELD["stack_trace"].keep_end

_OPTIONS = orjson.OPT_NON_STR_KEYS
# Values that can't change after the call, so the snapshot may keep a reference.
_IMMUTABLE: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), bytes, dt.datetime, dt.date, dt.time, uuid.UUID}
)
_IMMUTABLE |= {decimal.Decimal, dt.timedelta}
_SEQUENCES = (list, tuple, set, frozenset)


def safe_text(value: object) -> str:
    """``str(value)`` that never raises."""
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<unprintable {type(value).__name__}>"


# -- caller side ---------------------------------------------------------------------


def snapshot_extra(extra: object) -> dict[str, Any] | None:
    """Copy ``extra`` at call time; a non-mapping becomes ``{"value": ...}``."""
    if type(extra) is dict:
        snap: dict[Any, Any] = extra.copy()  # type: ignore[attr-defined, unused-ignore]
        for value in snap.values():  # usually all immutable: no item tuples, no stores
            if type(value) not in _IMMUTABLE:
                for key, item in snap.items():
                    if type(item) not in _IMMUTABLE:
                        snap[key] = _freeze(item, 1)
                break
        return snap
    if extra is None:
        return None
    try:
        is_mapping = isinstance(extra, Mapping)  # may consult a hostile __class__
    except Exception:
        is_mapping = False
    if is_mapping:
        try:
            return _freeze_mapping(extra, 0)  # type: ignore[arg-type]
        except Exception:
            return {"value": safe_text(extra)}
    return {"value": _freeze(extra, 1)}


def _freeze(value: object, depth: int) -> object:
    """Copy containers, keep immutable values, stringify everything else now."""
    cls = type(value)
    if cls in _IMMUTABLE:
        return value
    try:  # isinstance() may consult a hostile __class__ property
        if isinstance(value, enum.Enum):
            return value
        if depth > MAX_EXTRA_DEPTH:
            return "<max depth exceeded>"
        if isinstance(value, Mapping):
            return _freeze_mapping(value, depth)
        if isinstance(value, _SEQUENCES):
            items = [
                _freeze(v, depth + 1) for _, v in zip(range(MAX_EXTRA_ITEMS), value, strict=False)
            ]
            if len(value) > MAX_EXTRA_ITEMS:
                items.append(f"...[{len(value) - MAX_EXTRA_ITEMS} more items]")
            return items
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, (str, int, float, dt.date, dt.time, uuid.UUID, decimal.Decimal)):
            return value  # subclasses of immutable types
    except Exception:
        return f"<unreadable {cls.__name__}>"
    return safe_text(value)


def _freeze_mapping(value: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for count, (key, item) in enumerate(value.items()):
        if count >= MAX_EXTRA_ITEMS:
            out["..."] = f"[{len(value) - MAX_EXTRA_ITEMS} more keys]"
            break
        if type(key) not in (str, int, float, bool) and key is not None:
            key = safe_text(key)
        out[key] = _freeze(item, depth + 1)
    return out


# -- worker side ---------------------------------------------------------------------


# Byte translations that stamp the UUID version (4) and variant (RFC 4122) bits.
_UUID_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_UUID_VARIANT_RFC4122 = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_event_ids(count: int) -> list[str]:
    """Return ``count`` random UUID4s as 32-char hex, like ``uuid4().hex`` but in bulk."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = raw[6::16].translate(_UUID_VERSION_4)
    raw[8::16] = raw[8::16].translate(_UUID_VARIANT_RFC4122)
    text = raw.hex()
    return [text[i : i + 32] for i in range(0, 32 * count, 32)]


def _default(value: object) -> object:
    """orjson fallback for values it can't encode natively."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return safe_text(value)


def _sanitize(value: object, depth: int = 0) -> object:
    """Slow path: rebuild ``value`` from JSON-safe types only (no orjson surprises left)."""
    if depth > MAX_EXTRA_DEPTH + 2:
        return "<max depth exceeded>"
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        return {_key(k): _sanitize(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_sanitize(v, depth + 1) for v in value]
    converted = _default(value)
    if isinstance(value, (dt.date, dt.time, uuid.UUID, enum.Enum)):
        converted = orjson.loads(orjson.dumps(value, default=safe_text))
    return _sanitize(converted, depth + 1) if converted is not value else safe_text(value)


def _key(key: object) -> str:
    return _sanitize(key if isinstance(key, str) else safe_text(key))  # type: ignore[return-value]


def dumps(value: object) -> bytes:
    """Encode anything as JSON, converting what orjson refuses."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except (orjson.JSONEncodeError, RecursionError, TypeError, ValueError):
        return orjson.dumps(_sanitize(value), default=safe_text, option=_OPTIONS)


def encode_extra(extra: dict[str, Any]) -> bytes:
    """Encode ``extra``, replacing it with a documented summary when over its limit."""
    data = dumps(extra)
    if len(data) <= _MAX_EXTRA_BYTES:
        return data
    preview = data[:EXTRA_PREVIEW_BYTES].decode("utf-8", "ignore")
    return dumps({"_truncated": True, "_original_bytes": len(data), "_preview": preview})


_MILLIS = [f".{ms:03d}+00:00" for ms in range(1000)]


class _Timestamps:
    """UTC ISO 8601 with milliseconds; the date-time part is cached per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format(self, ts: float) -> str:
        second = int(ts)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return self._prefix + _MILLIS[min(int((ts - second) * 1000), 999)]


class EntryEncoder:
    """Builds wire entries from records; constant fields are computed once per process."""

    def __init__(self, *, service: str, environment: str, sdk_version: str) -> None:
        self._service = service
        self._environment = environment
        self._sdk_version = sdk_version
        self._timestamps = _Timestamps()
        self.refresh_process_fields()

    def refresh_process_fields(self) -> None:
        """Recompute host and pid (after a fork the child has a new pid)."""
        self._constant = (
            truncate_text(self._service, limit_of("service")),
            truncate_text(self._environment, limit_of("environment")),
            truncate_text(socket.gethostname() or "unknown", limit_of("host")),
            os.getpid(),
            truncate_text(self._sdk_version, limit_of("sdk_version")),
        )

    def encode(self, records: list[Record]) -> list[bytes]:
        """Encode records in order, one JSON object (bytes) per record."""
        ids = new_event_ids(len(records))
        encode_one = self._encode_one
        return [encode_one(r, eid) for r, eid in zip(records, ids, strict=True)]

    def _encode_one(self, record: Record, event_id: str) -> bytes:
        try:
            entry = self.build(record, event_id)
            extra = record[4]
        except Exception as exc:  # never lose the entry, whatever the record holds
            entry, extra = self._fallback(record, event_id, exc), None
        if extra:
            entry["extra"] = extra
        try:
            data = orjson.dumps(entry, default=_default, option=_OPTIONS)
        except (orjson.JSONEncodeError, RecursionError, TypeError, ValueError):
            data = b""
        # The entry bounds its extra: only a large entry needs extra measured on its own.
        if data and (not extra or len(data) <= _MAX_EXTRA_BYTES):
            return data
        if extra:
            try:
                entry["extra"] = orjson.Fragment(encode_extra(extra))
            except Exception:
                entry["extra"] = {"_unencodable": safe_text(extra)[:EXTRA_PREVIEW_BYTES]}
        try:
            return orjson.dumps(entry, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            if extra:
                entry["extra"] = orjson.loads(encode_extra(extra))
            return dumps(_sanitize(entry))

    def build(self, record: Record, event_id: str) -> dict[str, Any]:
        """The entry as a dict, without ``extra`` (the caller adds it, within its limit)."""
        level, message, ts, module, _extra, trace_id, thread_id, error = record
        if type(message) is not str:
            message = safe_text(message)
        if len(message) > _MAX_MESSAGE_CHARS:
            message = truncate_text(message, _MAX_MESSAGE_CHARS)
        service, environment, host, pid, sdk_version = self._constant
        entry: dict[str, Any] = {
            "level": level,
            "message": message,
            "timestamp": self._timestamps.format(ts),
            "service": service,
            "environment": environment,
            "host": host,
            "pid": pid,
            "sdk_version": sdk_version,
            "thread_id": thread_id,
            "event_id": event_id,
        }
        if trace_id:
            text = trace_id if type(trace_id) is str else safe_text(trace_id)
            entry["trace_id"] = text[:_MAX_TRACE_ID_CHARS]
        if module:
            text = module if type(module) is str else safe_text(module)
            entry["module"] = (
                text if len(text) <= _MAX_MODULE_CHARS else truncate_text(text, _MAX_MODULE_CHARS)
            )
        if error is not None:
            self._add_error(entry, error)
        return entry

    @staticmethod
    def _add_error(entry: dict[str, Any], error: tuple[Any, ...]) -> None:
        error_type, error_message, stack_trace = error[:3]
        if error_type:
            entry["error_type"] = truncate_text(safe_text(error_type), _MAX_ERROR_TYPE_CHARS)
        if error_message is not None:
            text = safe_text(error_message)
            entry["error_message"] = truncate_text(text, _MAX_ERROR_MESSAGE_CHARS)
        if stack_trace:
            text = safe_text(stack_trace)
            entry["stack_trace"] = truncate_text(
                text, _MAX_STACK_TRACE_CHARS, keep_end=_STACK_KEEPS_END
            )
        if len(error) > 3:
            values, fingerprint = error[3:5]
            if values:
                entry["exception"] = {"values": values}
            if fingerprint:
                entry["fingerprint"] = [
                    truncate_text(safe_text(p), MAX_FINGERPRINT_PART_CHARS)
                    for p in fingerprint[:_MAX_FINGERPRINT_PARTS]
                ]

    def _fallback(self, record: object, event_id: str, exc: Exception) -> dict[str, Any]:
        service, environment, host, pid, sdk_version = self._constant
        return {
            "level": ERROR,
            "message": truncate_text(safe_text(record), _MAX_MESSAGE_CHARS),
            "timestamp": self._timestamps.format(time.time()),
            "service": service,
            "environment": environment,
            "host": host,
            "pid": pid,
            "sdk_version": sdk_version,
            "thread_id": None,
            "event_id": event_id,
            "error_type": "TraceHubEncodingError",
            "error_message": truncate_text(safe_text(exc), _MAX_ERROR_MESSAGE_CHARS),
        }
