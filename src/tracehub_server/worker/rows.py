"""Validated entries to log rows in Python, for the COPY.

Levels, aliases and defaults are the entry's (:mod:`tracehub.entry`); entries arrive as
value arrays in its ``ENTRY_KEYS`` order (or, in process, as dicts with those keys).

Every entry is converted field by field and every oddity is repaired or counted (see the
digest's module docstring): :func:`prepare` accepts anything a queue message may hold.
:func:`prepare_lean` is the usual path: entries exactly as the API writes them become rows
by position, and the digest falls back to :func:`prepare` for anything else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any

import orjson

from tracehub.entry import FATAL, FIELD, LEVEL_NAMES, LEVELS
from tracehub_server.grouping import fingerprint, title
from tracehub_server.grouping.fingerprint import GROUPING_VERSION, previous_fingerprints
from tracehub_server.queue.messages import IngestBatch, entry_dict, entry_values
from tracehub_server.storage.issues import ERROR_LEVELS, IssueCandidate
from tracehub_server.storage.logs import EPOCH, MICROSECOND
from tracehub_server.storage.partitions import day_of

_LEVELS = frozenset(LEVELS)
_DEFAULT_SERVICE = FIELD["service"].default
_DEFAULT_ENVIRONMENT = FIELD["environment"].default
_EVENT_ID = re.compile(r"[0-9a-f]{32}")
_MAX_INT4 = 2**31 - 1


class Prepared:
    """Rows ready for COPY plus, for error rows, the issue each belongs to."""

    __slots__ = ("candidates", "days", "error_rows", "invalid", "rows", "skipped")

    def __init__(self) -> None:
        self.skipped = 0  # replaced-timestamp rows found stored already
        self.rows: list[list[Any]] = []
        self.error_rows: list[tuple[int, tuple[int, str]]] = []  # (row index, issue key)
        self.candidates: dict[tuple[int, str], IssueCandidate] = {}
        self.days: set[date] = set()
        self.invalid = 0


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if not isinstance(value, str):
        return None
    try:
        # The API's own format parses directly; "Z" needs the replace on Python < 3.11.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class Times(dict[str, "datetime | None"]):
    """Parsed times of one digest by their text: a request's entries share one
    ``received_at``, and a burst of logs shares timestamps."""

    def parse(self, value: Any) -> datetime | None:
        if type(value) is not str:
            return _parse_time(value)
        parsed = self.get(value, _MISSING)
        if parsed is _MISSING:
            parsed = self[value] = _parse_time(value)
        return parsed


_MISSING: Any = object()


def _text(value: Any) -> str | None:
    """A string PostgreSQL accepts: no NUL, no lone surrogate."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _int(value: Any, limit: int) -> int | None:
    if type(value) is int and -limit - 1 <= value <= limit:
        return value
    return None


def _thread_id(value: Any) -> str | None:
    """The thread as text: a name as sent, or an integer ident (older messages) in decimal."""
    if value is None or isinstance(value, bool):
        return None
    return _text(value)


def _extra(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"value": value}
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return None
    # jsonb rejects \u0000; replacing the escape keeps everything else intact.
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def _json(value: Any, kind: type) -> str | None:
    """``exception`` (a dict) or ``fingerprint`` (a list) as JSON text; None if not that."""
    if type(value) is not kind or not value:
        return None
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return None
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def _custom(value: Any) -> tuple[str, ...] | None:
    """A custom fingerprint as the grouping takes it: a tuple of strings, or None."""
    if type(value) is list and value and all(type(part) is str for part in value):
        return tuple(value)
    return None


def _event_id(entry: dict[str, Any], project_id: int) -> str:
    value = entry.get("event_id")
    if type(value) is str and len(value) == 32 and _EVENT_ID.fullmatch(value):
        return value  # as the API writes it
    if isinstance(value, str):
        value = value.replace("-", "").lower()
        if _EVENT_ID.fullmatch(value):
            return value
    # Deterministic, so a redelivery of the same entry gets the same id and is deduplicated.
    body = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(b"%d:" % project_id + body).hexdigest()[:32]


def _level(value: Any) -> str | None:
    if type(value) is str and value in _LEVELS:
        return value
    if not isinstance(value, str):
        return None
    return LEVEL_NAMES.get(value.strip().upper())


def to_row(project_id: int, entry: dict[str, Any], now: datetime, times: Times) -> list[Any] | None:
    """The log row of ``entry`` (columns of ``LOG_COLUMNS``), None when it cannot be stored."""
    get = entry.get
    timestamp = times.parse(get("timestamp"))
    level = _level(get("level"))
    if timestamp is None or level is None:
        return None
    received_at = times.parse(get("received_at")) or now
    return [
        project_id,
        timestamp,
        _event_id(entry, project_id),
        received_at,
        level,
        _text(get("service")) or _DEFAULT_SERVICE,
        _text(get("environment")) or _DEFAULT_ENVIRONMENT,
        _text(get("host")),
        _int(get("pid"), _MAX_INT4),
        _thread_id(get("thread_id")),
        _text(get("sdk_version")),
        _text(get("message")) or "",
        _text(get("module")),
        _text(get("trace_id")),
        _text(get("error_type")),
        _text(get("error_message")),
        _text(get("stack_trace")),
        _extra(get("extra")),
        _text(get("original_timestamp")),
        None,
        _json(get("exception"), dict),
        _json(get("fingerprint"), list),
    ]


# Column positions in a row (see storage.logs.LOG_COLUMNS).
TS, EID, LEVEL, _SERVICE, _MESSAGE = 1, 2, 4, 5, 11
_ERROR_TYPE, _ERROR_MESSAGE, _STACK, ORIGINAL = 14, 15, 16, 18


