"""Issue queries: a filtered list with a keyset cursor, one issue, hourly counts, triage.

The list is sorted descending by one of :data:`ISSUE_SORTS` with ties broken by id; its
cursor carries the sort key, value and id of the last row (base64, checked on the way back
in), so a deep page costs no ``OFFSET``. Only the list is shaped by user filters, so only it
runs under the statement timeout (``sql.fetch_bounded``). An issue's recent events are read
by ``log_queries.issue_events``, next to the other reads of ``logs``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tracehub_server.storage.ids import MAX_BIGINT, valid_id
from tracehub_server.storage.log_filters import (
    DEFAULT_LIMIT,
    MAX_CURSOR_CHARS,
    FilterError,
    cursor_time,
)
from tracehub_server.storage.sql import Where, fetch_bounded

__all__ = [
    "ISSUE_SORTS",
    "ISSUE_STATUSES",
    "UNCHANGED",
    "Issue",
    "IssueFilter",
    "IssuePage",
    "decode_issue_cursor",
    "encode_issue_cursor",
    "get_issue",
    "issue_hourly_series",
    "list_issues",
    "update_issue",
]

ISSUE_STATUSES = ("OPEN", "IN_PROGRESS", "RESOLVED", "IGNORED")
#: Sort keys of the issues list (all descending, ties broken by id).
ISSUE_SORTS = ("last_seen", "first_seen", "event_count")
_ISSUE_COLUMNS = (
    "i.id, i.project_id, i.fingerprint, i.title, i.error_type, i.error_message, i.level,"
    " i.status, i.is_regression, i.first_seen, i.last_seen, i.event_count,"
    " i.sample_stack_trace, i.sample_event_id, i.service, i.resolved_at, i.assignee_id,"
    " u.email AS assignee_email, i.created_at, i.updated_at, i.grouping_version, i.merged_into"
)
_ISSUE_FROM = " FROM issues i LEFT JOIN users u ON u.id = i.assignee_id"
#: Sentinel for "leave this field unchanged" in :func:`update_issue`.
UNCHANGED: Any = object()


@dataclass(frozen=True, slots=True)
class Issue:
    """A group of similar errors, as listed and shown."""

    id: int
    project_id: int
    fingerprint: str
    title: str
    error_type: str | None
    error_message: str | None
    level: str
    status: str
    is_regression: bool
    first_seen: datetime
    last_seen: datetime
    event_count: int
    sample_stack_trace: str | None
    sample_event_id: uuid.UUID | None
    service: str | None
    resolved_at: datetime | None
    assignee_id: int | None
    assignee_email: str | None
    created_at: datetime
    updated_at: datetime
    grouping_version: str = "th1"
    merged_into: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, uuid.UUID):
                value = str(value)
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class IssueFilter:
    """A validated issues-list query."""

    statuses: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    sort: str = "last_seen"
    limit: int = DEFAULT_LIMIT
    cursor: tuple[Any, int] | None = None


@dataclass(frozen=True, slots=True)
class IssuePage:
    """A page of issues; ``next_cursor`` is None on the last page."""

    issues: list[Issue]
    next_cursor: str | None


def _issue(row: asyncpg.Record) -> Issue:
    return Issue(**{name: row[name] for name in Issue.__slots__})


def encode_issue_cursor(sort: str, issue: Issue) -> str:
    """The cursor of the page after ``issue`` (the last one shown) in ``sort`` order."""
    value = getattr(issue, sort)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return base64.urlsafe_b64encode(f"{sort}|{text}|{issue.id}".encode()).decode().rstrip("=")


def decode_issue_cursor(sort: str, text: str) -> tuple[Any, int]:
    """The (sort value, id) after which the next page starts; FilterError when foreign."""
    error = FilterError("cursor", f"is not a cursor of this API for sort={sort}")
    if len(text) > MAX_CURSOR_CHARS:
        raise error
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        kind, value, issue_id = raw.split("|")
        if kind != sort:
            raise ValueError(kind)
        parsed: Any = int(value) if sort == "event_count" else cursor_time(value)
        if isinstance(parsed, int) and not 0 <= parsed <= MAX_BIGINT:
            raise ValueError(value)
        ident = int(issue_id)
        if not valid_id(ident):
            raise ValueError(issue_id)
        return parsed, ident
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise error from None


async def list_issues(
    conn: asyncpg.Connection, project_ids: Sequence[int], flt: IssueFilter
) -> IssuePage:
    """Issues of ``project_ids`` (already limited to what the caller may read), sorted
    descending by ``flt.sort`` with a keyset cursor."""
    if not project_ids:
        return IssuePage(issues=[], next_cursor=None)
    where = Where()
    ids = sorted(set(project_ids))
    if len(ids) == 1:
        where.add(f"i.project_id = {where.arg(ids[0])}")
    else:
        where.add(f"i.project_id = ANY({where.arg(ids)}::bigint[])")
    where.add("i.merged_into IS NULL")  # merged issues live on in their target
    where.any_of("i.status", flt.statuses)
    where.any_of("i.level", flt.levels)
    column = f"i.{flt.sort}"  # one of ISSUE_SORTS, checked by web_params.parse_issue_filter
    if flt.cursor is not None:
        value, last_id = flt.cursor
        v = where.arg(value)
        where.add(f"({column} < {v} OR ({column} = {v} AND i.id < {where.arg(last_id)}))")
    limit = where.arg(flt.limit + 1)
    rows = await fetch_bounded(
        conn,
        f"SELECT {_ISSUE_COLUMNS}{_ISSUE_FROM} WHERE {where.sql()}"
        f" ORDER BY {column} DESC, i.id DESC LIMIT {limit}",
        *where.args,
    )
    issues = [_issue(row) for row in rows[: flt.limit]]
    next_cursor = encode_issue_cursor(flt.sort, issues[-1]) if len(rows) > flt.limit else None
    return IssuePage(issues=issues, next_cursor=next_cursor)


async def get_issue(
    conn: asyncpg.Connection, issue_id: int, project_ids: Sequence[int]
) -> Issue | None:
    """The issue if it belongs to one of ``project_ids``, else None."""
    if not valid_id(issue_id) or not project_ids:
        return None
    row = await conn.fetchrow(
        f"SELECT {_ISSUE_COLUMNS}{_ISSUE_FROM}"
        " WHERE i.id = $1 AND i.project_id = ANY($2::bigint[])",
        issue_id,
        list(project_ids),
    )
    return _issue(row) if row else None


async def issue_hourly_series(
    conn: asyncpg.Connection, issue_id: int, *, since: datetime, until: datetime | None = None
) -> list[tuple[datetime, int]]:
    """``(hour, events)`` of the issue from ``issue_hourly_counts``, oldest first (no gaps
    filled: hours without events are absent)."""
    rows = await conn.fetch(
        "SELECT hour, count FROM issue_hourly_counts WHERE issue_id = $1 AND hour >= $2"
        " AND ($3::timestamptz IS NULL OR hour < $3) ORDER BY hour",
        issue_id,
        since,
        until,
    )
    return [(row["hour"], row["count"]) for row in rows]


async def update_issue(
    conn: asyncpg.Connection,
    issue_id: int,
    project_ids: Sequence[int],
    *,
    status: str = UNCHANGED,
    assignee_id: int | None = UNCHANGED,
) -> Issue | None:
    """Change status and/or assignee; None when the issue is not in ``project_ids``.

    RESOLVED stamps ``resolved_at`` (kept if it was already resolved); any other status
    clears it. The caller checks that the assignee may read the project.
    """
    if status is not UNCHANGED and status not in ISSUE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(ISSUE_STATUSES)}, got {status!r}")
    if not valid_id(issue_id) or not project_ids:
        return None
    row = await conn.fetchrow(
        "UPDATE issues SET"
        " status = CASE WHEN $3 THEN $4 ELSE status END,"
        " resolved_at = CASE WHEN NOT $3 THEN resolved_at"
        "   WHEN $4 = 'RESOLVED' THEN coalesce(CASE WHEN status = 'RESOLVED' THEN resolved_at END,"
        "   now()) ELSE NULL END,"
        " assignee_id = CASE WHEN $5 THEN $6 ELSE assignee_id END,"
        " updated_at = now()"
        " WHERE id = $1 AND project_id = ANY($2::bigint[]) RETURNING id",
        issue_id,
        list(project_ids),
        status is not UNCHANGED,
        None if status is UNCHANGED else status,
        assignee_id is not UNCHANGED,
        None if assignee_id is UNCHANGED else assignee_id,
    )
    if row is None:
        return None
    return await get_issue(conn, issue_id, project_ids)
