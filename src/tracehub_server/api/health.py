"""Liveness and readiness probes.

``/healthz`` answers 200 while the process serves HTTP (restart it when it does not);
``/readyz`` answers 200 only when PostgreSQL and the queue are reachable (send it traffic
only then), else 503 with what is wrong.
"""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Request, Response

#: Seconds a readiness check may take before the dependency counts as down.
CHECK_TIMEOUT = 3.0

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    """The process is alive."""
    return _json({"status": "ok"}, 200)


async def _select_one(request: Request) -> None:
    async with request.app.state.pool.acquire() as conn:
        await conn.fetchval("SELECT 1")


async def _database(request: Request) -> str:
    try:
        await asyncio.wait_for(_select_one(request), CHECK_TIMEOUT)
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        return f"error: {type(exc).__name__}: {exc}"[:300]
    return "ok"


async def _queue(request: Request) -> str:
    try:
        ready = await asyncio.wait_for(request.app.state.queue.ready(), CHECK_TIMEOUT)
    except Exception as exc:  # as above
        return f"error: {type(exc).__name__}: {exc}"[:300]
    return "ok" if ready else "error: broker unreachable"


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Database and queue reachable: 200; otherwise 503 naming what is down."""
    database, queue = await asyncio.gather(_database(request), _queue(request))
    ok = database == "ok" and queue == "ok"
    return _json(
        {"status": "ok" if ok else "unavailable", "database": database, "queue": queue},
        200 if ok else 503,
    )


def _json(payload: dict[str, str], status: int) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
