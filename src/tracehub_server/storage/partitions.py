"""Daily partitions of ``logs``: created ahead of time, on demand, and dropped past retention.

Why daily: retention becomes ``DROP TABLE`` of whole days (no ``DELETE``, no vacuum debt),
a time-range query prunes to the days it covers, and each partition's indexes stay small
enough to live in memory while it is being written. Monthly partitions would make a 30-day
retention keep up to 60 days and make the partition being written 30 times bigger.

Partition DDL runs in its own short transaction (never inside a digest's) because creating
a partition locks the parent table: doing it ahead of time keeps that lock off the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

import asyncpg

#: Days around "today" (UTC) kept created: yesterday for late arrivals, two days ahead so a
#: clock skew or a quiet night never makes the first batch of a day create its partition.
DAYS_BACK = 1
DAYS_AHEAD = 2

_PARTITION_NAME = re.compile(r"^logs_p(\d{8})$")

# Days known to have a partition, per database. A stale entry (a partition dropped by
# another process) is harmless: the digest notices the failed insert, calls forget() and
# ensures again.
_known: dict[str, set[date]] = {}


def _database_key(conn: asyncpg.Connection) -> str:
    # asyncpg keeps the connection's address and database name; a pool proxy forwards them.
    raw = getattr(conn, "_con", None) or conn
    addr = getattr(raw, "_addr", None)
    params = getattr(raw, "_params", None)
    return f"{addr}/{getattr(params, 'database', '')}"


def partition_name(day: date) -> str:
    """The table name of ``day``'s partition (same rule as the SQL function)."""
    # Not strftime: glibc's %Y does not zero-pad years before 1000 (year 1 -> "1").
    return f"logs_p{day.year:04d}{day.month:02d}{day.day:02d}"


def day_of(moment: datetime) -> date:
    """The UTC day whose partition holds ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).date()


async def ensure_partitions(conn: asyncpg.Connection, days: Iterable[date]) -> int:
    """Make sure each day has a partition; returns how many were created.

    Idempotent and safe under concurrency (see migration 0002). Days already known in this
    process cost nothing. Run it outside a long transaction: creating a partition takes a
    lock on ``logs`` that waits for in-flight writers.
    """
    key = _database_key(conn)
    known = _known.setdefault(key, set())
    missing = sorted(set(days) - known)
    if not missing:
        return 0
    # As text: asyncpg encodes date.min/date.max as -infinity/infinity, which have no day.
    created = await conn.fetchval(
        "SELECT tracehub_ensure_log_partitions($1::text[]::date[])",
        [day.isoformat() for day in missing],
    )
    known.update(missing)
    return int(created)


async def prepare_partitions(
    conn: asyncpg.Connection,
    now: datetime,
    *,
    days_back: int = DAYS_BACK,
    days_ahead: int = DAYS_AHEAD,
) -> int:
    """Create the partitions around ``now`` (start-up, migrate, and periodically by workers)."""
    today = day_of(now)
    days = [today + timedelta(days=offset) for offset in range(-days_back, days_ahead + 1)]
    return await ensure_partitions(conn, days)


def forget(conn: asyncpg.Connection, days: Iterable[date] | None = None) -> None:
    """Drop days (or all of them) from this process's cache of known partitions."""
    known = _known.get(_database_key(conn))
    if known is None:
        return
    if days is None:
        known.clear()
    else:
        known.difference_update(days)


async def list_partitions(conn: asyncpg.Connection) -> list[date]:
    """Days that have a partition, ascending."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'logs'::regclass"
    )
    days = []
    for row in rows:
        match = _PARTITION_NAME.match(row["relname"])
        if match:
            days.append(datetime.strptime(match.group(1), "%Y%m%d").date())
    return sorted(days)


async def drop_expired_partitions(
    conn: asyncpg.Connection,
    retention_days: int,
    now: datetime,
    *,
    lock_timeout_ms: int = 5_000,
) -> list[date]:
    """Drop the partitions entirely older than ``now - retention_days``; returns their days.

    A partition is dropped only when its *end* is past the cutoff, so nothing younger than
    the retention is ever lost. Each drop is its own transaction with a lock timeout: a drop
    that would wait behind a long query is skipped and retried on the next run instead of
    stalling ingest. The hourly rollups older than the cutoff are deleted with them.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be >= 1, got {retention_days}")
    cutoff = now.astimezone(timezone.utc) - timedelta(days=retention_days)
    cutoff_day = cutoff.date()
    dropped = []
    for day in await list_partitions(conn):
        if day + timedelta(days=1) > cutoff_day:
            continue
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                await conn.execute(f'DROP TABLE IF EXISTS "{partition_name(day)}"')
        except asyncpg.LockNotAvailableError:
            continue
        dropped.append(day)
    forget(conn, dropped)
    await conn.execute("DELETE FROM hourly_counts WHERE hour < $1", cutoff)
    await conn.execute("DELETE FROM issue_hourly_counts WHERE hour < $1", cutoff)
    return dropped
