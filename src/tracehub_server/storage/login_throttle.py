"""Rows of the ``login_throttle`` table; the schedule itself lives in ``auth.throttle``."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# One statement, so concurrent attempts (any process) are serialised on the row: an attempt
# is counted only when the previous one's delay has passed (or the window has reset it).
# The exponent is capped at 30 so power() never overflows however long an attack lasts.
_COUNT_ATTEMPT = """
INSERT INTO login_throttle AS t (email, client, failures, last_at) VALUES ($1, $2, 1, $3)
ON CONFLICT (email, client) DO UPDATE
SET failures = CASE WHEN $3 - t.last_at > make_interval(secs => $6) THEN 1
                    ELSE t.failures + 1 END,
    last_at = $3
WHERE $3 - t.last_at > make_interval(secs => $6)
   OR t.failures < $4
   OR t.last_at + make_interval(secs => least(power(2, least(t.failures - $4, 30)), $5)) <= $3
RETURNING failures
"""


async def count_attempt(
    conn: asyncpg.Connection,
    *,
    email: str,
    client: str,
    now: datetime,
    free_attempts: int,
    max_delay: float,
    window: float,
) -> tuple[bool, int, datetime]:
    """Count an attempt if its delay has passed: ``(counted, failures, last attempt time)``."""
    failures = await conn.fetchval(
        _COUNT_ATTEMPT, email, client, now, free_attempts, float(max_delay), float(window)
    )
    if failures is not None:
        return True, failures, now
    row = await conn.fetchrow(
        "SELECT failures, last_at FROM login_throttle WHERE email = $1 AND client = $2",
        email,
        client,
    )
    if row is None:  # deleted by a success in between: the next attempt starts afresh
        return True, 0, now
    return False, row["failures"], row["last_at"]


async def forget(conn: asyncpg.Connection, *, email: str, client: str) -> None:
    """Drop the failures of one (email, client) after a successful login."""
    await conn.execute("DELETE FROM login_throttle WHERE email = $1 AND client = $2", email, client)


async def delete_quiet(conn: asyncpg.Connection, *, before: datetime) -> int:
    """Delete rows whose last attempt is older than ``before``; returns how many."""
    status = await conn.execute("DELETE FROM login_throttle WHERE last_at < $1", before)
    return int(status.split()[-1])
