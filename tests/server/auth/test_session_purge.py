"""Expired sessions are purged: periodically by SessionPurger, a few at each login."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from tracehub_server.auth import sessions
from tracehub_server.auth.passwords import hash_password
from tracehub_server.auth.purge import SessionPurger
from tracehub_server.storage import sessions as rows
from tracehub_server.storage.db import create_pool
from tracehub_server.storage.users import create_user

_HASH = hash_password("purge test password")


async def _user(conn: asyncpg.Connection) -> int:
    return (await create_user(conn, f"purge-{secrets.token_hex(4)}@example.com", _HASH)).id


async def _expired(conn: asyncpg.Connection, user_id: int, n: int = 1) -> list[bytes]:
    hashes = []
    for _ in range(n):
        digest = secrets.token_bytes(32)
        await rows.insert_session(
            conn, token_hash=digest, user_id=user_id, csrf_token="c",
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1),
        )  # fmt: skip
        hashes.append(digest)
    return hashes


async def _alive(conn: asyncpg.Connection, hashes: list[bytes]) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM sessions WHERE token_hash = ANY($1::bytea[])", hashes
    )


async def test_purger_removes_expired_sessions_and_keeps_live_ones(pool: asyncpg.Pool) -> None:
    """Within one interval the expired rows are gone; a live session still loads."""
    async with pool.acquire() as conn:
        uid = await _user(conn)
        expired = await _expired(conn, uid, 3)
        live, _ = await sessions.create_session(conn, uid)
    purger = SessionPurger(pool, interval=0.05)
    purger.start()

    async def two_purges() -> None:
        while purger.completed < 2:
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(two_purges(), timeout=10)
    finally:
        await purger.stop()
    async with pool.acquire() as conn:
        assert await _alive(conn, expired) == 0
        assert await sessions.load_session(conn, live) is not None


async def test_login_purges_a_bounded_number(pool: asyncpg.Pool) -> None:
    """Creating a session deletes at most LOGIN_PURGE_LIMIT expired rows, whoever's."""
    async with pool.acquire() as conn:
        uid = await _user(conn)
        await conn.execute("DELETE FROM sessions WHERE expires_at <= now()")
        expired = await _expired(conn, uid, sessions.LOGIN_PURGE_LIMIT + 5)
        await sessions.create_session(conn, uid)
        assert await _alive(conn, expired) == 5
        assert await rows.delete_expired_sessions(conn) == 5


async def test_purger_survives_database_errors_and_stops_promptly(
    migrated_database_url: str,
) -> None:
    """A closed pool makes each purge fail; the task keeps running and stop() returns."""
    closed = await create_pool(migrated_database_url, min_size=0, max_size=1)
    await closed.close()
    purger = SessionPurger(closed, interval=0.01)
    purger.start()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(purger.stop(), timeout=5)
    assert purger.completed == 0


@pytest.mark.parametrize("interval", [0, -1])
def test_purger_rejects_a_nonpositive_interval(interval: float) -> None:
    """An interval that would spin the loop is refused."""
    with pytest.raises(ValueError, match="interval"):
        SessionPurger(None, interval=interval)  # type: ignore[arg-type]


async def test_delete_expired_sessions_rejects_a_bad_limit(pool: asyncpg.Pool) -> None:
    """limit=0 is a caller bug, not 'delete nothing'."""
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="limit"):
            await rows.delete_expired_sessions(conn, limit=0)
