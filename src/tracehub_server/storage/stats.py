"""Dashboard statistics, served from the ``hourly_counts`` rollup only (never from ``logs``).

The worker keeps ``hourly_counts`` in the same transaction as the rows it counts, so these
totals are exact for whole hours. A range is widened to whole hours: ``since`` is rounded
down to its hour, ``until`` is exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg

from tracehub.entry import ERROR_LEVELS as ENTRY_ERROR_LEVELS

Bucket = Literal["hour", "day"]
#: Levels counted as errors in the overview (the entry's, :mod:`tracehub.entry`).
ERROR_LEVELS = ENTRY_ERROR_LEVELS
#: Issue statuses counted as open (not yet resolved or ignored).
OPEN_STATUSES = ("OPEN", "IN_PROGRESS")


@dataclass(frozen=True, slots=True)
class Overview:
    logs: int
    errors: int
    open_issues: int


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """Counts by level in one bucket (``start`` is the bucket's first instant, UTC)."""

    start: datetime
    counts: dict[str, int] = field(default_factory=dict)


# Every statement below repeats this range condition literally ($1 ids, $2 since, $3 until):
#   project_id = ANY($1) AND hour >= date_trunc('hour', $2) AND ($3 IS NULL OR hour < $3)


async def overview(
    conn: asyncpg.Connection,
    project_ids: Sequence[int],
    *,
    since: datetime,
    until: datetime | None = None,
) -> Overview:
    """Logs and errors in the range, and open issues seen in it."""
    if not project_ids:
        return Overview(logs=0, errors=0, open_issues=0)
    ids = list(project_ids)
    row = await conn.fetchrow(
        "SELECT coalesce(sum(count), 0)::bigint AS logs,"
        " coalesce(sum(count) FILTER (WHERE level = ANY($4::text[])), 0)::bigint AS errors"
        " FROM hourly_counts WHERE"
        " project_id = ANY($1::bigint[]) AND hour >= date_trunc('hour', $2::timestamptz)"
        " AND ($3::timestamptz IS NULL OR hour < $3)",
        ids,
        since,
        until,
        list(ERROR_LEVELS),
    )
    open_issues = await conn.fetchval(
        "SELECT count(*) FROM issues WHERE project_id = ANY($1::bigint[])"
        " AND status = ANY($4::text[]) AND last_seen >= $2"
        " AND ($3::timestamptz IS NULL OR first_seen < $3)",
        ids,
        since,
        until,
        list(OPEN_STATUSES),
    )
    return Overview(logs=row["logs"], errors=row["errors"], open_issues=open_issues)


async def severity(
    conn: asyncpg.Connection,
    project_ids: Sequence[int],
    *,
    since: datetime,
    until: datetime | None = None,
) -> dict[str, int]:
    """Entries per level in the range (levels without entries are absent)."""
    if not project_ids:
        return {}
    rows = await conn.fetch(
        "SELECT level, sum(count)::bigint AS n FROM hourly_counts WHERE"
        " project_id = ANY($1::bigint[]) AND hour >= date_trunc('hour', $2::timestamptz)"
        " AND ($3::timestamptz IS NULL OR hour < $3)"
        " GROUP BY level ORDER BY level",
        list(project_ids),
        since,
        until,
    )
    return {row["level"]: row["n"] for row in rows}


async def timeline(
    conn: asyncpg.Connection,
    project_ids: Sequence[int],
    *,
    since: datetime,
    until: datetime | None = None,
    bucket: Bucket = "hour",
) -> list[TimelinePoint]:
    """Counts by level per hour or per UTC day, oldest first; empty buckets are absent."""
    if bucket not in ("hour", "day"):
        raise ValueError(f"bucket must be 'hour' or 'day', got {bucket!r}")
    if not project_ids:
        return []
    rows = await conn.fetch(
        "SELECT date_trunc($4, hour, 'UTC') AS start, level, sum(count)::bigint AS n"
        " FROM hourly_counts WHERE"
        " project_id = ANY($1::bigint[]) AND hour >= date_trunc('hour', $2::timestamptz)"
        " AND ($3::timestamptz IS NULL OR hour < $3)"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        list(project_ids),
        since,
        until,
        bucket,
    )
    points: dict[datetime, TimelinePoint] = {}
    for row in rows:
        point = points.setdefault(row["start"], TimelinePoint(start=row["start"]))
        point.counts[row["level"]] = row["n"]
    return list(points.values())


async def has_logs(conn: asyncpg.Connection, project_id: int) -> bool:
    """Whether the project has received an entry (the onboarding page gives way then).

    The rollup answers from its primary key; ``logs`` is asked too, for rows written
    without one (imports, tests).
    """
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM hourly_counts WHERE project_id = $1)"
            " OR EXISTS (SELECT 1 FROM logs WHERE project_id = $1)",
            project_id,
        )
    )
