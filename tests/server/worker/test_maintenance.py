"""Partition maintenance on the real PostgreSQL: expired days dropped, coming days created."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import asyncpg
import pytest

from tracehub_server.storage.partitions import ensure_partitions, list_partitions
from tracehub_server.worker.maintenance import PartitionMaintenance, maintain_partitions

# Far enough in the past that no other test's partitions are near the retention cutoff.
EXPIRED = date(1999, 1, 1)
RETENTION_DAYS = 3650


async def _until_runs(timer: PartitionMaintenance, runs: int) -> None:
    while timer.runs < runs:
        await asyncio.sleep(0.01)


async def _days(pool: asyncpg.Pool) -> set[date]:
    async with pool.acquire() as conn:
        return set(await list_partitions(conn))


async def test_expired_partition_is_dropped_and_tomorrows_created(pool: asyncpg.Pool) -> None:
    """One run drops a partition past retention and creates the days after 'now'."""
    now = datetime.now(timezone.utc) + timedelta(days=5)  # days no migration created yet
    async with pool.acquire() as conn:
        await ensure_partitions(conn, [EXPIRED])
    assert EXPIRED in await _days(pool)
    tomorrow = now.date() + timedelta(days=1)
    assert tomorrow not in await _days(pool)

    result = await maintain_partitions(pool, retention_days=RETENTION_DAYS, now=now)

    days = await _days(pool)
    assert EXPIRED not in days
    assert EXPIRED in result.dropped
    assert {now.date() + timedelta(days=d) for d in range(-1, 3)} <= days
    assert result.created >= 1


async def test_a_second_run_changes_nothing(pool: asyncpg.Pool) -> None:
    """Maintenance is idempotent: run again, nothing is created or dropped."""
    now = datetime.now(timezone.utc)
    await maintain_partitions(pool, retention_days=RETENTION_DAYS, now=now)
    again = await maintain_partitions(pool, retention_days=RETENTION_DAYS, now=now)
    assert (again.created, again.dropped) == (0, [])


async def test_concurrent_runs_do_not_fail(pool: asyncpg.Pool) -> None:
    """Several processes' timers firing together all succeed (creation and drop race)."""
    now = datetime.now(timezone.utc) + timedelta(days=9)
    async with pool.acquire() as conn:
        await ensure_partitions(conn, [EXPIRED])
    results = await asyncio.gather(
        *(maintain_partitions(pool, retention_days=RETENTION_DAYS, now=now) for _ in range(4))
    )
    assert EXPIRED not in await _days(pool)
    assert sum(EXPIRED in r.dropped for r in results) >= 1


async def test_timer_runs_at_start_and_stops_promptly(pool: asyncpg.Pool) -> None:
    """start() runs once at once, then on the interval; stop() returns without waiting."""
    now = datetime.now(timezone.utc) + timedelta(days=13)
    async with pool.acquire() as conn:
        await ensure_partitions(conn, [EXPIRED])
    timer = PartitionMaintenance(
        pool, retention_days=RETENTION_DAYS, interval=0.05, clock=lambda: now
    )
    timer.start()
    try:
        await asyncio.wait_for(_until_runs(timer, 2), 20)
    finally:
        await asyncio.wait_for(timer.stop(), 10)
    days = await _days(pool)
    assert EXPIRED not in days
    assert now.date() + timedelta(days=1) in days


async def test_timer_survives_a_failing_run(migrated_database_url: str) -> None:
    """A failing run (here a closed pool) is logged and retried, never kills the timer."""
    broken = await asyncpg.create_pool(migrated_database_url, min_size=0, max_size=1)
    await broken.close()
    timer = PartitionMaintenance(broken, retention_days=RETENTION_DAYS, interval=0.01)
    timer.start()
    try:
        await asyncio.wait_for(_until_runs(timer, 3), 20)
    finally:
        await asyncio.wait_for(timer.stop(), 10)


def test_interval_must_be_positive(pool: asyncpg.Pool) -> None:
    """A zero interval is refused with a message naming it."""
    with pytest.raises(ValueError, match="interval must be > 0"):
        PartitionMaintenance(pool, retention_days=30, interval=0)