def group(
    prepared: Prepared,
    index: int,
    row: list[Any],
    moment: datetime | None = None,
    custom: tuple[str, ...] | None = None,
) -> None:
    """Fingerprint the error row at ``index`` and fold it into its issue candidate
    (``moment``: the row's time when the row holds it in microseconds; ``custom``: the
    entry's own fingerprint)."""
    ts = row[TS] if moment is None else moment
    project_id = row[0]
    error_message = row[_ERROR_MESSAGE] or row[_MESSAGE]
    key = (
        project_id,
        fingerprint(project_id, row[_ERROR_TYPE], error_message, row[_STACK], custom),
    )
    prepared.error_rows.append((index, key))
    seen = prepared.candidates.get(key)
    if seen is None:
        prepared.candidates[key] = IssueCandidate(
            project_id=project_id,
            fingerprint=key[1],
            fallbacks=previous_fingerprints(
                project_id, row[_ERROR_TYPE], error_message, row[_STACK], custom
            ),
            grouping_version=GROUPING_VERSION,
            title=title(row[_ERROR_TYPE], row[_ERROR_MESSAGE], row[_MESSAGE]),
            level=row[LEVEL],
            error_type=row[_ERROR_TYPE],
            error_message=error_message,
            sample_stack_trace=row[_STACK],
            sample_event_id=row[EID],
            service=row[_SERVICE],
            first_seen=ts,
            last_seen=ts,
        )
        return
    seen.first_seen = min(seen.first_seen, ts)
    seen.last_seen = max(seen.last_seen, ts)
    if row[LEVEL] == FATAL:
        seen.level = FATAL


def prepare(batches: Sequence[IngestBatch], now: datetime) -> Prepared:
    """Convert entries to rows and fingerprint the errors (pure Python, no database)."""
    prepared = Prepared()
    rows = prepared.rows
    times = Times()
    for batch in batches:
        for item in batch.entries:
            entry = entry_dict(item)
            row = None if entry is None else to_row(batch.project_id, entry, now, times)
            if entry is None or row is None:
                prepared.invalid += 1
                continue
            if row[LEVEL] in ERROR_LEVELS:
                group(prepared, len(rows), row, None, _custom(entry.get("fingerprint")))
            rows.append(row)
    prepared.days = {day_of(row[TS]) for row in rows}
    return prepared


_QUIET_LEVELS = _LEVELS - ERROR_LEVELS
_from_iso = datetime.fromisoformat


def prepare_lean(batches: Sequence[IngestBatch], now: datetime) -> Prepared | None:
    """:func:`prepare` for entries exactly as the API writes them, or None for any other.

    An entry's values in :data:`~tracehub_server.queue.messages.ENTRY_KEYS` order (a
    version-3 message carries them so; a dict gives them in one ``itemgetter`` call)
    become a row by position: taken as they are (the API validated and cleaned them), only
    the times parsed and ``extra`` dumped, instead of a check and a repair per field (errors
    are fingerprinted as by :func:`prepare`). A value the COPY cannot encode or PostgreSQL
    refuses (a NUL, an integer out of range, a malformed id, a string where a number goes)
    raises when the rows are written, and the digest starts over on the general path. So
    does an integer ``thread_id``, which the API never writes.
    """
    prepared = Prepared()
    rows = prepared.rows
    times = Times()
    parse = times.parse
    days = prepared.days
    dumps = orjson.dumps
    utc = timezone.utc
    received_micros: dict[Any, int] = {}  # a request's entries share one receive time
    try:
        for batch in batches:
            project_id = batch.project_id
            for entry in batch.entries:
                (eid, ts, received, level, service, env, message, host, pid, tid, sdk, module,
                 trace, etype, emsg, stack, extra, original, exception, custom) = (
                    entry if type(entry) is list else entry_values(entry)
                )  # fmt: skip
                timestamp = _from_iso(ts)
                if timestamp.tzinfo is utc:
                    days.add(timestamp.date())
                elif timestamp.tzinfo is None:  # naive: the general path assumes UTC
                    return None
                else:
                    days.add(day_of(timestamp))
                # asyncpg would take an id in braces, or a bool as 0/1; the general path
                # reads both otherwise.
                if (
                    type(eid) is not str
                    or len(eid) != 32
                    or (pid is not None and type(pid) is not int)
                    or (tid is not None and type(tid) is not str)
                ):
                    return None
                if extra is not None:
                    if type(extra) is not dict:
                        return None
                    extra = dumps(extra).decode()
                micros = received_micros.get(received)
                if micros is None:
                    moment = parse(received) if received else now
                    if moment is None:  # unparsable: the general path uses the clock
                        return None
                    micros = received_micros[received] = (moment - EPOCH) // MICROSECOND
                row = [project_id, (timestamp - EPOCH) // MICROSECOND, eid, micros, level,
                       service or _DEFAULT_SERVICE, env or _DEFAULT_ENVIRONMENT, host, pid, tid,
                       sdk, message or "",
                       module, trace, etype, emsg, stack, extra, original, None,
                       None if exception is None else dumps(exception).decode(),
                       None if custom is None else dumps(custom).decode()]  # fmt: skip
                if level not in _QUIET_LEVELS:
                    if level not in ERROR_LEVELS:
                        return None
                    group(prepared, len(rows), row, timestamp, _custom(custom))
                rows.append(row)
    except (AttributeError, KeyError, TypeError, ValueError, orjson.JSONEncodeError):
        # Not the API's form: a key missing, not an object, a time, extra or error field
        # that only the general path can repair.
        return None
    return prepared
