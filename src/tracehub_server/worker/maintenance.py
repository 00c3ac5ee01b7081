"""Partition upkeep on a timer: the coming days' partitions created, expired days dropped.

Run by every ``tracehub worker`` and by the embedded server (which digests in-process), at
start-up and then every ``MAINTENANCE_SECONDS``. Both steps are safe from any number of
processes at once: creating a partition re-checks under an advisory lock, and each drop is
its own short transaction with a lock timeout, skipped (retried next time) rather than
stalling ingest. Creating partitions ahead of time keeps the lock that partition DDL takes
on ``logs`` off the digest's path; dropping whole days is what ``TRACEHUB_RETENTION_DAYS``
means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone

import asyncpg

from tracehub_server.periodic import PeriodicTask
from tracehub_server.storage.partitions import drop_expired_partitions, prepare_partitions

logger = logging.getLogger(__name__)

#: Seconds between two maintenance runs (a day's partition exists two days ahead, so a
#: missed run or two costs nothing).
MAINTENANCE_SECONDS = 600.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    """What one run did."""

    created: int
    dropped: list[date]


async def maintain_partitions(
    pool: asyncpg.Pool, *, retention_days: int, now: datetime
) -> MaintenanceResult:
    """Create the partitions around ``now`` and drop those past the retention."""
    async with pool.acquire() as conn:
        created = await prepare_partitions(conn, now)
        dropped = await drop_expired_partitions(conn, retention_days, now)
    if created or dropped:
        logger.info(
            "partitions: %d created, %d expired dropped (%s)",
            created,
            len(dropped),
            ", ".join(d.isoformat() for d in dropped) or "-",
        )
    return MaintenanceResult(created, dropped)


class PartitionMaintenance(PeriodicTask):
    """Runs :func:`maintain_partitions` now and every ``interval`` seconds until stopped."""

    task_name = "tracehub-partition-maintenance"

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        retention_days: int,
        interval: float = MAINTENANCE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(interval=interval)
        self._pool = pool
        self._retention_days = retention_days
        self._clock = clock
        self.runs = 0

    async def tick(self) -> None:
        try:
            await maintain_partitions(
                self._pool, retention_days=self._retention_days, now=self._clock()
            )
        except Exception as exc:  # the database may be down; the next run retries
            logger.warning("partition maintenance failed (will retry): %s", exc)
        self.runs += 1
