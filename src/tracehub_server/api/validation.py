"""Per-entry validation: a wire entry (parsed JSON object) becomes a validated entry dict.

Hand-written checks over the dicts orjson returns: this is the API's hot path, and plain
type checks cost a fraction of a pydantic model per entry (see ``bench/bench_server.py``).

A validated entry has exactly the keys of :data:`ENTRY_KEYS`, in that order (the queue's
contract, :mod:`tracehub_server.queue.messages`); optional ones may be None.
Rules (the docs' wire-format reference documents them):

* ``level`` and ``message`` are required; ``level`` is case-insensitive and accepts the
  aliases WARNING -> WARN and CRITICAL -> FATAL.
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

import operator
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from tracehub.limits import (
    MAX_ERROR_MESSAGE_CHARS,
    MAX_EXTRA_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_SHORT_FIELD_CHARS,
    MAX_STACK_TRACE_CHARS,
    MAX_TRACE_ID_CHARS,
    truncate_text,
)
from tracehub_server.api.event_ids import EventIdSource, random_event_id
from tracehub_server.api.structured import (
    StructureError,
    checked_exception,
    checked_fingerprint,
)
from tracehub_server.queue.messages import ENTRY_KEYS as ENTRY_KEYS  # re-exported

LEVELS = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "FATAL": "FATAL",
    "CRITICAL": "FATAL",
}
#: Timestamps later than receive time + this are replaced (clock skew beyond it is a bug).
FUTURE_TOLERANCE = timedelta(days=1)
#: Longer timestamp strings are not ISO 8601; refused before parsing.
MAX_TIMESTAMP_CHARS = 64
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
DEFAULT_SERVICE = "unknown"
DEFAULT_ENVIRONMENT = "unknown"

_MAX_INT32 = 2**31 - 1
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_REPLACEMENT = "\ufffd"


class EntryError(ValueError):
    """One entry is invalid; the message goes into the response's ``rejected`` list."""


def _clean(value: str) -> str:
    return value.replace("\x00", _REPLACEMENT) if "\x00" in value else value


def _text(entry: dict[str, Any], key: str, limit: int, *, keep_end: bool = False) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if type(value) is not str:
        raise EntryError(f"{key} must be a string, got {_json_type(value)}")
    if len(value) > limit:
        value = truncate_text(value, limit, keep_end=keep_end)
    return _clean(value)


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


def _int(value: object, key: str, maximum: int) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise EntryError(f"{key} must be an integer, got {_json_type(value)}")
    if not 0 <= value <= maximum:
        raise EntryError(f"{key} must be between 0 and {maximum}, got {value}")
    return value


def _thread_id(value: object) -> str | None:
    # The original SDKs send a thread name ("main", "MainThread") or an ident as a string
    # ("140245"); older clients an integer ident, which is kept as its decimal text.
    if value is None:
        return None
    if type(value) is str:
        if len(value) > MAX_SHORT_FIELD_CHARS:
            value = truncate_text(value, MAX_SHORT_FIELD_CHARS)
        return _clean(value)
    if type(value) is int:
        return str(value)
    raise EntryError(f"thread_id must be a string or an integer, got {_json_type(value)}")


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
    if len(raw) > MAX_EXTRA_BYTES:
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


# The text fields other than message, with their limits (in ENTRY_KEYS order).
_TEXT_LIMITS = (
    ("service", MAX_SHORT_FIELD_CHARS),
    ("environment", MAX_SHORT_FIELD_CHARS),
    ("host", MAX_SHORT_FIELD_CHARS),
    ("sdk_version", MAX_SHORT_FIELD_CHARS),
    ("module", MAX_SHORT_FIELD_CHARS),
    ("trace_id", MAX_TRACE_ID_CHARS),
    ("error_type", MAX_SHORT_FIELD_CHARS),
    ("error_message", MAX_ERROR_MESSAGE_CHARS),
    ("stack_trace", MAX_STACK_TRACE_CHARS),
)
_CANONICAL_LEVELS = frozenset({"DEBUG", "INFO", "WARN", "ERROR", "FATAL"})
_LOWER_HEX_DIGITS = "0123456789abcdef"
_ENTRY_KEY_COUNT = len(ENTRY_KEYS)
_from_iso = datetime.fromisoformat


#: Every key of a validated entry, None: a wire entry is laid over a copy of it (in C), so
#: missing optional keys come out None and the keys stay in ENTRY_KEYS order.
_TEMPLATE: dict[str, Any] = dict.fromkeys(ENTRY_KEYS)
#: Short text fields checked together against the smallest of their limits; a longer value
#: (rare) takes the general path, which applies each field's own limit.
_short_values = operator.itemgetter(
    "service", "environment", "host", "thread_id", "sdk_version", "module", "trace_id", "error_type"
)
_SHORT_LIMIT = min(MAX_SHORT_FIELD_CHARS, MAX_TRACE_ID_CHARS)
_STR_OR_NONE = frozenset({str, type(None)})


