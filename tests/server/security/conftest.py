"""A real ``tracehub server`` on 127.0.0.1 with small body bounds, for the hostile-load tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
from e2e_helpers import env_for, free_port, start, stop, wait_healthy
from hostile_support import Server

#: Small bounds so that a test reaches them quickly; the defaults are in ``Settings``.
BOUNDS = {
    "TRACEHUB_BODY_TIMEOUT_SECONDS": "3",
    "TRACEHUB_MAX_CONCURRENT_BODIES": "8",
    "TRACEHUB_BODY_MEMORY_MB": "64",
}


async def _project_key(dsn: str) -> str:
    from tracehub_server.storage.db import create_pool
    from tracehub_server.storage.projects import create_api_key, create_project

    pool = await create_pool(dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            project = await create_project(conn, f"hostile-{secrets.token_hex(4)}")
            _, key = await create_api_key(conn, project.id)
            return key
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_database_url: str
) -> Iterator[Server]:
    """An embedded-queue server on this run's database; yields its port, pid and an API key."""
    home = tmp_path_factory.mktemp("hostile")
    env = env_for(home, TRACEHUB_DATABASE_URL=migrated_database_url, **BOUNDS)
    port, log = free_port(), home / "server.log"
    process = start(["server", "--port", str(port)], env, log)
    try:
        wait_healthy(port, process, log)
        yield Server(
            port=port,
            pid=process.pid,
            api_key=asyncio.run(_project_key(migrated_database_url)),
            dsn=migrated_database_url,
        )
    finally:
        stop(process)
