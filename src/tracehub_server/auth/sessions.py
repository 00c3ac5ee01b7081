"""Server-side login sessions behind an HttpOnly cookie, each with its own CSRF token.

The cookie holds a random 256-bit token; the database holds only its SHA-256 digest, so a
leaked ``sessions`` table cannot be replayed. A session ends at ``expires_at`` (absolute,
not sliding), on logout, or when the user changes their password (every other session of
theirs is revoked).

CSRF: the cookie is ``SameSite=Lax`` and every state-changing request authenticated by it
must also carry the session's CSRF token (``X-CSRF-Token`` header for the JSON API, a hidden
``csrf_token`` field in the dashboard's forms), compared in constant time by
:func:`csrf_matches`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from tracehub_server.storage import sessions as rows
from tracehub_server.storage.users import User

COOKIE_NAME = "tracehub_session"
#: Over https the cookie is ``__Host-`` prefixed: browsers then accept it only when set by a
#: secure page of this exact host, without ``Domain`` and for path ``/``, so a sibling
#: subdomain cannot plant one (cookie tossing).
SECURE_PREFIX = "__Host-"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
#: How long a login lasts.
SESSION_LIFETIME = timedelta(days=14)
#: Expired sessions removed at each login (the periodic purge in ``auth.purge`` does the rest).
LOGIN_PURGE_LIMIT = 100
#: Longer cookie values cannot be ours; they are refused without a database round trip.
MAX_TOKEN_CHARS = 128


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who is logged in, and the CSRF token their forms must send."""

    id: int
    user: User
    csrf_token: str
    expires_at: datetime


def hash_token(token: str) -> bytes:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


async def create_session(
    conn: asyncpg.Connection, user_id: int, *, lifetime: timedelta = SESSION_LIFETIME
) -> tuple[str, str]:
    """Start a session for the user; returns ``(cookie token, csrf token)``."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    # Logins are rare next to requests: a good moment to drop a few expired sessions.
    await rows.delete_expired_sessions(conn, limit=LOGIN_PURGE_LIMIT)
    await rows.insert_session(
        conn,
        token_hash=hash_token(token),
        user_id=user_id,
        csrf_token=csrf,
        expires_at=datetime.now(timezone.utc) + lifetime,
    )
    return token, csrf


async def load_session(conn: asyncpg.Connection, token: str | None) -> Session | None:
    """The live session for a cookie value; None when missing, unknown or expired."""
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        return None
    row = await rows.fetch_live_session(conn, hash_token(token))
    if row is None:
        return None
    return Session(id=row.id, user=row.user, csrf_token=row.csrf_token, expires_at=row.expires_at)


async def revoke_session(conn: asyncpg.Connection, token: str | None) -> bool:
    """End the session with this cookie value (logout); False when there was none."""
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        return False
    return await rows.delete_session(conn, hash_token(token))


async def revoke_other_sessions(
    conn: asyncpg.Connection, user_id: int, *, keep_token: str | None = None
) -> int:
    """End every session of the user except ``keep_token``'s (after a password change)."""
    keep = hash_token(keep_token) if keep_token else None
    return await rows.delete_user_sessions(conn, user_id, keep_token_hash=keep)


def csrf_matches(session: Session, presented: str | None) -> bool:
    """True when ``presented`` is the session's CSRF token (constant-time comparison)."""
    if not presented or not isinstance(presented, str) or len(presented) > MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), presented.encode())


def cookie_name(request: Request, name: str = COOKIE_NAME) -> str:
    """``name``, ``__Host-`` prefixed when the request came over https."""
    return SECURE_PREFIX + name if request.url.scheme == "https" else name


def session_token(request: Request) -> str | None:
    """The session cookie's value, if the request has one."""
    return request.cookies.get(cookie_name(request))


def set_session_cookie(
    response: Response, request: Request, token: str, *, lifetime: timedelta = SESSION_LIFETIME
) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Lax, Secure when served over https."""
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        cookie_name(request),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
