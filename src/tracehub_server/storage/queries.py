"""Read queries of the logs explorer: search with a keyset cursor, and one log by id.

Search plan: every query is bounded below in time (see ``log_filters``), so PostgreSQL
prunes the daily partitions to the range and walks ``logs_project_time_idx`` newest first,
stopping after ``limit + 1`` matching rows. Full-text terms are evaluated on the fly
(case-insensitive substring over message, error type and error message) instead of from a
trigram/tsvector index, which would roughly halve ingest throughput; the benchmark in
``bench/bench_queries.py`` measures both sides. Each statement runs under a server-side
``statement_timeout`` so no filter can hold a connection for long.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from tracehub_server.storage.log_filters import Cursor, LogFilter

#: Milliseconds a single explorer query may run before it is cancelled.
QUERY_TIMEOUT_MS = 10_000

_LIST_COLUMNS = (
    'project_id, "timestamp", event_id, received_at, level, service, environment, host, pid,'
    " thread_id, sdk_version, message, module, trace_id, error_type, error_message,"
    " stack_trace IS NOT NULL AS has_stack_trace, extra::text AS extra_json,"
    " original_timestamp, issue_id"
)
_DETAIL_COLUMNS = _LIST_COLUMNS + ", stack_trace"


class QueryTimeoutError(RuntimeError):
    """The query ran longer than :data:`QUERY_TIMEOUT_MS`; narrow the filters."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One stored log. ``stack_trace`` is only loaded by :func:`get_log`."""

    event_id: uuid.UUID
    project_id: int
    timestamp: datetime
    received_at: datetime
    level: str
    service: str
    environment: str
    host: str | None
    pid: int | None
    thread_id: int | None
    sdk_version: str | None
    message: str
    module: str | None
    trace_id: str | None
    error_type: str | None
    error_message: str | None
    has_stack_trace: bool
    extra: Any
    original_timestamp: str | None
    issue_id: int | None
    stack_trace: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields; ``id`` is the event id."""
        out: dict[str, Any] = {
            "id": str(self.event_id),
            "project_id": self.project_id,
            "timestamp": self.timestamp.isoformat(),
            "received_at": self.received_at.isoformat(),
        }
        for name in (
            "level", "service", "environment", "host", "pid", "thread_id", "sdk_version",
            "message", "module", "trace_id", "error_type", "error_message", "has_stack_trace",
            "extra", "original_timestamp", "issue_id",
        ):  # fmt: skip
            out[name] = getattr(self, name)
        if self.stack_trace is not None:
            out["stack_trace"] = self.stack_trace
        return out


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of results, newest first; ``next_cursor`` is None on the last page."""

    entries: list[LogEntry]
    next_cursor: str | None


def _entry(row: asyncpg.Record) -> LogEntry:
    extra_json = row["extra_json"]
    return LogEntry(
        event_id=row["event_id"],
        project_id=row["project_id"],
        timestamp=row["timestamp"],
        received_at=row["received_at"],
        level=row["level"],
        service=row["service"],
        environment=row["environment"],
        host=row["host"],
        pid=row["pid"],
        thread_id=row["thread_id"],
        sdk_version=row["sdk_version"],
        message=row["message"],
        module=row["module"],
        trace_id=row["trace_id"],
        error_type=row["error_type"],
        error_message=row["error_message"],
        has_stack_trace=row["has_stack_trace"],
        extra=orjson.loads(extra_json) if extra_json is not None else None,
        original_timestamp=row["original_timestamp"],
        issue_id=row["issue_id"],
        stack_trace=row.get("stack_trace"),
    )


def like_pattern(term: str) -> str:
    """``%term%`` with LIKE's wildcards in ``term`` escaped (backslash is the escape)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Where:
    """Accumulates WHERE clauses with numbered parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str) -> None:
        self.clauses.append(clause)

    def any_of(self, column: str, values: Sequence[str]) -> None:
        if len(values) == 1:
            self.add(f"{column} = {self.arg(values[0])}")
        elif values:
            self.add(f"{column} = ANY({self.arg(list(values))}::text[])")

    def sql(self) -> str:
        return " AND ".join(self.clauses) or "true"


