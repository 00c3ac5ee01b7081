"""A login moves a password hashed with weaker argon2 parameters to today's."""

from __future__ import annotations

import httpx
from argon2 import PasswordHasher
from query_api_fixtures import PASSWORD
from query_api_support import World

from tracehub_server.auth.passwords import needs_rehash, verify_password
from tracehub_server.storage.users import get_password_hash, set_password

WEAK = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def test_api_login_rehashes_a_weak_hash(client: httpx.AsyncClient, pool, world: World):
    """After a JSON login the stored hash verifies the same password and needs no rehash."""
    async with pool.acquire() as conn:
        await set_password(conn, world.member.id, WEAK.hash(PASSWORD))
    r = await client.post(
        "/api/v1/auth/login", json={"email": world.member.email, "password": PASSWORD}
    )
    assert r.status_code == 200
    async with pool.acquire() as conn:
        stored = await get_password_hash(conn, world.member.id)
    assert stored is not None
    assert not needs_rehash(stored)
    assert verify_password(stored, PASSWORD)


async def test_current_hash_is_left_alone(client: httpx.AsyncClient, pool, world: World):
    """A hash already made with today's parameters is not rewritten at login."""
    async with pool.acquire() as conn:
        before = await get_password_hash(conn, world.viewer.id)
    r = await client.post(
        "/api/v1/auth/login", json={"email": world.viewer.email, "password": PASSWORD}
    )
    assert r.status_code == 200
    async with pool.acquire() as conn:
        assert await get_password_hash(conn, world.viewer.id) == before
