"""Rows of the ``sessions`` table; the token handling lives in ``auth.sessions``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracehub_server.storage.users import User, user_from_row


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    user: User
    csrf_token: str
    created_at: datetime
    expires_at: datetime


async def insert_session(
    conn: asyncpg.Connection,
    *,
    token_hash: bytes,
    user_id: int,
    csrf_token: str,
    expires_at: datetime,
) -> int:
    """Store a new session; returns its id."""
    return await conn.fetchval(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)"
        " VALUES ($1, $2, $3, $4) RETURNING id",
        token_hash,
        user_id,
        csrf_token,
        expires_at,
    )


async def fetch_live_session(conn: asyncpg.Connection, token_hash: bytes) -> SessionRow | None:
    """The unexpired session with this token hash, joined to its user."""
    row = await conn.fetchrow(
        "SELECT s.id, s.csrf_token, s.created_at, s.expires_at,"
        " u.id AS user_id, u.email AS user_email, u.is_admin AS user_is_admin,"
        " u.created_at AS user_created_at, u.last_login_at AS user_last_login_at"
        " FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = $1 AND s.expires_at > now()",
        token_hash,
    )
    if row is None:
        return None
    return SessionRow(
        id=row["id"],
        user=user_from_row(row, prefix="user_"),
        csrf_token=row["csrf_token"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


async def delete_session(conn: asyncpg.Connection, token_hash: bytes) -> bool:
    """Remove one session; False when it did not exist."""
    row = await conn.fetchrow("DELETE FROM sessions WHERE token_hash = $1 RETURNING id", token_hash)
    return row is not None


async def delete_user_sessions(
    conn: asyncpg.Connection, user_id: int, *, keep_token_hash: bytes | None = None
) -> int:
    """Remove the user's sessions except the one kept; returns how many were removed."""
    rows = await conn.fetch(
        "DELETE FROM sessions WHERE user_id = $1"
        " AND ($2::bytea IS NULL OR token_hash <> $2) RETURNING id",
        user_id,
        keep_token_hash,
    )
    return len(rows)


async def delete_expired_sessions(conn: asyncpg.Connection, *, limit: int | None = None) -> int:
    """Purge expired sessions (they are already refused; this only reclaims space).

    ``limit`` caps the rows deleted in one statement, so a purge on a request's path (at
    login) stays short however many sessions have piled up; the periodic purge has none.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    rows = await conn.fetch(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= now()"
        " LIMIT $1) RETURNING id",
        limit,
    )
    return len(rows)
