"""Hourly rollups: per-(project, hour, level, service, environment) and per-(issue, hour).

Both are bumped in the transaction that writes the rows they count, only for rows actually
inserted (a redelivered event is not counted twice), and in sorted key order so concurrent
workers lock the same rows in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

#: A CTE body over an ``ins`` CTE (rows just inserted into logs) that adds them to
#: hourly_counts; spliced into the log insert so the rollup costs no extra round trip.
HOURLY_COUNTS_FROM_INSERTED = """
    INSERT INTO hourly_counts AS h (project_id, hour, level, service, environment, count)
    SELECT project_id, date_trunc('hour', "timestamp", 'UTC'), level, service, environment,
           count(*)
    FROM ins
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (project_id, hour, level, service, environment)
    DO UPDATE SET count = h.count + EXCLUDED.count
"""

_BUMP_ISSUE_HOURS = """
INSERT INTO issue_hourly_counts AS h (issue_id, hour, count)
SELECT issue_id, hour, n FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[])
    AS u(issue_id, hour, n)
ORDER BY issue_id, hour
ON CONFLICT (issue_id, hour) DO UPDATE SET count = h.count + EXCLUDED.count
"""


async def bump_issue_hourly_counts(
    conn: asyncpg.Connection, counts: Sequence[tuple[int, datetime, int]]
) -> None:
    """Add ``(issue_id, hour, n)`` counts; the caller owns the transaction."""
    if not counts:
        return
    await conn.execute(
        _BUMP_ISSUE_HOURS,
        [c[0] for c in counts],
        [c[1] for c in counts],
        [c[2] for c in counts],
    )


async def hourly_counts(
    conn: asyncpg.Connection, project_id: int, since: datetime, until: datetime
) -> list[asyncpg.Record]:
    """The project's rollup rows in ``[since, until)``, by hour (a convenience for tests/tools)."""
    return await conn.fetch(
        "SELECT hour, level, service, environment, count FROM hourly_counts"
        " WHERE project_id = $1 AND hour >= $2 AND hour < $3"
        " ORDER BY hour, level, service, environment",
        project_id,
        since,
        until,
    )
