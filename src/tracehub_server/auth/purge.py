"""Periodic removal of expired sessions and of quiet login-throttle counts.

An expired session is refused at once (``load_session`` checks ``expires_at``), so purging
is housekeeping: without it the ``sessions`` table only grows. Each server process runs one
:class:`SessionPurger` from the app's lifespan (and each login drops a few expired rows, see
``auth.sessions``). Several processes purging at once is harmless: a ``DELETE`` of rows
another process already deleted removes nothing.
"""

from __future__ import annotations

import logging

import asyncpg

from tracehub_server.auth.throttle import LoginThrottle
from tracehub_server.periodic import PeriodicTask
from tracehub_server.storage import sessions as rows

logger = logging.getLogger(__name__)

#: Seconds between purges.
PURGE_INTERVAL_SECONDS = 3600.0


class SessionPurger(PeriodicTask):
    """A background task deleting expired sessions every ``interval`` seconds.

    The first purge runs right after :meth:`start`. A database error is logged and retried
    at the next interval; it never stops the task.
    """

    task_name = "tracehub-session-purge"

    def __init__(self, pool: asyncpg.Pool, *, interval: float = PURGE_INTERVAL_SECONDS) -> None:
        super().__init__(interval=interval)
        self._pool = pool
        #: Purges that ran to completion (for tests and diagnostics).
        self.completed = 0

    async def purge_once(self) -> int:
        """Delete every expired session (and quiet throttle counts) now; returns the sessions."""
        async with self._pool.acquire() as conn:
            await LoginThrottle().purge(conn)
            return await rows.delete_expired_sessions(conn)

    async def tick(self) -> None:
        try:
            removed = await self.purge_once()
            self.completed += 1
            if removed:
                logger.info("purged %d expired sessions", removed)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("expired-session purge failed (retrying later): %s", exc)
