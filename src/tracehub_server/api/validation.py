"""The general ingest path: a wire entry (parsed JSON object) becomes a validated entry dict.

Per-field checks over the dicts orjson returns, driven by the entry's definition
(:mod:`tracehub.entry`: each field's type, limit, truncation side and default); bodies in
the SDK's canonical form take the fast path instead (:mod:`.canonical`), which a test holds
to the same results. This path alone repairs (defaults, aliases, truncation, NULs) and says
what is wrong with an entry.

A validated entry has exactly the keys of :data:`ENTRY_KEYS`, in that order (the queue's
contract, :mod:`tracehub_server.queue.messages`); optional ones may be None.
Rules (the docs' wire-format reference documents them):

* ``level`` and ``message`` are required; ``level`` is case-insensitive and accepts the
  aliases of :data:`tracehub.entry.LEVEL_ALIASES` (WARNING -> WARN, CRITICAL -> FATAL...).
* ``null`` for an optional field means absent; ``service`` and ``environment`` default to
  ``"unknown"``.
* ``event_id`` is a UUID (32 hex digits, dashes allowed); a missing one is assigned here
  (derived from the request, so a resend gets the same one: :mod:`.event_ids`), so the
  queue and the digest only ever see entries with an id.
* ``thread_id`` is a string (a thread name, as the original SDKs send) or an integer; it is
  stored as text, as sent.
* ``extra`` is an object nested at most :data:`MAX_EXTRA_DEPTH` levels deep.
* ``timestamp``: missing -> receive time; unparseable -> the entry is rejected; older than
  retention or more than a day in the future -> receive time, with the sent value kept in
  ``original_timestamp``. So no hostile timestamp can make the digest create partitions
  outside ``[now - retention, now + 1 day]``.
* Text is truncated with :mod:`tracehub.limits` (a marker says how much was cut), and NUL
  characters, which PostgreSQL text and jsonb cannot store, become U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import orjson

from tracehub.entry import (
    ENTRY_KEYS,
    FIELD,
    FIELDS,
    LEVEL_NAMES,
    LEVELS,
    MAX_LEVEL_CHARS,
    Field,
    limit_of,
)
from tracehub.limits import truncate_text
from tracehub_server.api.event_ids import EventIdSource, random_event_id
from tracehub_server.api.structured import (
    StructureError,
    checked_exception,
    checked_fingerprint,
)

#: Timestamps later than receive time + this are replaced (clock skew beyond it is a bug).
FUTURE_TOLERANCE = timedelta(days=1)
#: Longer timestamp strings are not ISO 8601; refused before parsing.
MAX_TIMESTAMP_CHARS = limit_of("timestamp")
#: Characters of an oversized ``extra`` kept in its summary's ``_preview``.
EXTRA_PREVIEW_CHARS = 1024
#: Levels of nesting ``extra`` may have (``{}`` is one). orjson, which writes it into queue
#: messages and rows, encodes at most 254 levels *including* those around it (a message
#: adds three); the parser reads 1,024. A round number well inside that.
MAX_EXTRA_DEPTH = 200
#: Object keys ``extra`` may hold, counted at every depth; more and it is summarised like an
#: oversized one. Each key is an entry of the ``extra`` GIN index: this bounds the index
#: work per stored row (16 KiB alone lets ~3,000 tiny keys through).
MAX_EXTRA_KEYS = 1_000
DEFAULT_SERVICE = FIELD["service"].default
DEFAULT_ENVIRONMENT = FIELD["environment"].default

_LEVEL_LIST = ", ".join(LEVELS)
_EXTRA_BYTES = limit_of("extra")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_REPLACEMENT = "\ufffd"


class EntryError(ValueError):
    """One entry is invalid; the message goes into the response's ``rejected`` list."""


def _clean(value: str) -> str:
    return value.replace("\x00", _REPLACEMENT) if "\x00" in value else value


def _text(key: str, limit: int, keep_end: bool, default: str | None, value: object) -> str | None:
    if value is None:
        return default
    if type(value) is not str:
        raise EntryError(f"{key} must be a string, got {_json_type(value)}")
    if len(value) > limit:
        value = truncate_text(value, limit, keep_end=keep_end)
    return _clean(value) if value or default is None else default


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _level(value: object) -> str:
    if type(value) is not str:
        raise EntryError(f"level is required: one of {_LEVEL_LIST}")
    level = LEVEL_NAMES.get(value.upper()) if len(value) <= MAX_LEVEL_CHARS else None
    if level is None:
        raise EntryError(f"level must be one of {_LEVEL_LIST}, got {value[:20]!r}")
    return level


def _event_id(value: object, index: int, event_ids: EventIdSource) -> str:
    if value is None:
        return event_ids(index)
    if type(value) is not str:
        raise EntryError(f"event_id must be a string, got {_json_type(value)}")
    if len(value) == 36:
        value = value.replace("-", "")
    if len(value) != 32 or _HEX32.fullmatch(value) is None:
        raise EntryError("event_id must be a UUID (32 hexadecimal digits)")
    return value.lower()


