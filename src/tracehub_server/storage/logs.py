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
from dataclasses import dataclass, field
from datetime import datetime
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
)
#: Index of ``issue_id`` in a row (the digest fills it in for grouped errors).
ISSUE_ID = LOG_COLUMNS.index("issue_id")

_STAGING = "tracehub_logs_staging"

# extra arrives as JSON text: asyncpg's COPY is binary and the pool's jsonb codec is text.
_CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (
    project_id bigint, "timestamp" timestamptz, event_id uuid, received_at timestamptz,
    level text, service text, environment text, host text, pid integer, thread_id bigint,
    sdk_version text, message text, module text, trace_id text, error_type text,
    error_message text, stack_trace text, extra text, original_timestamp text, issue_id bigint
) ON COMMIT DELETE ROWS
"""

_COLUMN_LIST = ", ".join(f'"{c}"' for c in LOG_COLUMNS)
_SELECT_LIST = ", ".join("extra::jsonb" if c == "extra" else f'"{c}"' for c in LOG_COLUMNS)

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


async def insert_logs(
    conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]
) -> tuple[int, list[asyncpg.Record]]:
    """Store rows not stored yet and bump ``hourly_counts`` for them.

    Returns how many rows were new, and for the new rows that belong to an issue a record
    with ``issue_id``, ``timestamp`` and ``level`` (duplicates are absent; rows without an
    issue are only counted -- sending them back would cost more than the insert's
    bookkeeping). Must run inside the caller's transaction; every partition the rows need
    must exist (see :mod:`tracehub_server.storage.partitions`).
    """
    if not rows:
        return 0, []
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


#: Columns of an entry as the API validates it (JSON keys), with their types, for
#: :func:`insert_entries_json`. The unique key's parts are the ones PostgreSQL checks.
_ENTRY_RECORD = """
    event_id uuid, "timestamp" timestamptz, received_at timestamptz, level text, service text,
    environment text, message text, host text, pid integer, thread_id bigint,
    sdk_version text, module text, trace_id text, error_type text, error_message text,
    stack_trace text, extra jsonb, original_timestamp text
"""

# PostgreSQL expands the JSON in C: no Python tuple per row. Marks say, by (batch, entry)
# position, which entries belong to an issue and which to leave out (a replaced-timestamp
# entry stored already); the ORDER BY is the one _MOVE uses, for the same lock order.
_MOVE_JSON = f"""
WITH src AS (
    SELECT b.project_id, e.*, m.issue_id, m.skip
    FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS b(project_id, entries, bi)
    CROSS JOIN LATERAL ROWS FROM (json_to_recordset(b.entries::json) AS ({_ENTRY_RECORD}))
        WITH ORDINALITY AS e
    LEFT JOIN unnest($3::int[], $4::int[], $5::bigint[], $6::boolean[])
        AS m(bi, ei, issue_id, skip)
      ON m.bi = b.bi AND m.ei = e.ordinality
), ins AS (
    INSERT INTO logs ({_COLUMN_LIST})
    SELECT project_id, "timestamp", event_id, coalesce(received_at, $7), level,
           coalesce(nullif(service, ''), 'unknown'), coalesce(nullif(environment, ''), 'unknown'),
           host, pid, thread_id, sdk_version, coalesce(message, ''), module, trace_id,
           error_type, error_message, stack_trace,
           CASE WHEN extra IS NULL OR jsonb_typeof(extra) = 'object' THEN extra
                ELSE jsonb_build_object('value', extra) END,
           original_timestamp, issue_id
    FROM src
    WHERE skip IS NOT TRUE
    ORDER BY event_id, project_id, "timestamp"
    ON CONFLICT (event_id, project_id, "timestamp") DO NOTHING
    RETURNING project_id, "timestamp", level, service, environment, issue_id
), rollup AS ({HOURLY_COUNTS_FROM_INSERTED})
SELECT t.inserted, e.issue_id, e."timestamp", e.level
FROM (SELECT count(*) AS inserted FROM ins) t
LEFT JOIN ins e ON e.issue_id IS NOT NULL
"""  # noqa: S608 - assembled from module constants, never from input


@dataclass(slots=True)
class EntryMarks:
    """Per-entry facts the database cannot compute, as parallel arrays for one statement.

    Positions count from 1: ``batch`` in the batches given, ``entry`` in that batch's array.
    """

    batch: list[int] = field(default_factory=list)
    entry: list[int] = field(default_factory=list)
    issue_id: list[int | None] = field(default_factory=list)
    skip: list[bool] = field(default_factory=list)

    def add(self, batch: int, entry: int, *, issue_id: int | None, skip: bool) -> None:
        self.batch.append(batch)
        self.entry.append(entry)
        self.issue_id.append(issue_id)
        self.skip.append(skip)


async def insert_entries_json(
    conn: asyncpg.Connection,
    batches: Sequence[tuple[int, str]],
    marks: EntryMarks,
    received_default: datetime,
) -> tuple[int, list[asyncpg.Record]]:
    """:func:`insert_logs` for validated entries given as JSON: ``(project_id, array)``.

    PostgreSQL parses the JSON arrays (keys as in
    :data:`tracehub_server.api.validation.ENTRY_KEYS`) and inserts the rows, skipping
    duplicates and bumping ``hourly_counts`` exactly like :func:`insert_logs`, with the
    same return value. A value PostgreSQL cannot store (a malformed timestamp, an integer
    out of range) raises a :class:`asyncpg.DataError` and aborts the caller's
    transaction; the caller decides how to retry.
    """
    if not batches:
        return 0, []
    result = await conn.fetch(
        _MOVE_JSON,
        [b[0] for b in batches],
        [b[1] for b in batches],
        marks.batch,
        marks.entry,
        marks.issue_id,
        marks.skip,
        received_default,
    )
    inserted = result[0]["inserted"]
    return inserted, [r for r in result if r["issue_id"] is not None]