def _fast_entry(
    item: dict[str, Any], received: str, oldest: datetime, newest: datetime, nul_free: bool
) -> dict[str, Any] | None:
    """The validated entry if ``item`` is already in canonical form (what the SDK sends),
    else None for :meth:`EntryValidator._entry` to decide.

    Nothing is converted here -- only checked -- so every entry that needs a default, an
    alias, a truncation, a NUL replacement or an error message takes the general path and
    gets exactly its treatment (and its first error, in field order). An entry with a key
    that is not a validated entry's takes it too (it is dropped there).
    """
    if not nul_free:
        return None  # a NUL may hide in any string: the general path replaces it
    entry = _TEMPLATE.copy()
    entry.update(item)
    if len(entry) != _ENTRY_KEY_COUNT:
        return None
    level = entry["level"]
    message = entry["message"]
    event_id = entry["event_id"]
    if (
        type(level) is not str
        or level not in _CANONICAL_LEVELS
        or type(message) is not str
        or len(message) > MAX_MESSAGE_CHARS
        or type(event_id) is not str
        or len(event_id) != 32
        or event_id.strip(_LOWER_HEX_DIGITS)  # anything left is not a lower-case hex digit
    ):
        return None
    shorts = _short_values(entry)
    if not _STR_OR_NONE.issuperset(map(type, shorts)) or (
        max(map(len, filter(None, shorts)), default=0) > _SHORT_LIMIT
    ):
        return None
    error_message = entry["error_message"]
    if error_message is not None and (
        type(error_message) is not str or len(error_message) > MAX_ERROR_MESSAGE_CHARS
    ):
        return None
    stack_trace = entry["stack_trace"]
    if stack_trace is not None and (
        type(stack_trace) is not str or len(stack_trace) > MAX_STACK_TRACE_CHARS
    ):
        return None
    pid = entry["pid"]
    if pid is not None and (type(pid) is not int or not 0 <= pid <= _MAX_INT32):
        return None
    extra = entry["extra"]
    if extra is not None:
        if type(extra) is not dict:
            return None
        entry["extra"] = checked_extra(extra)
    if entry["exception"] is not None or entry["fingerprint"] is not None:
        try:
            entry["exception"] = checked_exception(entry["exception"])
            entry["fingerprint"] = checked_fingerprint(entry["fingerprint"])
        except StructureError:
            return None  # the general path says what is wrong
    sent = entry["timestamp"]
    if type(sent) is str and is_canonical_utc(sent):
        # What the SDK sends, checked inline: the general helper re-tests what the shape
        # already says (length, zone) and the calls cost more than the parse.
        try:
            parsed = _from_iso(sent)
        except ValueError:
            return None  # the general path says what is wrong with it
        if oldest <= parsed <= newest:
            entry["original_timestamp"] = None
        else:
            entry["timestamp"], entry["original_timestamp"] = received, sent
    else:
        entry["timestamp"], entry["original_timestamp"] = EntryValidator._timestamp(
            sent, received, oldest, newest
        )
    entry["received_at"] = received
    if not entry["service"]:
        entry["service"] = DEFAULT_SERVICE
    if not entry["environment"]:
        entry["environment"] = DEFAULT_ENVIRONMENT
    return entry


def _structured(item: dict[str, Any]) -> dict[str, Any]:
    """The entry's ``exception`` and ``fingerprint``, bounded (:mod:`.structured`)."""
    try:
        return {
            "exception": checked_exception(item.get("exception")),
            "fingerprint": checked_fingerprint(item.get("fingerprint")),
        }
    except StructureError as exc:
        raise EntryError(str(exc)) from None


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
        nul_free: bool = False,
        event_ids: EventIdSource = random_event_id,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Split ``items`` into validated entries and ``{"index", "error"}`` rejections.

        ``event_ids`` gives the id of an entry sent without one, by its index (the API
        passes a :class:`~tracehub_server.api.event_ids.RequestEventIds`).
        ``nul_free`` promises that no string in ``items`` holds a NUL character (true when
        the JSON they were parsed from has no ``\\u0000`` escape: JSON cannot carry a raw
        NUL), which spares a scan of every string.
        """
        received = now.isoformat()
        oldest, newest = self.timestamp_range(now)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                entry = None
                if type(item) is dict:
                    entry = _fast_entry(item, received, oldest, newest, nul_free)
                if entry is None:
                    entry = self._entry(item, received, oldest, newest, index, event_ids)
                accepted.append(entry)
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
        level = item.get("level")
        if type(level) is not str:
            raise EntryError("level is required: one of DEBUG, INFO, WARN, ERROR, FATAL")
        normalised = LEVELS.get(level.upper()) if len(level) <= 8 else None
        if normalised is None:
            raise EntryError(
                f"level must be one of DEBUG, INFO, WARN, ERROR, FATAL, got {level[:20]!r}"
            )
        message = item.get("message")
        if type(message) is not str:
            raise EntryError(
                "message is required"
                if message is None
                else f"message must be a string, got {_json_type(message)}"
            )
        if len(message) > MAX_MESSAGE_CHARS:
            message = truncate_text(message, MAX_MESSAGE_CHARS)
        timestamp, original = self._timestamp(item.get("timestamp"), received, oldest, newest)
        return {
            "event_id": _event_id(item.get("event_id"), index, event_ids),
            "timestamp": timestamp,
            "received_at": received,
            "level": normalised,
            "service": _text(item, "service", MAX_SHORT_FIELD_CHARS) or DEFAULT_SERVICE,
            "environment": _text(item, "environment", MAX_SHORT_FIELD_CHARS) or DEFAULT_ENVIRONMENT,
            "message": _clean(message),
            "host": _text(item, "host", MAX_SHORT_FIELD_CHARS),
            "pid": _int(item.get("pid"), "pid", _MAX_INT32),
            "thread_id": _thread_id(item.get("thread_id")),
            "sdk_version": _text(item, "sdk_version", MAX_SHORT_FIELD_CHARS),
            "module": _text(item, "module", MAX_SHORT_FIELD_CHARS),
            "trace_id": _text(item, "trace_id", MAX_TRACE_ID_CHARS),
            "error_type": _text(item, "error_type", MAX_SHORT_FIELD_CHARS),
            "error_message": _text(item, "error_message", MAX_ERROR_MESSAGE_CHARS),
            "stack_trace": _text(item, "stack_trace", MAX_STACK_TRACE_CHARS, keep_end=True),
            "extra": checked_extra(item.get("extra")),
            "original_timestamp": original,
            **_structured(item),
        }

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