def _log_where(project_ids: Sequence[int], flt: LogFilter) -> _Where:
    where = _Where()
    ids = sorted(set(project_ids))
    # A single project keeps the index order (project_id, timestamp DESC) usable for LIMIT.
    if len(ids) == 1:
        where.add(f"project_id = {where.arg(ids[0])}")
    else:
        where.add(f"project_id = ANY({where.arg(ids)}::bigint[])")
    where.add(f'"timestamp" >= {where.arg(flt.since)}')
    if flt.until is not None:
        where.add(f'"timestamp" < {where.arg(flt.until)}')
    where.any_of("level", flt.levels)
    where.any_of("service", flt.services)
    where.any_of("environment", flt.environments)
    where.any_of("module", flt.modules)
    if flt.trace_id:
        where.add(f"trace_id = {where.arg(flt.trace_id)}")
    for term in flt.terms:
        p = where.arg(like_pattern(term))
        where.add(f"(message ILIKE {p} OR error_type ILIKE {p} OR error_message ILIKE {p})")
    for extra in flt.extra:
        docs = [f"extra @> {where.arg(orjson.dumps(doc).decode())}::text::jsonb"
                for doc in extra.candidates]  # fmt: skip
        where.add("(" + " OR ".join(docs) + ")")
    if flt.cursor is not None:
        t = where.arg(flt.cursor.timestamp)
        e = where.arg(flt.cursor.event_id)
        # Spelled out (not a row comparison) so the time bound is an index condition.
        where.add(f'"timestamp" <= {t} AND ("timestamp" < {t} OR event_id < {e})')
    return where


async def _fetch_bounded(conn: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    try:
        async with conn.transaction(readonly=True):
            await conn.execute(f"SET LOCAL statement_timeout = {int(QUERY_TIMEOUT_MS)}")
            return await conn.fetch(sql, *args)
    except asyncpg.QueryCanceledError:
        raise QueryTimeoutError(
            f"the query ran longer than {QUERY_TIMEOUT_MS} ms; narrow since/until or add filters"
        ) from None


async def search_logs(
    conn: asyncpg.Connection, project_ids: Sequence[int], flt: LogFilter
) -> LogPage:
    """Logs of ``project_ids`` matching ``flt``, newest first, one page at a time.

    ``project_ids`` must already be limited to what the caller may read; an empty list
    returns an empty page. Raises :class:`QueryTimeoutError` when the query is cancelled.
    """
    if not project_ids:
        return LogPage(entries=[], next_cursor=None)
    where = _log_where(project_ids, flt)
    limit = where.arg(flt.limit + 1)
    rows = await _fetch_bounded(
        conn,
        # Only constant clauses with $n placeholders are interpolated; values are bound.
        f"SELECT {_LIST_COLUMNS} FROM logs WHERE {where.sql()}"  # noqa: S608
        f' ORDER BY "timestamp" DESC, event_id DESC LIMIT {limit}',
        *where.args,
    )
    entries = [_entry(row) for row in rows[: flt.limit]]
    next_cursor = None
    if len(rows) > flt.limit:
        last = entries[-1]
        next_cursor = Cursor(timestamp=last.timestamp, event_id=last.event_id).encode()
    return LogPage(entries=entries, next_cursor=next_cursor)


def parse_event_id(text: str) -> uuid.UUID | None:
    """The UUID in ``text``, or None when it is not one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def get_log(
    conn: asyncpg.Connection, event_id: uuid.UUID | str, project_ids: Sequence[int]
) -> LogEntry | None:
    """The log with this event id in one of ``project_ids`` (with its stack trace), or None."""
    if isinstance(event_id, str):
        parsed = parse_event_id(event_id)
        if parsed is None:
            return None
        event_id = parsed
    if not project_ids:
        return None
    row = await conn.fetchrow(
        f"SELECT {_DETAIL_COLUMNS} FROM logs"  # noqa: S608 - constant columns
        " WHERE event_id = $1 AND project_id = ANY($2::bigint[])"
        ' ORDER BY "timestamp" DESC LIMIT 1',
        event_id,
        list(project_ids),
    )
    return _entry(row) if row else None
