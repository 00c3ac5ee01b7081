"""The API-key cache (TTL, misses, bound) and the per-project token bucket."""

from __future__ import annotations

import asyncpg
import pytest

from tracehub_server.api.keys import ApiKeyCache
from tracehub_server.api.ratelimit import RateLimiter
from tracehub_server.storage.projects import Project, create_api_key, revoke_api_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_revoked_key_stops_working_once_the_ttl_expires(
    pool: asyncpg.Pool, project: Project
) -> None:
    """A cached key stays valid until its TTL, then the revocation is seen."""
    clock = Clock()
    cache = ApiKeyCache(pool, ttl=5.0, clock=clock)
    async with pool.acquire() as conn:
        key, plaintext = await create_api_key(conn, project.id)
    assert (await cache.lookup(plaintext)).revoked is False
    async with pool.acquire() as conn:
        await revoke_api_key(conn, key.id)
    clock.now += 4.9
    assert (await cache.lookup(plaintext)).revoked is False
    clock.now += 0.2
    assert (await cache.lookup(plaintext)).revoked is True


async def test_misses_are_cached_and_the_cache_is_bounded(pool: asyncpg.Pool) -> None:
    """Unknown keys are remembered too, and the cache never exceeds its bound."""
    cache = ApiKeyCache(pool, ttl=60.0, max_entries=10)
    for i in range(25):
        assert await cache.lookup(f"th_unknown_{i}") is None
    assert len(cache._unknown) <= 10


async def test_a_flood_of_random_keys_does_not_evict_a_good_one(
    pool: asyncpg.Pool, project: Project
) -> None:
    """After many unknown keys, a cached good key is still answered from the cache."""
    cache = ApiKeyCache(pool, ttl=60.0, max_entries=10)
    async with pool.acquire() as conn:
        key, plaintext = await create_api_key(conn, project.id)
    assert (await cache.lookup(plaintext)).revoked is False
    for i in range(100):
        assert await cache.lookup(f"th_flood_{i}") is None
    async with pool.acquire() as conn:
        await revoke_api_key(conn, key.id)
    # Still the cached answer: the lookup did not go back to the database.
    assert (await cache.lookup(plaintext)).revoked is False


def test_rate_limit_is_off_by_default() -> None:
    """A zero rate admits everything."""
    limiter = RateLimiter(rate=0)
    assert limiter.take(1, 10**9) == 0
    assert limiter.retry_after(1) == 0


def test_bucket_goes_into_debt_and_refills() -> None:
    """A batch bigger than the burst is admitted once, then the debt must be paid."""
    clock = Clock()
    limiter = RateLimiter(rate=100, clock=clock)
    assert limiter.take(7, 500) == 0
    wait = limiter.retry_after(7)
    assert wait == pytest.approx(4.01)
    assert limiter.take(7, 1) > 0
    assert limiter.take(8, 1) == 0  # another project is unaffected
    clock.now += 4.1
    assert limiter.take(7, 1) == 0


def test_buckets_are_bounded() -> None:
    """Many distinct projects cannot grow the bucket map without bound."""
    limiter = RateLimiter(rate=1)
    for project_id in range(100_050):
        limiter.take(project_id, 1)
    assert len(limiter._buckets) <= 100_000
