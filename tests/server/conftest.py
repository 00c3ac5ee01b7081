"""Fixtures for server tests: a connection pool on the run's migrated database."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tracehub_server.storage.db import create_pool
from tracehub_server.storage.projects import Project, create_project


@pytest.fixture
async def pool(migrated_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the run's migrated database, closed after the test."""
    pool = await create_pool(migrated_database_url, min_size=1, max_size=10)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def project(pool: asyncpg.Pool) -> Project:
    """A project with a unique name, so tests sharing the run's database never collide."""
    async with pool.acquire() as conn:
        return await create_project(conn, f"test-{secrets.token_hex(6)}")
