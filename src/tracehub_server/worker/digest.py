"""The digest: one transaction that turns validated ingest batches into rows and issues.

Guarantees, kept here:

* **All or nothing.** Everything for the given batches (logs, rollups, issues) is written in
  one transaction. If anything fails it rolls back and the exception propagates: the caller
  must not acknowledge the messages, and their redelivery is digested from scratch.
* **Exactly-once effect.** Log rows are inserted with ``ON CONFLICT DO NOTHING`` on
  (event_id, project_id, timestamp) and only the rows actually inserted are counted, in
  ``hourly_counts``, ``issue_hourly_counts`` and ``issues.event_count``. A batch digested
  twice (a worker killed before its ack, an SDK retrying a batch the server had taken)
  changes nothing the second time. A retried entry whose timestamp the API replaced by the
  receive time carries another timestamp, so it is matched by project, event id and sent
  timestamp instead (see :func:`_skip_stored_replacements`).
* **No deadlocks, no lost increments.** Every lock is taken in one global order
  (replaced-timestamp events by key, issues by fingerprint, logs by unique key, rollups by
  key, issues by id) and counts are added under
  row locks (see :mod:`tracehub_server.storage.issues`).
* **No missing partition.** The days the rows need are ensured before the transaction; if a
  partition vanishes in between (retention on another process), it is recreated and the
  transaction retried once.

Entries that cannot be stored at all (no parsable timestamp, unknown level — impossible for
batches the API validated) are skipped and counted in ``DigestResult.invalid`` rather than
failing the batch forever.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import asyncpg
import orjson

from tracehub_server.grouping import fingerprint, title
from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.issues import (
    ERROR_LEVELS,
    IssueCandidate,
    IssueEvents,
    add_issue_events,
    delete_empty_issues,
    resolve_issue_ids,
)
from tracehub_server.storage.logs import ISSUE_ID, find_stored_replacements, insert_logs
from tracehub_server.storage.partitions import day_of, ensure_partitions, forget
from tracehub_server.storage.rollups import bump_issue_hourly_counts

logger = logging.getLogger(__name__)

_LEVELS = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
_LEVEL_ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_EVENT_ID = re.compile(r"[0-9a-f]{32}")
_MAX_INT4 = 2**31 - 1
_MAX_INT8 = 2**63 - 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class DigestResult:
    """What one digest wrote: new rows, duplicates skipped, issues created/updated."""

    inserted: int = 0
    duplicates: int = 0
    invalid: int = 0
    issues_created: int = 0
    issues_updated: int = 0
    regressions: int = 0


class _Prepared:
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


class _Times(dict[str, "datetime | None"]):
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
    level = value.strip().upper()
    level = _LEVEL_ALIASES.get(level, level)
    return level if level in _LEVELS else None


def _row(project_id: int, entry: dict[str, Any], now: datetime, times: _Times) -> list[Any] | None:
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
        _text(get("service")) or "unknown",
        _text(get("environment")) or "unknown",
        _text(get("host")),
        _int(get("pid"), _MAX_INT4),
        _int(get("thread_id"), _MAX_INT8),
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
    ]


# Column positions in a row (see storage.logs.LOG_COLUMNS).
_TS, _EID, _LEVEL, _SERVICE, _MESSAGE = 1, 2, 4, 5, 11
_ERROR_TYPE, _ERROR_MESSAGE, _STACK, _ORIGINAL = 14, 15, 16, 18


def _group(prepared: _Prepared, index: int, row: list[Any]) -> None:
    project_id = row[0]
    error_message = row[_ERROR_MESSAGE] or row[_MESSAGE]
    key = (project_id, fingerprint(project_id, row[_ERROR_TYPE], error_message, row[_STACK]))
    prepared.error_rows.append((index, key))
    seen = prepared.candidates.get(key)
    if seen is None:
        prepared.candidates[key] = IssueCandidate(
            project_id=project_id,
            fingerprint=key[1],
            title=title(row[_ERROR_TYPE], row[_ERROR_MESSAGE], row[_MESSAGE]),
            level=row[_LEVEL],
            error_type=row[_ERROR_TYPE],
            error_message=error_message,
            sample_stack_trace=row[_STACK],
            sample_event_id=row[_EID],
            service=row[_SERVICE],
            first_seen=row[_TS],
            last_seen=row[_TS],
        )
        return
    seen.first_seen = min(seen.first_seen, row[_TS])
    seen.last_seen = max(seen.last_seen, row[_TS])
    if row[_LEVEL] == "FATAL":
        seen.level = "FATAL"


def prepare(batches: Sequence[IngestBatch], now: datetime) -> _Prepared:
    """Convert entries to rows and fingerprint the errors (pure Python, no database)."""
    prepared = _Prepared()
    rows = prepared.rows
    times = _Times()
    for batch in batches:
        for entry in batch.entries:
            row = _row(batch.project_id, entry, now, times) if isinstance(entry, dict) else None
            if row is None:
                prepared.invalid += 1
                continue
            if row[_LEVEL] in ERROR_LEVELS:
                _group(prepared, len(rows), row)
            rows.append(row)
    prepared.days = {day_of(row[_TS]) for row in rows}
    return prepared


async def _skip_stored_replacements(conn: asyncpg.Connection, prepared: _Prepared) -> None:
    """Drop rows whose timestamp was replaced and that are stored already (or twice here).

    The unique key holds the timestamp, and a retried entry whose timestamp the API
    replaced carries another receive time: matched instead by project, event id and the
    sent timestamp (see :func:`~tracehub_server.storage.logs.find_stored_replacements`).
    """
    rows = prepared.rows
    keys = [
        (row[0], row[_EID], row[_ORIGINAL], row[_TS]) for row in rows if row[_ORIGINAL] is not None
    ]
    if not keys:
        return
    stored = await find_stored_replacements(conn, keys)
    kept: list[list[Any]] = []
    new_index: dict[int, int] = {}
    for index, row in enumerate(rows):
        if row[_ORIGINAL] is not None:
            key = (row[0], row[_EID], row[_ORIGINAL])
            if key in stored:
                continue
            stored.add(key)  # a second copy within these batches is a duplicate too
        new_index[index] = len(kept)
        kept.append(row)
    if len(kept) == len(rows):
        return
    prepared.skipped += len(rows) - len(kept)
    prepared.rows = kept
    prepared.error_rows = [(new_index[i], k) for i, k in prepared.error_rows if i in new_index]


async def _write(conn: asyncpg.Connection, prepared: _Prepared) -> DigestResult:
    async with conn.transaction():
        await _skip_stored_replacements(conn, prepared)
        rows = prepared.rows
        ids, created = await resolve_issue_ids(conn, list(prepared.candidates.values()))
        for index, key in prepared.error_rows:
            rows[index][ISSUE_ID] = ids[key]
        inserted, new_rows = await insert_logs(conn, rows)

        per_issue: dict[int, list[Any]] = {}  # id -> [count, first, last, fatal]
        per_hour: dict[tuple[int, datetime], int] = {}
        for record in new_rows:
            issue_id = record["issue_id"]
            ts = record["timestamp"]
            agg = per_issue.get(issue_id)
            if agg is None:
                per_issue[issue_id] = [1, ts, ts, record["level"] == "FATAL"]
            else:
                agg[0] += 1
                agg[1] = min(agg[1], ts)
                agg[2] = max(agg[2], ts)
                agg[3] = agg[3] or record["level"] == "FATAL"
            hour = ts.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
            per_hour[(issue_id, hour)] = per_hour.get((issue_id, hour), 0) + 1

        regressions = await add_issue_events(
            conn,
            [IssueEvents(i, a[0], a[1], a[2], a[3]) for i, a in per_issue.items()],
        )
        await bump_issue_hourly_counts(conn, [(i, h, n) for (i, h), n in per_hour.items()])
        empty = created - per_issue.keys()
        await delete_empty_issues(conn, sorted(empty))
    return DigestResult(
        inserted=inserted,
        duplicates=len(rows) - inserted + prepared.skipped,
        invalid=prepared.invalid,
        issues_created=len(created) - len(empty),
        issues_updated=len(per_issue.keys() - created),
        regressions=regressions,
    )


def _is_missing_partition(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.CheckViolationError) and "no partition" in str(exc)


async def digest(
    pool: asyncpg.Pool,
    batches: Sequence[IngestBatch],
    *,
    now: Callable[[], datetime] = utcnow,
) -> DigestResult:
    """Store ``batches`` in one transaction; see the module docstring for the guarantees.

    Raises whatever the database raised if the transaction could not commit; nothing of
    the batches is stored then.
    """
    prepared = prepare(batches, now())
    if not prepared.rows:
        return DigestResult(invalid=prepared.invalid)
    async with pool.acquire() as conn:
        await ensure_partitions(conn, prepared.days)
        try:
            return await _write(conn, prepared)
        except asyncpg.CheckViolationError as exc:
            if not _is_missing_partition(exc):
                raise
            logger.warning("a log partition disappeared during the digest; recreating it")
            forget(conn, prepared.days)
            await ensure_partitions(conn, prepared.days)
            for index, _ in prepared.error_rows:
                prepared.rows[index][ISSUE_ID] = None
            return await _write(conn, prepared)
