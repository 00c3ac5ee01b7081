"""The alert task every digesting process runs: evaluate, plan, deliver -- on one timer.

Started by ``tracehub worker`` and by the embedded server (which digests in-process). It
runs beside ingestion, never in its path: the digest only writes outbox rows, and a
channel that is down costs this task's time, not the digest's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

import asyncpg

from tracehub_server.alerts.channels import Sender, senders_from_settings
from tracehub_server.alerts.dispatcher import DispatchOptions, dispatch
from tracehub_server.alerts.evaluate import evaluate
from tracehub_server.alerts.planner import PlanOptions, plan
from tracehub_server.periodic import PeriodicTask
from tracehub_server.settings import Settings

logger = logging.getLogger(__name__)

#: Batches one run delivers at most before yielding to the next run.
MAX_BATCHES_PER_RUN = 10


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AlertService(PeriodicTask):
    """Runs :func:`evaluate` (every ``evaluate_seconds``), :func:`plan` and :func:`dispatch`."""

    task_name = "tracehub-alerts"

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        senders: Mapping[str, Sender],
        plan_options: PlanOptions,
        dispatch_options: DispatchOptions = DispatchOptions(),
        interval: float = 2.0,
        evaluate_seconds: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(interval=interval)
        self._pool = pool
        self._senders = senders
        self._plan = plan_options
        self._dispatch = dispatch_options
        self._evaluate_every = evaluate_seconds
        self._evaluated_at: float | None = None  # time.monotonic(): immune to clock steps
        self._clock = clock
        self.runs = 0

    async def run_once(self) -> None:
        """One evaluate (if due) / plan / deliver pass; raises what the database raised."""
        now = self._clock()
        started = time.monotonic()
        if self._evaluated_at is None or started - self._evaluated_at >= self._evaluate_every:
            async with self._pool.acquire() as conn:
                await evaluate(conn, now)
            self._evaluated_at = started
        async with self._pool.acquire() as conn:
            await plan(conn, self._plan, now)
        for _ in range(MAX_BATCHES_PER_RUN):
            if (
                await dispatch(self._pool, self._senders, options=self._dispatch, now=self._clock())
                < self._dispatch.batch
            ):
                break

    async def tick(self) -> None:
        try:
            await self.run_once()
        except Exception as exc:  # the database may be down; the next run retries
            logger.warning("alert dispatch failed (will retry): %s", exc)
        self.runs += 1


def start_alerts(settings: Settings, pool: asyncpg.Pool) -> AlertService:
    """The alert task configured from ``settings``, started."""
    service = AlertService(
        pool,
        senders=senders_from_settings(settings),
        plan_options=PlanOptions(
            hourly_cap=settings.alert_hourly_cap,
            digest_minutes=settings.alert_digest_minutes,
            deadline=timedelta(hours=settings.alert_deadline_hours),
            public_url=settings.public_url,
        ),
        interval=settings.alert_dispatch_seconds,
        evaluate_seconds=settings.alert_evaluate_seconds,
    )
    service.start()
    return service
