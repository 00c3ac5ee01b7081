"""Application factory: the ingest API, the query API and the dashboard on one port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tracehub_server import dashboard
from tracehub_server.api.query import router as query_router
from tracehub_server.settings import Settings
from tracehub_server.storage.db import create_pool, migrate


def create_app(settings: Settings) -> FastAPI:
    """Build the ASGI app; the pool is opened (and migrations applied) at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.database_url, "the embedded database is resolved before create_app"
        pool = await create_pool(settings.database_url)
        async with pool.acquire() as conn:
            await migrate(conn)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="TraceHub", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(query_router)
    dashboard.mount(app)
    return app
