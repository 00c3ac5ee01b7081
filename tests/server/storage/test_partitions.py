"""Daily log partitions: ahead-of-time creation, concurrency, caching and retention."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import asyncpg
import pytest

from tracehub_server.storage import partitions
from tracehub_server.storage.partitions import (
    drop_expired_partitions,
    ensure_partitions,
    forget,
    list_partitions,
    partition_name,
    prepare_partitions,
)
from tracehub_server.storage.projects import Project


async def test_migrate_created_partitions_around_today(pool: asyncpg.Pool) -> None:
    """After migrate, yesterday to the day after tomorrow (UTC) have partitions."""
    today = datetime.now(timezone.utc).date()
    async with pool.acquire() as conn:
        days = set(await list_partitions(conn))
    assert {today + timedelta(days=d) for d in range(-1, 3)} <= days


async def test_partition_bounds_are_utc_days(pool: asyncpg.Pool) -> None:
    """A partition covers exactly one UTC day whatever the session time zone."""
    day = date(2003, 3, 14)
    async with pool.acquire() as conn:
        await conn.execute("SET TIME ZONE 'America/Los_Angeles'")
        forget(conn)
        await ensure_partitions(conn, [day])
        await conn.execute("SET TIME ZONE 'UTC'")
        bound = await conn.fetchval(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = $1",
            partition_name(day),
        )
        await conn.execute("RESET TIME ZONE")
    assert "2003-03-14 00:00:00+00" in bound
    assert "2003-03-15 00:00:00+00" in bound


async def test_ensure_is_idempotent_and_cached(pool: asyncpg.Pool) -> None:
    """A second ensure creates nothing, and a cached day costs no query at all."""
    days = [date(2004, 2, 28), date(2004, 2, 29), date(2004, 2, 28)]
    async with pool.acquire() as conn:
        forget(conn)
        assert await ensure_partitions(conn, days) == 2
        forget(conn)
        assert await ensure_partitions(conn, days) == 0
        # Cached: even a broken connection state would not be touched.
        assert await ensure_partitions(conn, days) == 0
        assert {date(2004, 2, 28), date(2004, 2, 29)} <= set(await list_partitions(conn))


async def test_concurrent_creators_of_the_same_days_all_succeed(pool: asyncpg.Pool) -> None:
    """Eight connections creating overlapping new days at once never fail, each day made once."""
    base = date(2005, 6, 1)
    spans = [[base + timedelta(days=(i + j) % 5) for j in range(5)] for i in range(8)]

    async def create(days: list[date]) -> int:
        async with pool.acquire() as conn:
            forget(conn)
            return await ensure_partitions(conn, days[::-1] if len(days) % 2 else days)

    created = await asyncio.wait_for(asyncio.gather(*(create(s) for s in spans)), timeout=60)
    assert sum(created) == 5


async def test_extreme_days_get_partitions(pool: asyncpg.Pool) -> None:
    """Year 1 and year 9999 still get a partition, so no timestamp is unstorable."""
    async with pool.acquire() as conn:
        forget(conn)
        assert await ensure_partitions(conn, [date(1, 1, 1), date(9999, 12, 30)]) == 2
        await conn.execute(
            'INSERT INTO logs (project_id, "timestamp", event_id, received_at, level, service,'
            " environment, message) VALUES (1, '0001-01-01 12:00+00', gen_random_uuid(), now(),"
            " 'INFO', 's', 'e', 'm'), (1, '9999-12-30 23:59+00', gen_random_uuid(), now(),"
            " 'INFO', 's', 'e', 'm')"
        )
        await conn.execute(
            "DELETE FROM logs WHERE \"timestamp\" < '0002-01-01' OR \"timestamp\" > '9999-01-01'"
        )


async def test_prepare_uses_the_given_clock(pool: asyncpg.Pool) -> None:
    """prepare_partitions makes the days around the given now, not the wall clock."""
    now = datetime(2006, 1, 1, 0, 30, tzinfo=timezone.utc)
    async with pool.acquire() as conn:
        forget(conn)
        await prepare_partitions(conn, now)
        days = set(await list_partitions(conn))
    assert {date(2005, 12, 31), date(2006, 1, 1), date(2006, 1, 2), date(2006, 1, 3)} <= days


async def test_retention_drops_only_whole_expired_days(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Partitions ending before now - retention go; the one straddling the cutoff stays."""
    now = datetime(2007, 3, 31, 12, 0, tzinfo=timezone.utc)
    old = [date(2007, 3, 1) + timedelta(days=d) for d in range(10)]  # Mar 1..10
    async with pool.acquire() as conn:
        forget(conn)
        await ensure_partitions(conn, old)
        await conn.execute(
            "INSERT INTO hourly_counts VALUES ($1, '2007-03-02 05:00+00', 'INFO', 's', 'e', 3)",
            project.id,
        )
        # cutoff = Mar 6 12:00: Mar 1..5 end by Mar 6 00:00 and go; Mar 6 straddles and stays.
        dropped = await drop_expired_partitions(conn, 25, now)
        left = set(await list_partitions(conn))
        rollup = await conn.fetchval(
            "SELECT count(*) FROM hourly_counts WHERE hour = '2007-03-02 05:00+00'"
        )
    assert set(dropped) >= {date(2007, 3, d) for d in range(1, 6)}
    assert not left & {date(2007, 3, d) for d in range(1, 6)}
    assert {date(2007, 3, d) for d in range(6, 11)} <= left
    assert rollup == 0
    assert partitions._known  # the cache survives but no longer claims the dropped days


async def test_dropped_days_are_recreated_on_demand(pool: asyncpg.Pool) -> None:
    """After retention drops a day, ensure creates it again (the cache was corrected)."""
    day = date(2008, 1, 5)
    async with pool.acquire() as conn:
        await ensure_partitions(conn, [day])
        await drop_expired_partitions(conn, 1, datetime(2008, 1, 10, tzinfo=timezone.utc))
        assert day not in await list_partitions(conn)
        assert await ensure_partitions(conn, [day]) == 1


async def test_retention_rejects_nonsense(pool: asyncpg.Pool) -> None:
    """A retention below one day is refused with a message saying what is allowed."""
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="retention_days must be >= 1"):
            await drop_expired_partitions(conn, 0, datetime.now(timezone.utc))


def test_partition_name_pads_early_years() -> None:
    """Year 1 is named like the SQL function names it (strftime would drop the zeros)."""
    assert partition_name(date(1, 1, 1)) == "logs_p00010101"
    assert partition_name(date(2024, 5, 7)) == "logs_p20240507"