def _int(key: str, maximum: int, value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise EntryError(f"{key} must be an integer, got {_json_type(value)}")
    if not 0 <= value <= maximum:
        raise EntryError(f"{key} must be between 0 and {maximum}, got {value}")
    return value


def _text_or_int(key: str, limit: int, value: object) -> str | None:
    # The original SDKs send a thread name ("main", "MainThread") or an ident as a string
    # ("140245"); older clients an integer ident, which is kept as its decimal text.
    if value is None:
        return None
    if type(value) is str:
        if len(value) > limit:
            value = truncate_text(value, limit)
        return _clean(value)
    if type(value) is int:
        return str(value)
    raise EntryError(f"{key} must be a string or an integer, got {_json_type(value)}")


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def checked_extra(value: object) -> dict[str, Any] | None:
    """``extra`` as stored: a summary when its JSON is over the size limit or it holds more
    than :data:`MAX_EXTRA_KEYS` keys, NULs replaced.

    Raises :class:`EntryError` for a value nested deeper than :data:`MAX_EXTRA_DEPTH`
    (orjson's parser accepts more depth than its encoder can write back). The canonical
    path (:mod:`tracehub_server.api.canonical`) may also hand in an integer beyond 64 bits
    that orjson cannot write; it falls back to the general path on any error, and there
    the integer is a float.
    """
    if value is None:
        return None
    if not isinstance(value, dict):  # orjson makes plain dicts: the same as type() here
        raise EntryError(f"extra must be an object, got {_json_type(value)}")
    if not value:
        return value
    try:
        raw = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raw = b""  # too deep to encode at all (or, canonical path only, a huge integer)
    # Depth needs as many brackets: counting them (in C) spares the walk almost always.
    if not raw or raw.count(b"{") + raw.count(b"[") > MAX_EXTRA_DEPTH:
        if _too_deep(value):
            raise EntryError(
                f"extra is nested too deeply; at most {MAX_EXTRA_DEPTH} levels are stored"
            )
        if not raw:
            raise orjson.JSONEncodeError("extra holds a value orjson cannot write")
    if len(raw) > _EXTRA_BYTES:
        return _summary(raw)
    # Every key is written followed by '":', so this count bounds the keys from above: the
    # walk runs only for an extra that may hold too many (and is at most 16 KiB here).
    if raw.count(b'":') > MAX_EXTRA_KEYS and (keys := _key_count(value)) > MAX_EXTRA_KEYS:
        return {**_summary(raw), "_original_keys": keys}
    if b"\\u0000" in raw:
        cleaned: dict[str, Any] = _clean_json(value)
        return cleaned
    return value


def _summary(raw: bytes) -> dict[str, Any]:
    """What is stored instead of an ``extra`` over a limit: its size and its first KiB."""
    preview = raw[:EXTRA_PREVIEW_CHARS].decode("utf-8", "ignore")
    return {"_truncated": True, "_original_bytes": len(raw), "_preview": _clean(preview)}


def _key_count(value: dict[str, Any]) -> int:
    """Object keys in ``value`` at every depth (a walk without recursion, as _too_deep)."""
    count = 0
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        children: Iterable[Any] = node
        if isinstance(node, dict):
            count += len(node)
            children = node.values()
        stack.extend(c for c in children if isinstance(c, (dict, list)))
    return count


def _too_deep(value: dict[str, Any]) -> bool:
    """True if ``value`` nests deeper than :data:`MAX_EXTRA_DEPTH` (a walk without recursion:
    the value may be nested far beyond Python's recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXTRA_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


#: Lengths of "YYYY-MM-DDTHH:MM:SS+00:00" with no, 3 or 6 fractional digits.
_CANONICAL_UTC_LENGTHS = frozenset({25, 29, 32})


def is_canonical_utc(value: str) -> bool:
    """True for an ISO 8601 UTC time as the SDK (milliseconds) or ``isoformat()`` writes it.

    Meaningful for a value that also parses: the shape then guarantees that every supported
    Python's ``fromisoformat`` (the digest's parser) reads it, to the same instant.
    """
    return (
        len(value) in _CANONICAL_UTC_LENGTHS
        and value.endswith("+00:00")
        and value[10] == "T"
        and (len(value) == 25 or value[19] == ".")
    )


def _parse_timestamp(value: str) -> datetime:
    if len(value) > MAX_TIMESTAMP_CHARS:
        raise EntryError("timestamp is not an ISO 8601 date-time")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _lenient_iso(text, value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


# What Python 3.10's fromisoformat refuses but other clients write: a fraction of other than
# 3 or 6 digits (Java's nanoseconds), an offset without a colon (C's strftime %z).
_ISO = re.compile(
    r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(?:[.,](\d{1,9}))?(?:([+-]\d\d):?(\d\d)?)?"
)


def _lenient_iso(text: str, value: str) -> datetime:
    """``text`` read after rewriting its fraction to 6 digits and its offset to ``+HH:MM``."""
    match = _ISO.fullmatch(text)
    if match is not None:
        moment, fraction, hours, minutes = match.groups()
        fraction = "." + (fraction or "")[:6].ljust(6, "0")
        try:
            zone = f"{hours}:{minutes or '00'}" if hours else ""
            return datetime.fromisoformat(f"{moment}{fraction}{zone}")
        except ValueError:
            pass
    raise EntryError(f"timestamp is not an ISO 8601 date-time: {value[:40]!r}")


def _structured(check: Callable[[Any], Any], value: object) -> Any:
    """``exception`` or ``fingerprint``, bounded (:mod:`.structured`)."""
    try:
        return check(value)
    except StructureError as exc:
        raise EntryError(str(exc)) from None


#: Fields with a check of their own; the others are checked by their kind and limit.
_OWN_CHECKS: dict[str, Callable[[object], Any]] = {
    "extra": checked_extra,
    "exception": partial(_structured, checked_exception),
    "fingerprint": partial(_structured, checked_fingerprint),
}
#: Set by :meth:`EntryValidator._entry` itself (required, derived or the server's).
_SET_BY_ENTRY = frozenset(
    {"event_id", "timestamp", "received_at", "level", "message", "original_timestamp"}
)


def _check(field: Field) -> Callable[[object], Any]:
    """The check of one field of :data:`tracehub.entry.FIELDS`, from its kind and limit."""
    if field.name in _OWN_CHECKS:
        return _OWN_CHECKS[field.name]
    limit = limit_of(field.name)
    if field.kind == "integer":
        return partial(_int, field.name, limit)
    if field.kind == "string or integer":
        return partial(_text_or_int, field.name, limit)
    return partial(_text, field.name, limit, field.keep_end, field.default)


#: ``(name, check)`` of every other field, in ENTRY_KEYS order (the order errors are found).
_CHECKS = tuple((f.name, _check(f)) for f in FIELDS if f.name not in _SET_BY_ENTRY)
#: Every key of a validated entry, None: filled in place, so the keys keep ENTRY_KEYS order.
_TEMPLATE: dict[str, Any] = dict.fromkeys(ENTRY_KEYS)
_MESSAGE_CHARS = limit_of("message")


class EntryValidator:
    """Validates the entries of one request against one receive time.

    Built once per app with the retention; :meth:`validate` is called per request.
    """

    def __init__(self, *, retention_days: int) -> None:
        self._retention = timedelta(days=retention_days)

    def timestamp_range(self, now: datetime) -> tuple[datetime, datetime]:
        """The oldest and newest timestamps kept as sent when received at ``now``."""
        return now - self._retention, now + FUTURE_TOLERANCE

    def validate(
        self,
        items: list[Any],
        now: datetime,
        *,
        event_ids: EventIdSource = random_event_id,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Split ``items`` into validated entries and ``{"index", "error"}`` rejections.

        ``event_ids`` gives the id of an entry sent without one, by its index (the API
        passes a :class:`~tracehub_server.api.event_ids.RequestEventIds`).
        """
        received = now.isoformat()
        oldest, newest = self.timestamp_range(now)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                accepted.append(self._entry(item, received, oldest, newest, index, event_ids))
            except EntryError as exc:
                rejected.append({"index": index, "error": str(exc)})
        return accepted, rejected

    def _entry(
        self,
        item: object,
        received: str,
        oldest: datetime,
        newest: datetime,
        index: int,
        event_ids: EventIdSource,
    ) -> dict[str, Any]:
        if type(item) is not dict:
            raise EntryError(f"entry must be a JSON object, got {_json_type(item)}")
        level = _level(item.get("level"))
        message = item.get("message")
        if type(message) is not str:
            raise EntryError(
                "message is required"
                if message is None
                else f"message must be a string, got {_json_type(message)}"
            )
        if len(message) > _MESSAGE_CHARS:
            message = truncate_text(message, _MESSAGE_CHARS)
        entry = _TEMPLATE.copy()
        entry["timestamp"], entry["original_timestamp"] = self._timestamp(
            item.get("timestamp"), received, oldest, newest
        )
        entry["event_id"] = _event_id(item.get("event_id"), index, event_ids)
        entry["received_at"] = received
        entry["level"] = level
        entry["message"] = _clean(message)
        get = item.get
        for name, check in _CHECKS:
            entry[name] = check(get(name))
        return entry

    @staticmethod
    def _timestamp(
        value: object, received: str, oldest: datetime, newest: datetime
    ) -> tuple[str, str | None]:
        if value is None:
            return received, None
        if type(value) is not str:
            raise EntryError(f"timestamp must be an ISO 8601 string, got {_json_type(value)}")
        parsed = _parse_timestamp(value)
        if oldest <= parsed <= newest:
            # Re-formatting costs more than the rest of the check; a UTC time in the
            # SDK's or isoformat()'s shape already reads the same everywhere it goes.
            return (value if is_canonical_utc(value) else parsed.isoformat()), None
        return received, _clean(value)
