"""LoginThrottle on PostgreSQL: the schedule, its reset, and that no flood or process split
can give an attacked account fresh guesses."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from tracehub_server.auth.throttle import LoginThrottle
from tracehub_server.storage.db import create_pool


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _email() -> str:
    return f"victim-{secrets.token_hex(4)}@example.com"


async def test_waits_grow_after_the_free_attempts(pool: asyncpg.Pool) -> None:
    """Five attempts pass; the sixth waits 1 s, then 2 s after the next failure."""
    clock, email = Clock(), _email()
    t = LoginThrottle(clock=clock)
    async with pool.acquire() as conn:
        assert [await t.attempt(conn, email, "1.2.3.4") for _ in range(5)] == [0.0] * 5
        assert await t.attempt(conn, email, "1.2.3.4") == 1.0
        clock.advance(1.0)
        assert await t.attempt(conn, email, "1.2.3.4") == 0.0
        assert await t.attempt(conn, email, "1.2.3.4") == 2.0


async def test_keys_are_per_email_and_address_and_case_insensitive(pool: asyncpg.Pool) -> None:
    """Another address or email is independent; email case does not matter."""
    t, a, b = LoginThrottle(clock=Clock(), free_attempts=1), _email(), _email()
    async with pool.acquire() as conn:
        assert await t.attempt(conn, a.upper(), "ip") == 0.0
        assert await t.attempt(conn, a, "ip") > 0
        assert await t.attempt(conn, a, "other-ip") == 0.0
        assert await t.attempt(conn, b, "ip") == 0.0


async def test_success_and_quiet_window_reset(pool: asyncpg.Pool) -> None:
    """succeeded() forgets the failures; so does a quiet window."""
    clock, email = Clock(), _email()
    t = LoginThrottle(clock=clock, free_attempts=1, window=60)
    async with pool.acquire() as conn:
        await t.attempt(conn, email, "ip")
        await t.succeeded(conn, email, "ip")
        assert await t.attempt(conn, email, "ip") == 0.0
        clock.advance(61)
        assert await t.attempt(conn, email, "ip") == 0.0


async def test_delay_is_capped_however_long_the_attack(pool: asyncpg.Pool) -> None:
    """Hundreds of counted failures never overflow and never wait beyond max_delay."""
    clock, email = Clock(), _email()
    t = LoginThrottle(clock=clock, free_attempts=0, max_delay=30, window=10_000)
    async with pool.acquire() as conn:
        for _ in range(200):
            clock.advance(31)
            assert await t.attempt(conn, email, "ip") == 0.0
        assert 0 < await t.attempt(conn, email, "ip") <= 30


async def test_a_flood_of_other_names_keeps_the_victims_schedule(pool: asyncpg.Pool) -> None:
    """3,000 failures for invented emails from the same address leave the victim throttled
    (the old in-memory table evicted the oldest keys and reset them)."""
    clock, victim = Clock(), _email()
    t = LoginThrottle(clock=clock)
    async with pool.acquire() as conn:
        for _ in range(6):
            await t.attempt(conn, victim, "10.0.0.1")
        flood = [f"x{i}-{secrets.token_hex(3)}@example.com" for i in range(3000)]
        await conn.executemany(
            "INSERT INTO login_throttle (email, client, failures, last_at) VALUES ($1, $2, 1, $3)",
            [(*t.key(name, "10.0.0.1"), clock.now) for name in flood],
        )
        for name in flood[:200]:  # and through the real path too
            await t.attempt(conn, name, "10.0.0.1")
        assert await t.attempt(conn, victim, "10.0.0.1") == 1.0


async def test_processes_share_one_schedule(pool: asyncpg.Pool, migrated_database_url) -> None:
    """Two throttles on two pools (as two --workers processes) count the same attempts."""
    clock, email = Clock(), _email()
    other_pool = await create_pool(migrated_database_url, min_size=1, max_size=1)
    try:
        first, second = LoginThrottle(clock=clock), LoginThrottle(clock=clock)
        async with pool.acquire() as a, other_pool.acquire() as b:
            for i in range(5):
                assert (
                    await (first if i % 2 else second).attempt(a if i % 2 else b, email, "ip")
                    == 0.0
                )
            assert await first.attempt(a, email, "ip") == 1.0
            assert await second.attempt(b, email, "ip") == 1.0
    finally:
        await other_pool.close()


@pytest.mark.parametrize("quiet", [True, False])
async def test_purge_drops_only_quiet_keys(pool: asyncpg.Pool, quiet: bool) -> None:
    """purge() deletes a key quiet for longer than the window and keeps a recent one."""
    clock, email = Clock(), _email()
    t = LoginThrottle(clock=clock, window=60)
    async with pool.acquire() as conn:
        await t.attempt(conn, email, "ip")
        clock.advance(61 if quiet else 30)
        await t.purge(conn)
        left = await conn.fetchval(
            "SELECT count(*) FROM login_throttle WHERE email = $1", t.key(email, "ip")[0]
        )
    assert left == (0 if quiet else 1)
