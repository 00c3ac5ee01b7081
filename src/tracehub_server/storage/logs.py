"""Bulk log writes: COPY into a session staging table, then one INSERT ... SELECT.

Why staging: COPY is the fastest way into PostgreSQL but cannot skip duplicates, and
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` can. Staging gets the rows in with COPY, the
insert moves them into ``logs`` skipping any (event_id, project_id, timestamp) already
stored, and RETURNING tells the caller exactly which rows are new, so counts and issues are
bumped once per event however often a batch is delivered.

The staging table is a per-session temporary table with ``ON COMMIT DELETE ROWS``: created
once per connection, emptied by every commit, never WAL-logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from tracehub_server.storage.rollups import HOURLY_COUNTS_FROM_INSERTED

#: Column order of a log row as given to :func:`insert_logs` (the order of ``logs``).
LOG_COLUMNS = (
    "project_id",
    "timestamp",
    "event_id",
    "received_at",
    "level",
    "service",
    "environment",
    "host",
    "pid",
    "thread_id",
    "sdk_version",
    "message",
    "module",
    "trace_id",
    "error_type",
    "error_message",
    "stack_trace",
    "extra",
    "original_timestamp",
    "issue_id",
    "exception",
    "fingerprint",
)
#: Columns given as JSON text (cast to jsonb by the insert).
JSON_COLUMNS = frozenset({"extra", "exception", "fingerprint"})
#: Index of ``issue_id`` in a row (the digest fills it in for grouped errors).
ISSUE_ID = LOG_COLUMNS.index("issue_id")

#: Positions of the two times in a row.
TIMESTAMP, RECEIVED_AT = LOG_COLUMNS.index("timestamp"), LOG_COLUMNS.index("received_at")
#: The Unix epoch, and one microsecond: a row may give its times as
#: ``(moment - EPOCH) // MICROSECOND`` (see :func:`insert_logs`).
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)

# Renamed whenever its columns change: a session's temporary table outlives a migration.
_STAGING = "tracehub_logs_staging_us_tid_text"

# extra arrives as JSON text: asyncpg's COPY is binary and the pool's jsonb codec is text.
# The times arrive as microseconds since the Unix epoch: asyncpg's binary encoder for a
# datetime costs about four times what the subtraction does, and PostgreSQL turns the
# integer back into a timestamptz with integer arithmetic.
_CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (
    project_id bigint, "timestamp" bigint, event_id uuid, received_at bigint,
    level text, service text, environment text, host text, pid integer, thread_id text,
    sdk_version text, message text, module text, trace_id text, error_type text,
    error_message text, stack_trace text, extra text, original_timestamp text, issue_id bigint,
    exception text, fingerprint text
) ON COMMIT DELETE ROWS
"""

_COLUMN_LIST = ", ".join(f'"{c}"' for c in LOG_COLUMNS)
_FROM_MICROS = "timestamptz 'epoch' + {} * interval '1 microsecond'"
_SELECT_LIST = ", ".join(
    f"{c}::jsonb"
    if c in JSON_COLUMNS
    else _FROM_MICROS.format(f'"{c}"')
    if c in ("timestamp", "received_at")
    else f'"{c}"'
    for c in LOG_COLUMNS
)

# Sorted by the unique key: two transactions inserting overlapping events (a redelivery
# racing the original) wait on each other's index entries in one order, never in a cycle.
_MOVE = f"""
WITH ins AS (
    INSERT INTO logs ({_COLUMN_LIST})
    SELECT {_SELECT_LIST} FROM {_STAGING}
    ORDER BY event_id, project_id, "timestamp"
    ON CONFLICT (event_id, project_id, "timestamp") DO NOTHING
    RETURNING project_id, "timestamp", level, service, environment, issue_id
), rollup AS ({HOURLY_COUNTS_FROM_INSERTED})
SELECT t.inserted, e.issue_id, e."timestamp", e.level
FROM (SELECT count(*) AS inserted FROM ins) t
LEFT JOIN ins e ON e.issue_id IS NOT NULL
"""  # noqa: S608 - assembled from module constants, never from input


def _with_micros(row: Sequence[Any]) -> list[Any]:
    converted = list(row)
    converted[TIMESTAMP] = (row[TIMESTAMP] - EPOCH) // MICROSECOND
    converted[RECEIVED_AT] = (row[RECEIVED_AT] - EPOCH) // MICROSECOND
    return converted


