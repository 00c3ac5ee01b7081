"""Fixtures for server tests: a project on the run's migrated database (``pool`` is shared)."""

from __future__ import annotations

import secrets

import asyncpg
import pytest

from tracehub_server.storage.projects import Project, create_project


@pytest.fixture
async def project(pool: asyncpg.Pool) -> Project:
    """A project with a unique name, so tests sharing the run's database never collide."""
    async with pool.acquire() as conn:
        return await create_project(conn, f"test-{secrets.token_hex(6)}")
