"""Read queries over stored logs: search with a keyset cursor, one log, an issue's events.

Search plan: every query is bounded below in time (see ``log_filters``), so PostgreSQL
prunes the daily partitions to the range and walks ``logs_project_time_idx`` newest first,
stopping after ``limit + 1`` matching rows. Full-text terms are evaluated on the fly
(case-insensitive substring over message, error type and error message) instead of from a
trigram/tsvector index, which would roughly halve ingest throughput; the benchmark in
``bench/bench_queries.py`` measures both sides. Filters no index serves are walked in
slices under a time budget (``scan_budget``). Each statement runs under a server-side
``statement_timeout`` (see ``sql``) so no filter can hold a connection for long.

:func:`issue_events` lives here, not in ``issue_queries``, because it reads ``logs``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import orjson

from tracehub_server.storage.issue_queries import Issue
from tracehub_server.storage.log_filters import MAX_LIMIT, Cursor, FilterError, LogFilter
from tracehub_server.storage.scan_budget import DEFAULT_BUDGET, ScanBudget, ScanPlanner
from tracehub_server.storage.sql import (
    QUERY_TIMEOUT_MS,
    QueryTimeoutError,
    Where,
    set_statement_timeout,
    timeout_error,
)

# QUERY_TIMEOUT_MS and QueryTimeoutError are defined in ``sql`` (issue reads raise it too)
# and re-exported here, where callers of search_logs and get_log look for them.
__all__ = [
    "MAX_MERGED_PROJECTS",
    "QUERY_TIMEOUT_MS",
    "LogEntry",
    "LogPage",
    "QueryTimeoutError",
    "get_log",
    "issue_events",
    "like_pattern",
    "needs_bounded_scan",
    "parse_event_id",
    "search_logs",
]

_LIST_COLUMNS = (
    'project_id, "timestamp", event_id, received_at, level, service, environment, host, pid,'
    " thread_id, sdk_version, message, module, trace_id, error_type, error_message,"
    " stack_trace IS NOT NULL AS has_stack_trace, extra::text AS extra_json,"
    " original_timestamp, issue_id"
)
_DETAIL_COLUMNS = _LIST_COLUMNS + ", stack_trace"
#: Projects one log search may merge; beyond this the caller must name ``project``.
MAX_MERGED_PROJECTS = 50
_NIL_UUID = uuid.UUID(int=0)
_ONE_MICROSECOND = timedelta(microseconds=1)
#: A slice after the first is cancelled past the remaining budget, but never sooner than this.
_MIN_SLICE_TIMEOUT_MS = 20
#: Entries stamped slightly in the future (client clock skew) are still found.
_FUTURE_SLACK = timedelta(days=1, hours=1)


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
    thread_id: str | None
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
    """A page of results, newest first; ``next_cursor`` is None on the last page.

    ``searched_back_to`` is set when the scan budget ran out before the page filled up:
    the range from there to the top was searched, older entries were not looked at yet
    (follow ``next_cursor`` to continue).
    """

    entries: list[LogEntry]
    next_cursor: str | None
    searched_back_to: datetime | None = None


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


def _add_filters(where: Where, flt: LogFilter) -> None:
    """Every clause of ``flt`` except the project and the time range."""
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


def _page_sql(
    project_ids: Sequence[int],
    flt: LogFilter,
    *,
    lower: datetime,
    upper: datetime | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """One newest-first page of ``[lower, upper)``; several projects are merged, not sorted.

    For one project PostgreSQL walks ``logs_project_time_idx`` backwards and stops after
    ``limit`` rows. ``project_id = ANY(...)`` would instead read and sort every matching row
    of the range, so several projects get one such walk each (a LATERAL join), merged: the
    cost is at most ``limit`` rows per project, whatever the range holds.
    """
    where = Where()
    ids = sorted(set(project_ids))
    ids_arg = ""
    if len(ids) == 1:
        where.add(f"project_id = {where.arg(ids[0])}")
    else:
        ids_arg = where.arg(ids)
        where.add("project_id = p.id")
    where.add(f'"timestamp" >= {where.arg(lower)}')
    if upper is not None:
        where.add(f'"timestamp" < {where.arg(upper)}')
    _add_filters(where, flt)
    lim = where.arg(limit)
    # Only constant clauses with $n placeholders are interpolated; values are bound.
    inner = (
        f"SELECT {_LIST_COLUMNS} FROM logs WHERE {where.sql()}"  # noqa: S608
        f' ORDER BY "timestamp" DESC, event_id DESC LIMIT {lim}'
    )
    if not ids_arg:
        return inner, where.args
    return (
        f"SELECT l.* FROM unnest({ids_arg}::bigint[]) AS p(id)"  # noqa: S608
        f" CROSS JOIN LATERAL ({inner}) AS l"
        f' ORDER BY l."timestamp" DESC, l.event_id DESC LIMIT {lim}',
        where.args,
    )


def needs_bounded_scan(flt: LogFilter) -> bool:
    """True when no index serves the filter, so the walk is budgeted (see ``scan_budget``).

    ``trace_id`` and ``extra`` are answered from their own indexes (a bitmap of the few
    matching rows), and an unfiltered page is the first ``limit`` entries of the time index.
    """
    if flt.trace_id or flt.extra:
        return False
    return bool(flt.terms or flt.levels or flt.services or flt.environments or flt.modules)


async def _fetch_page(
    conn: asyncpg.Connection,
    project_ids: Sequence[int],
    flt: LogFilter,
    *,
    lower: datetime,
    upper: datetime | None,
    limit: int,
) -> list[asyncpg.Record]:
    sql, args = _page_sql(project_ids, flt, lower=lower, upper=upper, limit=limit)
    return await conn.fetch(sql, *args)


async def _walk(
    conn: asyncpg.Connection, project_ids: Sequence[int], flt: LogFilter, budget: ScanBudget
) -> tuple[list[asyncpg.Record], datetime | None]:
    """Rows of the newest slices until ``limit + 1`` are found or the budget is spent.

    Returns the rows and, when the walk stopped with range left, the time it searched back
    to (None when the page filled up or the range was exhausted).
    """
    now = datetime.now(timezone.utc)
    upper = flt.until or now + _FUTURE_SLACK
    if flt.cursor is not None:
        # A row cursor's own instant is still partly unread (rows with smaller event ids);
        # a slice boundary's (nil event id) is not.
        edge = flt.cursor.timestamp
        if flt.cursor.event_id != _NIL_UUID:
            edge += _ONE_MICROSECOND
        upper = min(upper, edge)
    planner = ScanPlanner(budget, lower=flt.since, upper=upper, now=now)
    rows: list[asyncpg.Record] = []
    first = True
    while len(rows) <= flt.limit and (bounds := planner.next_slice()) is not None:
        start, end = bounds
        want = flt.limit + 1 - len(rows)
        t0 = time.perf_counter()
        if first:  # always runs to completion, so every request makes progress
            rows += await _fetch_page(conn, project_ids, flt, lower=start, upper=end, limit=want)
        else:
            # A later slice is sized from the previous one's speed, which a cold cache can
            # make many times wrong: the rest of the budget is also a hard statement timeout.
            cap_ms = max(planner.remaining_ms, _MIN_SLICE_TIMEOUT_MS)
            try:
                async with conn.transaction():  # a savepoint: a cancel undoes only this slice
                    await set_statement_timeout(conn, cap_ms)
                    rows += await _fetch_page(
                        conn, project_ids, flt, lower=start, upper=end, limit=want
                    )
            except asyncpg.QueryCanceledError:
                break  # this slice is unread: the cursor resumes at its top
        planner.record(start, (time.perf_counter() - t0) * 1000)
        first = False
    if len(rows) > flt.limit or planner.exhausted:
        return rows, None
    return rows, planner.searched_back_to


async def search_logs(
    conn: asyncpg.Connection,
    project_ids: Sequence[int],
    flt: LogFilter,
    *,
    budget: ScanBudget = DEFAULT_BUDGET,
) -> LogPage:
    """Logs of ``project_ids`` matching ``flt``, newest first, one page at a time.

    ``project_ids`` must already be limited to what the caller may read; an empty list
    returns an empty page, and more than :data:`MAX_MERGED_PROJECTS` raise
    :class:`FilterError` (``project``). When :func:`needs_bounded_scan`, the walk stops
    after ``budget`` with range left: the page then holds fewer than ``limit`` entries, its
    ``next_cursor`` continues below ``searched_back_to``. Raises :class:`QueryTimeoutError`
    when a statement is cancelled.
    """
    if not project_ids:
        return LogPage(entries=[], next_cursor=None)
    if len(set(project_ids)) > MAX_MERGED_PROJECTS:
        raise FilterError(
            "project",
            f"is required when you can read more than {MAX_MERGED_PROJECTS} projects"
            f" (you can read {len(set(project_ids))}); name up to {MAX_MERGED_PROJECTS}",
        )
    searched_back_to = None
    try:
        async with conn.transaction():
            await set_statement_timeout(conn, QUERY_TIMEOUT_MS)
            if needs_bounded_scan(flt):
                rows, searched_back_to = await _walk(conn, project_ids, flt, budget)
            else:
                rows = await _fetch_page(
                    conn, project_ids, flt, lower=flt.since, upper=flt.until, limit=flt.limit + 1
                )
    except asyncpg.QueryCanceledError:
        raise timeout_error() from None
    entries = [_entry(row) for row in rows[: flt.limit]]
    next_cursor = None
    if len(rows) > flt.limit:
        last = entries[-1]
        next_cursor = Cursor(timestamp=last.timestamp, event_id=last.event_id).encode()
    elif searched_back_to is not None:
        # The nil event id makes the cursor exclusive of its instant: that slice is done.
        next_cursor = Cursor(timestamp=searched_back_to, event_id=_NIL_UUID).encode()
    return LogPage(entries=entries, next_cursor=next_cursor, searched_back_to=searched_back_to)


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


async def issue_events(
    conn: asyncpg.Connection, issue: Issue, *, limit: int = 20, retention_days: int = 30
) -> list[LogEntry]:
    """The issue's most recent events (without stack traces), newest first."""
    since = max(
        issue.first_seen - timedelta(days=1),
        datetime.now(timezone.utc) - timedelta(days=retention_days + 1),
    )
    rows = await conn.fetch(
        f"SELECT {_LIST_COLUMNS} FROM logs"  # noqa: S608 - constant columns
        ' WHERE issue_id = $1 AND project_id = $2 AND "timestamp" >= $3'
        ' ORDER BY "timestamp" DESC, event_id DESC LIMIT $4',
        issue.id,
        issue.project_id,
        since,
        min(max(limit, 1), MAX_LIMIT),
    )
    return [_entry(row) for row in rows]