async def insert_logs(
    conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]
) -> tuple[int, list[asyncpg.Record]]:
    """Store rows not stored yet and bump ``hourly_counts`` for them.

    Returns how many rows were new, and for the new rows that belong to an issue a record
    with ``issue_id``, ``timestamp`` and ``level`` (duplicates are absent; rows without an
    issue are only counted -- sending them back would cost more than the insert's
    bookkeeping). Must run inside the caller's transaction; every partition the rows need
    must exist (see :mod:`tracehub_server.storage.partitions`).

    ``timestamp`` and ``received_at`` are aware datetimes, or in every row microseconds
    since :data:`EPOCH` (ints; the cheaper form, see ``_CREATE_STAGING``).
    """
    if not rows:
        return 0, []
    if type(rows[0][TIMESTAMP]) is not int:
        rows = [_with_micros(row) for row in rows]
    await conn.execute(_CREATE_STAGING)
    await conn.copy_records_to_table(_STAGING, records=rows, columns=LOG_COLUMNS)
    result = await conn.fetch(_MOVE)
    inserted = result[0]["inserted"]
    return inserted, [r for r in result if r["issue_id"] is not None]


#: Advisory lock buckets for replaced-timestamp events. Bucketed, so a client whose clock
#: is off (every entry replaced) takes a few locks per transaction, not one per entry from
#: PostgreSQL's shared lock table; a collision only serialises two digests briefly.
REPLACED_LOCK_BUCKETS = 64
#: How far apart two copies of one retried entry may have been received and still be
#: recognised (it bounds the lookup to the partitions around the copy's receive time).
REPLACED_RETRY_WINDOW = "1 day"
_REPLACED_LOCK_CLASS = 0x7468_7270  # "thrp"

# Buckets in ascending order: concurrent digests take them in one order.
_LOCK_REPLACED = f"""
SELECT count(pg_advisory_xact_lock({_REPLACED_LOCK_CLASS}, bucket)) FROM (
    SELECT DISTINCT abs(hashtext(project_id || ':' || event_id)) % {REPLACED_LOCK_BUCKETS}
        AS bucket
    FROM unnest($1::bigint[], $2::uuid[]) AS u(project_id, event_id)
    ORDER BY bucket
) b
"""  # noqa: S608 - assembled from module constants, never from input

_FIND_STORED_REPLACEMENTS = f"""
SELECT l.project_id, l.event_id, l.original_timestamp
FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[])
    AS k(project_id, event_id, original, received)
JOIN logs l
  ON l.project_id = k.project_id AND l.event_id = k.event_id
 AND l."timestamp" BETWEEN k.received - interval '{REPLACED_RETRY_WINDOW}'
                       AND k.received + interval '{REPLACED_RETRY_WINDOW}'
 AND l.original_timestamp = k.original
"""  # noqa: S608 - assembled from module constants, never from input


async def find_stored_replacements(
    conn: asyncpg.Connection, keys: Sequence[tuple[int, str, str, datetime]]
) -> set[tuple[int, str, str]]:
    """Which ``(project_id, event_id hex, original_timestamp)`` are stored already, under
    advisory locks held to the end of the caller's transaction.

    ``keys`` are ``(project_id, event_id, original_timestamp, timestamp)`` of rows whose
    timestamp the API replaced by the receive time. A retry of such an entry carries
    another receive time, so the unique key (which holds the timestamp) cannot recognise
    it; the sent ``original_timestamp`` and the event id can, for copies received within
    ``REPLACED_RETRY_WINDOW`` of each other. Only replaced rows pay for this lookup.
    """
    if not keys:
        return set()
    ordered = sorted(set(keys))
    await conn.fetchval(_LOCK_REPLACED, [k[0] for k in ordered], [k[1] for k in ordered])
    rows = await conn.fetch(
        _FIND_STORED_REPLACEMENTS,
        [k[0] for k in ordered],
        [k[1] for k in ordered],
        [k[2] for k in ordered],
        [k[3] for k in ordered],
    )
    return {(r["project_id"], r["event_id"].hex, r["original_timestamp"]) for r in rows}
