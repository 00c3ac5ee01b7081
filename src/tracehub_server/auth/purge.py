"""Periodic removal of expired sessions.

An expired session is refused at once (``load_session`` checks ``expires_at``), so purging
is housekeeping: without it the ``sessions`` table only grows. Each server process runs one
:class:`SessionPurger` from the app's lifespan (and each login drops a few expired rows, see
``auth.sessions``). Several processes purging at once is harmless: a ``DELETE`` of rows
another process already deleted removes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from tracehub_server.storage import sessions as rows

logger = logging.getLogger(__name__)

#: Seconds between purges.
PURGE_INTERVAL_SECONDS = 3600.0


class SessionPurger:
    """A background task deleting expired sessions every ``interval`` seconds.

    The first purge runs right after :meth:`start`. A database error is logged and retried
    at the next interval; it never stops the task.
    """

    def __init__(self, pool: asyncpg.Pool, *, interval: float = PURGE_INTERVAL_SECONDS) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self._pool = pool
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        #: Purges that ran to completion (for tests and diagnostics).
        self.completed = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tracehub-session-purge")

    async def stop(self) -> None:
        """Cancel the task and wait for it (a purge in progress is rolled back)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def purge_once(self) -> int:
        """Delete every expired session now; returns how many."""
        async with self._pool.acquire() as conn:
            return await rows.delete_expired_sessions(conn)

    async def _run(self) -> None:
        while True:
            try:
                removed = await self.purge_once()
                self.completed += 1
                if removed:
                    logger.info("purged %d expired sessions", removed)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("expired-session purge failed (retrying later): %s", exc)
            await asyncio.sleep(self._interval)
