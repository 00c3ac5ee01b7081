"""Personal access tokens (``thp_…``) for ``Authorization: Bearer`` on the JSON API.

A token is 256 random bits; the database keeps its SHA-256 digest only, so a lookup is one
unique-index probe and a leaked table holds nothing usable. The plaintext is returned once,
by :func:`create_token`. A token acts as its user (same roles); revoking it or passing its
``expires_at`` stops it at once (no cache).

Every token expires (:data:`DEFAULT_LIFETIME` unless the creator chooses up to
:data:`MAX_LIFETIME`), so a forgotten one does not work forever. The JSON API creates tokens
only for a logged-in session, never for another token: a leaked token cannot mint
successors that outlive its revocation. Reset passwords revoke every token of the user.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

import asyncpg

from tracehub_server.storage import tokens as rows
from tracehub_server.storage.tokens import AccessToken
from tracehub_server.storage.users import User

TOKEN_PREFIX = "thp_"  # noqa: S105 - a public marker, not a secret
#: Characters kept in clear in listings ("thp_" + 8).
SHOWN_PREFIX_CHARS = 12
MAX_TOKEN_CHARS = 128
MAX_NAME_CHARS = 200
#: Lifetime of a token whose creator did not choose one.
DEFAULT_LIFETIME = timedelta(days=90)
#: The longest lifetime a creator may choose.
MAX_LIFETIME = timedelta(days=3650)


def hash_token(plaintext: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).digest()


def check_name(name: str) -> str:
    """The token's label, stripped; raises ValueError when too long or with control chars."""
    if not isinstance(name, str):
        raise TypeError(f"token name must be a str, got {type(name).__name__}")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"token name must be at most {MAX_NAME_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("token name must not contain control characters")
    return name


async def create_token(
    conn: asyncpg.Connection, user_id: int, *, name: str = "", expires_at: datetime | None = None
) -> tuple[AccessToken, str]:
    """Create a token for the user; returns it and its plaintext (shown once, never stored).

    ``expires_at`` defaults to :data:`DEFAULT_LIFETIME` from now.
    """
    name = check_name(name)
    if expires_at is None:
        expires_at = datetime.now(timezone.utc) + DEFAULT_LIFETIME
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await rows.insert_token(
        conn,
        user_id=user_id,
        name=name,
        prefix=plaintext[:SHOWN_PREFIX_CHARS],
        token_hash=hash_token(plaintext),
        expires_at=expires_at,
    )
    return token, plaintext


async def authenticate_token(conn: asyncpg.Connection, plaintext: str) -> User | None:
    """The user a presented token acts as; None when unknown, revoked or expired."""
    if (
        not isinstance(plaintext, str)
        or not plaintext.startswith(TOKEN_PREFIX)
        or len(plaintext) > MAX_TOKEN_CHARS
    ):
        return None
    owner = await rows.find_token(conn, hash_token(plaintext))
    if owner is None or not owner.usable:
        return None
    await rows.touch_token(conn, owner.token_id)
    return owner.user
