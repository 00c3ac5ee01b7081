"""The composition root: ingest API, query API, dashboard and (embedded) digest on one port.

The queue is chosen here: RabbitMQ when ``amqp_url`` is set (workers digest), otherwise the
in-process queue (this process digests, 202 means committed).

``POST /api/v1/ingest`` is dispatched by :class:`TraceHubApp` before FastAPI's middleware,
routing and dependency machinery: the ingest view is a plain ASGI callable, and that
machinery cost more CPU per request than the validation of a 50-entry batch.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import asyncpg
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.types import Receive, Scope, Send

from tracehub_server import dashboard
from tracehub_server.alerts.service import start_alerts
from tracehub_server.api import health, metrics
from tracehub_server.api import ingest as ingest_view
from tracehub_server.api.body import BodyGate
from tracehub_server.api.ingest import IngestService
from tracehub_server.api.keys import ApiKeyCache, KeyUsage
from tracehub_server.api.offload import BodyParser
from tracehub_server.api.protocols import view_for as protocol_view
from tracehub_server.api.query import router as query_router
from tracehub_server.api.ratelimit import RateLimiter
from tracehub_server.api.scrubbing import ScrubbingQueue, ScrubRulesCache
from tracehub_server.api.validation import EntryValidator
from tracehub_server.api.validation_errors import validation_error
from tracehub_server.auth.origin import SameOriginWrites
from tracehub_server.auth.purge import SessionPurger
from tracehub_server.queue.base import IngestQueue
from tracehub_server.settings import Settings
from tracehub_server.storage.db import create_pool, migrate

if TYPE_CHECKING:
    from tracehub_server.worker.maintenance import PartitionMaintenance

logger = logging.getLogger(__name__)


async def _open_queue(settings: Settings, pool: asyncpg.Pool) -> IngestQueue:
    if settings.amqp_url:
        from tracehub_server.queue.rabbitmq import RabbitPublisher, Topology

        publisher = RabbitPublisher(
            settings.amqp_url,
            Topology.from_settings(settings),
            publish_timeout=settings.publish_timeout_seconds,
            max_in_flight=settings.publish_in_flight,
        )
        await publisher.start()
        return publisher
    # The embedded default digests here; the worker package is imported only then.
    from tracehub_server.queue.inprocess import InProcessQueue
    from tracehub_server.worker.digest import digest
    from tracehub_server.worker.metrics import observe_digest

    return InProcessQueue(pool, digest, observe=observe_digest)


def _start_maintenance(settings: Settings, pool: asyncpg.Pool) -> PartitionMaintenance | None:
    """Embedded, this process digests, so it also keeps the partitions (else: the workers)."""
    if settings.amqp_url:
        return None
    from tracehub_server.worker.maintenance import PartitionMaintenance

    maintenance = PartitionMaintenance(pool, retention_days=settings.retention_days)
    maintenance.start()
    return maintenance


class TraceHubApp(FastAPI):
    """FastAPI, except that the ingest path goes straight to its lean ASGI view."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == ingest_view.INGEST_PATH:
            await ingest_view.serve(self.state.ingest, scope, receive, send)
            return
        if scope["type"] == "http" and (view := protocol_view(scope["path"])) is not None:
            await view(self.state.ingest, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    """Build the ASGI app; the pool and queue are opened (migrations applied) at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.database_url:
            raise ValueError("create_app needs database_url (the CLI resolves the embedded one)")
        pool = await create_pool(settings.database_url, max_size=20)
        async with pool.acquire() as conn:
            await migrate(conn)
        rules = ScrubRulesCache(pool, ttl=settings.api_key_cache_seconds)
        queue = ScrubbingQueue(await _open_queue(settings, pool), rules)  # PII out first
        usage = KeyUsage(pool)
        app.state.pool = pool
        app.state.queue = queue
        app.state.ingest = IngestService(
            keys=ApiKeyCache(pool, ttl=settings.api_key_cache_seconds),
            usage=usage,
            limiter=RateLimiter(rate=settings.rate_limit_per_second),
            validator=EntryValidator(retention_days=settings.retention_days),
            queue=queue,
            max_queue_depth=settings.max_queue_depth,
            bodies=BodyGate.from_settings(settings),
            parser=BodyParser.from_settings(settings),
        )
        usage.start()
        app.state.ingest.parser.start()  # the parser children spawn now, not under load
        purger = SessionPurger(pool)
        purger.start()
        maintenance = _start_maintenance(settings, pool)
        alerts = None if settings.amqp_url else start_alerts(settings, pool)  # else: workers
        try:
            yield
        finally:
            # Requests in flight have finished (uvicorn drains them before lifespan exit).
            if alerts is not None:
                await alerts.stop()
            if maintenance is not None:
                await maintenance.stop()
            await purger.stop()
            await queue.close()
            await usage.stop()
            await pool.close()

    app = TraceHubApp(
        title="TraceHub", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )  # /docs and /redoc are the dashboard's (dashboard.apidocs), served without a CDN
    app.state.settings = settings
    app.add_middleware(SameOriginWrites, public_url=settings.public_url)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(health.router)
    if settings.metrics_public:
        app.include_router(metrics.router)
    app.include_router(query_router)
    dashboard.mount(app)
    return app


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn --factory`` (``tracehub server --workers N``): env settings.

    The embedded database is resolved (started or joined) in each process.
    """
    from tracehub_server.embedded import resolve_database_url
    from tracehub_server.settings import load_settings

    settings = load_settings()
    settings = settings.model_copy(update={"database_url": resolve_database_url(settings)})
    return create_app(settings)
