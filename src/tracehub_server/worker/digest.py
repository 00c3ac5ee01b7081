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

How: entries in the API's validated form become rows by position, without a check per
field (:func:`~tracehub_server.worker.rows.prepare_lean`); a digest holding anything else --
or a value the COPY or PostgreSQL refuses -- starts over on the general path, which repairs
or skips each oddity (:func:`~tracehub_server.worker.rows.prepare`).

Entries that cannot be stored at all (no parsable timestamp, unknown level — impossible for
batches the API validated) are skipped and counted in ``DigestResult.invalid`` rather than
failing the batch forever.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import asyncpg

from tracehub.entry import FATAL
from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.alert_outbox import queue_issue_triggers
from tracehub_server.storage.issues import (
    IssueEvents,
    add_issue_events,
    delete_empty_issues,
    resolve_issue_ids,
)
from tracehub_server.storage.logs import (
    EPOCH,
    ISSUE_ID,
    MICROSECOND,
    find_stored_replacements,
    insert_logs,
)
from tracehub_server.storage.partitions import ensure_partitions, forget
from tracehub_server.storage.rollups import bump_issue_hourly_counts
from tracehub_server.worker.rows import EID, ORIGINAL, TS, Prepared, prepare, prepare_lean

#: What writing rows of :func:`prepare_lean` raises for a value only the general path can
#: store: the COPY's encoders (a string where a number goes, an integer out of range, a
#: malformed uuid, a lone surrogate) and PostgreSQL (NUL, a NULL in a NOT NULL column).
_NOT_LEAN = (
    TypeError,
    ValueError,
    OverflowError,
    asyncpg.DataError,
    asyncpg.NotNullViolationError,
)

__all__ = ["DigestResult", "digest", "prepare", "prepare_lean"]

logger = logging.getLogger(__name__)


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


def _moment(value: datetime | int) -> datetime:
    """A row's time as a datetime (the lean path holds it in microseconds)."""
    return value if isinstance(value, datetime) else EPOCH + value * MICROSECOND


async def _stored_replacements(conn: asyncpg.Connection, rows: list[list[Any]]) -> set[int]:
    """Indexes of rows whose timestamp was replaced and that are stored already (or twice here).

    The unique key holds the timestamp, and a retried entry whose timestamp the API
    replaced carries another receive time: matched instead by project, event id and the
    sent timestamp (see :func:`~tracehub_server.storage.logs.find_stored_replacements`).
    """
    keys = [
        (row[0], row[EID], row[ORIGINAL], _moment(row[TS]))
        for row in rows
        if row[ORIGINAL] is not None
    ]
    if not keys:
        return set()
    stored = await find_stored_replacements(conn, keys)
    dropped: set[int] = set()
    for index, row in enumerate(rows):
        if row[ORIGINAL] is not None:
            key = (row[0], row[EID], row[ORIGINAL])
            if key in stored:
                dropped.add(index)
            stored.add(key)  # a second copy within these batches is a duplicate too
    return dropped


async def _skip_stored_replacements(conn: asyncpg.Connection, prepared: Prepared) -> None:
    """Drop the rows :func:`_stored_replacements` finds from ``prepared``."""
    dropped = await _stored_replacements(conn, prepared.rows)
    if not dropped:
        return
    kept: list[list[Any]] = []
    new_index: dict[int, int] = {}
    for index, row in enumerate(prepared.rows):
        if index not in dropped:
            new_index[index] = len(kept)
            kept.append(row)
    prepared.skipped += len(dropped)
    prepared.rows = kept
    prepared.error_rows = [(new_index[i], k) for i, k in prepared.error_rows if i in new_index]


@dataclass(frozen=True, slots=True)
class _IssueCounts:
    regressions: int
    created: int
    updated: int


async def _count_issue_events(
    conn: asyncpg.Connection, new_rows: list[asyncpg.Record], created: set[int]
) -> _IssueCounts:
    """Count the new error rows into their issues and hourly counts; drop issues left empty."""
    per_issue: dict[int, list[Any]] = {}  # id -> [count, first, last, fatal]
    per_hour: dict[tuple[int, datetime], int] = {}
    for record in new_rows:
        issue_id = record["issue_id"]
        ts = record["timestamp"]
        agg = per_issue.get(issue_id)
        if agg is None:
            per_issue[issue_id] = [1, ts, ts, record["level"] == FATAL]
        else:
            agg[0] += 1
            agg[1] = min(agg[1], ts)
            agg[2] = max(agg[2], ts)
            agg[3] = agg[3] or record["level"] == FATAL
        hour = ts.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        per_hour[(issue_id, hour)] = per_hour.get((issue_id, hour), 0) + 1

    reopened = await add_issue_events(
        conn,
        [IssueEvents(i, a[0], a[1], a[2], a[3]) for i, a in per_issue.items()],
    )
    await bump_issue_hourly_counts(conn, [(i, h, n) for (i, h), n in per_hour.items()])
    empty = created - per_issue.keys()
    await delete_empty_issues(conn, sorted(empty))
    # The alert outbox commits or rolls back with the issues it reports.
    await queue_issue_triggers(conn, sorted(created - empty), reopened)
    return _IssueCounts(len(reopened), len(created) - len(empty), len(per_issue.keys() - created))


async def _write(conn: asyncpg.Connection, prepared: Prepared) -> DigestResult:
    async with conn.transaction():
        await _skip_stored_replacements(conn, prepared)
        rows = prepared.rows
        ids, created = await resolve_issue_ids(conn, list(prepared.candidates.values()))
        for index, key in prepared.error_rows:
            rows[index][ISSUE_ID] = ids[key]
        inserted, new_rows = await insert_logs(conn, rows)
        issues = await _count_issue_events(conn, new_rows, created)
    return DigestResult(
        inserted=inserted,
        duplicates=len(rows) - inserted + prepared.skipped,
        invalid=prepared.invalid,
        issues_created=issues.created,
        issues_updated=issues.updated,
        regressions=issues.regressions,
    )


def _is_missing_partition(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.CheckViolationError) and "no partition" in str(exc)


async def _with_partitions(
    conn: asyncpg.Connection, days: set[date], write: Callable[[], Awaitable[DigestResult]]
) -> DigestResult:
    """Run ``write`` once the ``days`` have partitions; again once if one vanished meanwhile."""
    await ensure_partitions(conn, days)
    try:
        return await write()
    except asyncpg.CheckViolationError as exc:
        if not _is_missing_partition(exc):
            raise
    logger.warning("a log partition disappeared during the digest; recreating it")
    forget(conn, days)
    await ensure_partitions(conn, days)
    return await write()


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
    moment = now()
    lean = prepare_lean(batches, moment)
    async with pool.acquire() as conn:
        if lean is not None:
            if not lean.rows:
                return DigestResult()
            try:
                return await _with_partitions(conn, lean.days, lambda: _write(conn, lean))
            except _NOT_LEAN as exc:  # rolled back: the general path repairs or skips
                logger.info("an entry needs the general digest path (%s)", exc)
        prepared = prepare(batches, moment)
        if not prepared.rows:
            return DigestResult(invalid=prepared.invalid)
        return await _with_partitions(conn, prepared.days, lambda: _write(conn, prepared))
