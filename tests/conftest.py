"""Fixtures shared by every test package: a private PostgreSQL database and RabbitMQ vhost.

Each test run creates its own database and vhost with a unique name and removes them at the
end, so concurrent runs (CI, several developers) never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import asyncpg

PG_ADMIN_URL = os.environ.get(
    "TRACEHUB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AMQP_BASE_URL = os.environ.get("TRACEHUB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")


def _run_id() -> str:
    return f"th_test_{os.getpid()}_{secrets.token_hex(4)}"


async def _admin_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _scratch_database() -> Iterator[str]:
    """Create an empty database named for this run, yield its URL, drop it afterwards."""
    pytest.importorskip("asyncpg")
    name = _run_id()
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(PG_ADMIN_URL, name)
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test run, dropped afterwards."""
    yield from _scratch_database()


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """A database of its own for one test (for what the shared one cannot show: emptiness)."""
    yield from _scratch_database()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test run (guest has full rights), deleted afterwards."""
    vhost = _run_id()
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{AMQP_BASE_URL}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _migrated(database_url: str) -> str:
    import asyncpg

    from tracehub_server.storage.db import migrate

    async def apply() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(apply())
    return database_url


@pytest.fixture(scope="session")
def migrated_database_url(database_url: str) -> str:
    """The run's database with every TraceHub migration applied."""
    return _migrated(database_url)


@pytest.fixture(scope="session")
def isolated_migrated_database_url() -> Iterator[str]:
    """A second migrated database, for tests whose subject is state global to a database (the
    alert planner plans every project's triggers): servers that other tests leave running on
    the shared one would plan them too."""
    for url in _scratch_database():
        yield _migrated(url)


@pytest.fixture
async def pool(migrated_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the run's migrated database, closed after the test."""
    from tracehub_server.storage.db import create_pool

    pool = await create_pool(migrated_database_url, min_size=1, max_size=10)
    try:
        yield pool
    finally:
        await pool.close()
