"""Process-level wiring of ``tracehub worker``: pool with retry, metrics port, signals, and
the partition maintenance timer (see :mod:`tracehub_server.worker.maintenance`) and the
alert dispatcher (see :mod:`tracehub_server.alerts`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import asyncpg

from tracehub_server.alerts.service import start_alerts
from tracehub_server.queue.rabbitmq import Topology
from tracehub_server.settings import Settings
from tracehub_server.storage.db import create_pool, migrate
from tracehub_server.worker.consumer import Backoff, Consumer, ConsumerOptions, is_transient
from tracehub_server.worker.maintenance import PartitionMaintenance

logger = logging.getLogger(__name__)


async def _connect_pool(database_url: str, stop: asyncio.Event) -> asyncpg.Pool | None:
    """A migrated pool, retried with backoff while PostgreSQL is unreachable."""
    backoff = Backoff()
    while not stop.is_set():
        try:
            pool = await create_pool(database_url, min_size=1, max_size=4)
            async with pool.acquire() as conn:
                await migrate(conn)
            return pool
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = backoff.next()
            logger.warning("PostgreSQL unreachable (%s); retrying in %.1fs", exc, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return None


async def run_worker(settings: Settings) -> None:
    """Run one consumer until SIGTERM or SIGINT, then finish its batch and return."""
    from tracehub_server.worker.digest import digest

    if not settings.amqp_url or not settings.database_url:
        raise ValueError("run_worker needs amqp_url and database_url (the CLI resolves both)")
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.host)
    stop = asyncio.Event()
    consumer: Consumer | None = None

    def on_signal() -> None:
        logger.info("stopping: finishing the current batch")
        stop.set()
        if consumer is not None:
            consumer.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    pool = await _connect_pool(settings.database_url, stop)
    if pool is None:
        return
    maintenance = PartitionMaintenance(pool, retention_days=settings.retention_days)
    maintenance.start()
    alerts = start_alerts(settings, pool)
    try:
        # What a killed predecessor left in the alert outbox is planned and sent before new
        # work is taken: the next pass is then a whole interval after this worker's first
        # digest, never racing it.
        await alerts.first_run_done()
        consumer = Consumer(
            amqp_url=settings.amqp_url,
            pool=pool,
            topology=Topology.from_settings(settings),
            digest=digest,
            options=ConsumerOptions.from_settings(settings),
        )
        if stop.is_set():
            return
        await consumer.run()
    finally:
        await alerts.stop()
        await maintenance.stop()
        await pool.close()
    logger.info("worker stopped")
