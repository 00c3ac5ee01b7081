"""API-key lookups for ingest: a short in-process cache and batched ``last_used_at``.

The cache keeps each lookup (hits *and* misses) for ``ttl`` seconds, so a busy SDK costs one
database probe per key per ``ttl`` instead of one per request, and a revoked key stops
working within ``ttl`` seconds (``api_key_cache_seconds``; 0 disables the cache).

Keys that exist and keys that do not are cached apart, each in a bounded TTL cache that
evicts the least recently used entry when full. Anyone can present random keys, but only
the keys in the database can fill the cache of known keys: a flood of random keys churns
the cache of misses and never evicts a good key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

import asyncpg
from cachetools import TTLCache

from tracehub_server.storage.projects import ApiKeyAuth, authenticate_api_key, touch_api_keys

logger = logging.getLogger(__name__)

#: Lookups remembered at most, in each of the two caches (known keys, unknown keys).
MAX_CACHED_KEYS = 10_000
#: Seconds between writes of collected ``last_used_at`` values.
USAGE_FLUSH_SECONDS = 10.0


class ApiKeyCache:
    """Authenticates presented keys through two TTL caches in front of the database."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        ttl: float,
        max_entries: int = MAX_CACHED_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._ttl = ttl
        size = max(max_entries, 1)
        self._known: TTLCache[str, ApiKeyAuth] = TTLCache(size, ttl or 1, timer=clock)
        self._unknown: TTLCache[str, bool] = TTLCache(size, ttl or 1, timer=clock)

    async def lookup(self, key: str) -> ApiKeyAuth | None:
        """The key's project and revocation state, or None for an unknown key."""
        auth = self._known.get(key)
        if auth is not None or key in self._unknown:
            return auth
        async with self._pool.acquire() as conn:
            auth = await authenticate_api_key(conn, key)
        if self._ttl > 0:
            if auth is None:
                self._unknown[key] = True
            else:
                self._known[key] = auth
        return auth


class KeyUsage:
    """Collects when keys were used and writes them in one statement now and then."""

    def __init__(self, pool: asyncpg.Pool, *, interval: float = USAGE_FLUSH_SECONDS) -> None:
        self._pool = pool
        self._interval = interval
        self._pending: dict[int, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, key_id: int, when: datetime) -> None:
        """Note a use; costs a dict assignment on the request path."""
        self._pending[key_id] = when

    async def flush(self) -> None:
        """Write what was collected; on failure the values are kept for the next flush."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            async with self._pool.acquire() as conn:
                await touch_api_keys(conn, pending)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("could not record API key use (will retry): %s", exc)
            for key_id, when in pending.items():
                self._pending.setdefault(key_id, when)

    def start(self) -> None:
        """Flush every ``interval`` seconds in the background."""
        self._task = asyncio.create_task(self._run(), name="tracehub-key-usage")

    async def stop(self) -> None:
        """Stop the background flush and write what is left."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
