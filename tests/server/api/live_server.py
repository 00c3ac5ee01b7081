"""A real TraceHub server on 127.0.0.1 for tests that drive real clients (OTLP, Sentry SDKs).

uvicorn runs the app in a thread of the test process with the in-process queue, so a 2xx
means the entries are committed to the run's PostgreSQL and a test can read them at once.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from tracehub_server.app import create_app
from tracehub_server.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serve ``settings``' app until the block ends; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tracehub-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def stored(database_url: str, project_id: int) -> list[dict[str, Any]]:
    """Every log row of the project, oldest first (a fresh connection: callable anywhere)."""
    import asyncpg

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT * FROM logs WHERE project_id = $1 ORDER BY timestamp, event_id",
                project_id,
            )
        finally:
            await conn.close()
        found = [dict(row) for row in rows]
        for row in found:
            if isinstance(row["extra"], str):
                row["extra"] = orjson.loads(row["extra"])
        return found

    return asyncio.run(fetch())


def issues(database_url: str, project_id: int) -> list[dict[str, Any]]:
    """Every issue of the project, by id."""
    import asyncpg

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT * FROM issues WHERE project_id = $1 ORDER BY id", project_id
            )
        finally:
            await conn.close()
        return [dict(row) for row in rows]

    return asyncio.run(fetch())


def new_project(database_url: str) -> tuple[int, str]:
    """A project with a unique name and an API key of it: ``(project id, key)``."""
    import asyncpg

    from tracehub_server.storage.projects import create_api_key, create_project

    async def create() -> tuple[int, str]:
        conn = await asyncpg.connect(database_url)
        try:
            project = await create_project(conn, f"proto-{secrets.token_hex(6)}")
            _, key = await create_api_key(conn, project.id)
        finally:
            await conn.close()
        return project.id, key

    return asyncio.run(create())


@pytest.fixture
def server_url(migrated_database_url: str, tmp_path: Path) -> Iterator[str]:
    """A real server (in-process queue: a 2xx means committed) on 127.0.0.1."""
    settings = Settings(
        database_url=migrated_database_url, data_dir=tmp_path, api_key_cache_seconds=0
    )
    with live_server(settings) as url:
        yield url


@pytest.fixture
def project_key(migrated_database_url: str) -> tuple[int, str]:
    """A fresh project and its API key: ``(project id, key)``."""
    return new_project(migrated_database_url)
