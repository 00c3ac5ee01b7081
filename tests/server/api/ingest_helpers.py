"""Helpers shared by the ingest API tests: an app client with its lifespan, wire entries."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tracehub_server.api.app import create_app
from tracehub_server.settings import Settings


async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def entry(**fields: Any) -> dict[str, Any]:
    """A valid wire entry; keyword arguments override or (as None) null its fields."""
    base: dict[str, Any] = {
        "level": "INFO",
        "message": "user logged in",
        "timestamp": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
        "service": "svc",
        "environment": "test",
        "host": "h1",
        "pid": 42,
        "thread_id": 7,
        "sdk_version": "0.1.0",
        "event_id": secrets.token_hex(16),
    }
    base.update(fields)
    return base
