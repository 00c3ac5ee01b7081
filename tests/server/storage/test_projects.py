"""Projects and API keys: creation, lookup, authentication, revocation, hostile input."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from tracehub_server.storage.projects import (
    DuplicateProjectError,
    Project,
    authenticate_api_key,
    create_api_key,
    create_project,
    get_project,
    get_project_by_name,
    list_api_keys,
    list_projects,
    revoke_api_key,
    touch_api_keys,
)


def _name() -> str:
    return f"proj-{secrets.token_hex(6)}"


async def test_create_and_get_project(pool: asyncpg.Pool) -> None:
    """A created project is found by id, by name and in the listing."""
    async with pool.acquire() as conn:
        name = _name()
        created = await create_project(conn, f"  {name} ")
        assert created.name == name
        assert await get_project(conn, created.id) == created
        assert await get_project_by_name(conn, name) == created
        assert created in await list_projects(conn)


async def test_duplicate_project_name_is_a_clear_error(pool: asyncpg.Pool) -> None:
    """Creating a second project with the same name raises DuplicateProjectError."""
    async with pool.acquire() as conn:
        name = _name()
        await create_project(conn, name)
        with pytest.raises(DuplicateProjectError, match="already exists"):
            await create_project(conn, name)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 101, "a\x00b", "tab\there"])
async def test_invalid_project_names_are_rejected(pool: asyncpg.Pool, bad: str) -> None:
    """Empty, oversized and control-character names raise ValueError before any SQL."""
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="project name"):
            await create_project(conn, bad)


async def test_concurrent_creates_of_one_name_make_one_project(pool: asyncpg.Pool) -> None:
    """Eight concurrent creations of the same name yield one project and seven clear errors."""
    name = _name()

    async def attempt() -> Project | None:
        async with pool.acquire() as conn:
            try:
                return await create_project(conn, name)
            except DuplicateProjectError:
                return None

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sum(r is not None for r in results) == 1


@pytest.mark.parametrize("bad_id", [0, -1, 2**63, 10**30])
async def test_lookups_with_out_of_range_ids_find_nothing(pool: asyncpg.Pool, bad_id: int) -> None:
    """Ids outside bigint return None/False/[] instead of raising."""
    async with pool.acquire() as conn:
        assert await get_project(conn, bad_id) is None
        assert await list_api_keys(conn, bad_id) == []
        assert await revoke_api_key(conn, bad_id) is False
        with pytest.raises(LookupError):
            await create_api_key(conn, bad_id)


async def test_api_key_round_trip(pool: asyncpg.Pool, project: Project) -> None:
    """A new key authenticates to its project, is stored hashed and listed by prefix only."""
    async with pool.acquire() as conn:
        key, plaintext = await create_api_key(conn, project.id, name="ci")
        assert re.fullmatch(r"th_[A-Za-z0-9]{43}", plaintext)  # a DSN key every Sentry SDK takes
        assert plaintext.startswith(key.prefix)
        assert plaintext not in key.prefix
        auth = await authenticate_api_key(conn, plaintext)
        assert auth is not None
        assert (auth.key_id, auth.project_id, auth.revoked) == (key.id, project.id, False)
        stored = await conn.fetchval("SELECT key_hash FROM api_keys WHERE id = $1", key.id)
        assert plaintext.encode() not in stored
        assert [k.id for k in await list_api_keys(conn, project.id)] == [key.id]


async def test_api_key_for_missing_project_raises_lookup_error(pool: asyncpg.Pool) -> None:
    """A key cannot be created for a project that does not exist."""
    async with pool.acquire() as conn:
        with pytest.raises(LookupError, match="no project"):
            await create_api_key(conn, 2**62)


@pytest.mark.parametrize(
    "presented",
    ["", "th_", "th_" + "A" * 43, "nope", "th_" + "x" * 10_000, "th_\udcff", "th_' OR 1=1 --"],
)
async def test_unknown_and_hostile_keys_do_not_authenticate(
    pool: asyncpg.Pool, presented: str
) -> None:
    """Unknown, oversized, non-UTF-8 and injection-shaped keys authenticate to nothing."""
    async with pool.acquire() as conn:
        assert await authenticate_api_key(conn, presented) is None


async def test_revoked_key_is_reported_revoked(pool: asyncpg.Pool, project: Project) -> None:
    """After revocation the key still resolves, flagged revoked, and revoking again is a no-op."""
    async with pool.acquire() as conn:
        key, plaintext = await create_api_key(conn, project.id)
        assert await revoke_api_key(conn, key.id, project_id=project.id)
        auth = await authenticate_api_key(conn, plaintext)
        assert auth is not None
        assert auth.revoked
        first = (await list_api_keys(conn, project.id))[0].revoked_at
        assert await revoke_api_key(conn, key.id)
        assert (await list_api_keys(conn, project.id))[0].revoked_at == first


async def test_revoke_checks_the_project(pool: asyncpg.Pool, project: Project) -> None:
    """A key cannot be revoked through another project's id."""
    async with pool.acquire() as conn:
        other = await create_project(conn, _name())
        key, plaintext = await create_api_key(conn, project.id)
        assert not await revoke_api_key(conn, key.id, project_id=other.id)
        auth = await authenticate_api_key(conn, plaintext)
        assert auth is not None
        assert not auth.revoked


async def test_touch_api_keys_never_moves_backwards(pool: asyncpg.Pool, project: Project) -> None:
    """last_used_at takes the latest of stored and given times; unknown ids are ignored."""
    now = datetime.now(timezone.utc)
    async with pool.acquire() as conn:
        a, _ = await create_api_key(conn, project.id)
        b, _ = await create_api_key(conn, project.id)
        await touch_api_keys(conn, {a.id: now, b.id: now - timedelta(hours=1), 2**62: now})
        await touch_api_keys(conn, {a.id: now - timedelta(days=1), -5: now})
        await touch_api_keys(conn, {})
        keys = {k.id: k for k in await list_api_keys(conn, project.id)}
        assert keys[a.id].last_used_at == now
        assert keys[b.id].last_used_at == now - timedelta(hours=1)


async def test_concurrent_touches_do_not_deadlock(pool: asyncpg.Pool, project: Project) -> None:
    """Eight flushers touching the same keys in different orders all complete."""
    async with pool.acquire() as conn:
        keys = [(await create_api_key(conn, project.id))[0].id for _ in range(6)]
    now = datetime.now(timezone.utc)

    async def flush(order: list[int]) -> None:
        async with pool.acquire() as conn:
            for _ in range(5):
                await touch_api_keys(conn, dict.fromkeys(order, now))

    orders = [keys if i % 2 else list(reversed(keys)) for i in range(8)]
    await asyncio.wait_for(asyncio.gather(*(flush(o) for o in orders)), timeout=60)
