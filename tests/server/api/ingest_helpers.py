"""Helpers shared by the ingest API tests: an app client with its lifespan, wire entries."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tracehub_server.app import create_app
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


#: A field given as this is left out of :func:`sdk_entry` altogether.
ABSENT: Any = object()


def sdk_entry(now: datetime, **fields: Any) -> dict[str, Any]:
    """An entry with every field, as the SDK writes it, five minutes before ``now``;
    keyword arguments override fields (``ABSENT`` leaves one out)."""
    base: dict[str, Any] = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": (now - timedelta(minutes=5)).isoformat(timespec="milliseconds"),
        "level": "ERROR",
        "message": "m",
        "service": "svc",
        "environment": "prod",
        "host": "h",
        "pid": 1,
        "thread_id": "MainThread",
        "sdk_version": "0.1.0",
        "module": "mod",
        "trace_id": "t" * 32,
        "error_type": "E",
        "error_message": "em",
        "stack_trace": "st",
        "extra": {"k": [1, {"x": None}]},
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not ABSENT}
