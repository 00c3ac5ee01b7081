"""Rows of the ``access_tokens`` table; generation and hashing live in ``auth.tokens``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracehub_server.storage.ids import valid_id
from tracehub_server.storage.users import User, user_from_row


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A personal access token as listed: never the token itself, only its prefix."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """What a presented token resolves to: its id and user, and whether it still works."""

    token_id: int
    user: User
    usable: bool


def _token(row: asyncpg.Record) -> AccessToken:
    return AccessToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


# Constant column list (the S608 silences below are for it; values are bound parameters).
_COLUMNS = "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at"


async def insert_token(
    conn: asyncpg.Connection,
    *,
    user_id: int,
    name: str,
    prefix: str,
    token_hash: bytes,
    expires_at: datetime | None,
) -> AccessToken:
    """Store a token; raises LookupError when the user does not exist."""
    try:
        row = await conn.fetchrow(
            "INSERT INTO access_tokens (user_id, name, prefix, token_hash, expires_at)"  # noqa: S608
            " VALUES ($1, $2, $3, $4, $5) RETURNING " + _COLUMNS,
            user_id,
            name,
            prefix,
            token_hash,
            expires_at,
        )
    except asyncpg.ForeignKeyViolationError:
        raise LookupError(f"no user with id {user_id}") from None
    return _token(row)


async def list_tokens(conn: asyncpg.Connection, user_id: int) -> list[AccessToken]:
    """The user's tokens, revoked ones included, newest first."""
    if not valid_id(user_id):
        return []
    rows = await conn.fetch(
        "SELECT " + _COLUMNS + " FROM access_tokens WHERE user_id = $1 ORDER BY id DESC",  # noqa: S608
        user_id,
    )
    return [_token(row) for row in rows]


async def revoke_token(conn: asyncpg.Connection, token_id: int, *, user_id: int) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs. Idempotent."""
    if not valid_id(token_id) or not valid_id(user_id):
        return False
    row = await conn.fetchrow(
        "UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now())"
        " WHERE id = $1 AND user_id = $2 RETURNING id",
        token_id,
        user_id,
    )
    return row is not None


async def revoke_user_tokens(conn: asyncpg.Connection, user_id: int) -> int:
    """Revoke every live token of the user (after a password reset); returns how many."""
    status = await conn.execute(
        "UPDATE access_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
    )
    return int(status.split()[-1])


async def find_token(conn: asyncpg.Connection, token_hash: bytes) -> TokenOwner | None:
    """The token with this hash and its user; None when unknown."""
    row = await conn.fetchrow(
        "SELECT t.id AS token_id,"
        " t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AS usable,"
        " u.id, u.email, u.is_admin, u.created_at, u.last_login_at"
        " FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        token_hash,
    )
    if row is None:
        return None
    return TokenOwner(token_id=row["token_id"], user=user_from_row(row), usable=row["usable"])


async def touch_token(conn: asyncpg.Connection, token_id: int) -> None:
    """Record a use, at most once a minute per token (no write per request)."""
    await conn.execute(
        "UPDATE access_tokens SET last_used_at = now() WHERE id = $1"
        " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        token_id,
    )
