"""Counts per level over time for the logs explorer's volume histogram.

Answered from the ``hourly_counts`` rollup when it can be (buckets of whole hours, and
filters on level, service and environment only: the rollup's own columns), otherwise from
``logs`` with the explorer's filters under a short statement timeout, so a histogram never
holds a page up for long: a search too costly to count returns None and the page says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import asyncpg

from tracehub_server.storage.log_filters import LogFilter
from tracehub_server.storage.log_queries import _add_filters  # the explorer's own clauses
from tracehub_server.storage.sql import Where, set_statement_timeout

#: Longest the count from ``logs`` may take before the histogram gives up (milliseconds).
LOGS_COUNT_TIMEOUT_MS = 1500
#: date_bin's origin: bucket boundaries fall on whole minutes, hours and UTC days.
_ORIGIN = datetime(2000, 1, 1, tzinfo=timezone.utc)
_HOUR = timedelta(hours=1)

Points = list[tuple[datetime, dict[str, int]]]


def from_rollup(flt: LogFilter, size: timedelta) -> bool:
    """True when ``hourly_counts`` alone answers (whole-hour buckets, rollup columns only)."""
    return (
        size >= _HOUR
        and size % _HOUR == timedelta(0)
        and not (flt.modules or flt.trace_id or flt.terms or flt.extra)
    )


def _group(rows: Sequence[asyncpg.Record]) -> Points:
    points: dict[datetime, dict[str, int]] = {}
    for row in rows:
        points.setdefault(row["start"], {})[row["level"]] = row["n"]
    return sorted(points.items())


async def level_histogram(
    conn: asyncpg.Connection,
    project_id: int,
    flt: LogFilter,
    *,
    until: datetime,
    size: timedelta,
) -> Points | None:
    """``(bucket start, {level: count})`` for ``[flt.since, until)``, buckets of ``size``
    aligned to UTC; empty buckets are absent. None when counting from ``logs`` timed out."""
    where = Where()
    where.add(f"project_id = {where.arg(project_id)}")
    where.any_of("level", flt.levels)
    where.any_of("service", flt.services)
    where.any_of("environment", flt.environments)
    bin_ = f"date_bin({where.arg(size)}::interval, %s, {where.arg(_ORIGIN)}::timestamptz)"
    if from_rollup(flt, size):
        binned = bin_ % "hour"
        where.add(f"hour >= date_trunc('hour', {where.arg(flt.since)}::timestamptz)")
        where.add(f"hour < {where.arg(until)}")
        # Only constant clauses with $n placeholders are interpolated; values are bound.
        sql = (
            f"SELECT {binned} AS start, level, sum(count)::bigint AS n"  # noqa: S608
            f" FROM hourly_counts WHERE {where.sql()} GROUP BY 1, 2"
        )
        return _group(await conn.fetch(sql, *where.args))
    where.add(f'"timestamp" >= {where.arg(flt.since)}')
    where.add(f'"timestamp" < {where.arg(until)}')
    binned = bin_ % '"timestamp"'
    rest = dataclasses.replace(flt, levels=(), services=(), environments=(), cursor=None)
    _add_filters(where, rest)
    sql = (
        f"SELECT {binned} AS start, level, count(*) AS n"  # noqa: S608
        f" FROM logs WHERE {where.sql()} GROUP BY 1, 2"
    )
    try:
        async with conn.transaction():
            await set_statement_timeout(conn, LOGS_COUNT_TIMEOUT_MS)
            rows = await conn.fetch(sql, *where.args)
    except asyncpg.QueryCanceledError:
        return None
    return _group(rows)
