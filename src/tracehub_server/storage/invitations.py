"""Invitations: a one-time link that lets someone set a password and join a project.

Only the SHA-256 of the link's token is stored, as for API keys; the link is shown once to
the admin who made it. A link works until it expires, is used, or is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from tracehub_server.storage.ids import valid_id
from tracehub_server.storage.users import ROLES, Role, normalize_email

#: How long a link works unless revoked.
LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    project_id: int
    email: str
    role: Role
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


_COLUMNS = (
    "i.id, i.project_id, i.email, i.role, u.email AS created_by, i.created_at, i.expires_at,"
    " i.accepted_at, i.revoked_at FROM invitations i LEFT JOIN users u ON u.id = i.created_by"
)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


async def create_invitation(
    conn: asyncpg.Connection, project_id: int, *, email: str, role: str, created_by: int
) -> tuple[Invitation, str]:
    """A new invitation and its token (shown once); ValueError for a bad email or role."""
    email = normalize_email(email)
    if role not in ROLES:
        raise ValueError(f"role must be member or viewer, got {role[:20]!r}")
    token = "thi_" + secrets.token_urlsafe(32)
    new_id = await conn.fetchval(
        "INSERT INTO invitations (token_hash, project_id, email, role, created_by, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, now() + $6::interval) RETURNING id",
        _hash(token), project_id, email, role, created_by, LIFETIME,
    )  # fmt: skip
    row = await conn.fetchrow(f"SELECT {_COLUMNS} WHERE i.id = $1", new_id)
    return Invitation(**dict(row)), token


async def list_invitations(conn: asyncpg.Connection, project_id: int) -> list[Invitation]:
    """The project's invitations, newest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} WHERE i.project_id = $1 ORDER BY i.created_at DESC",
        project_id,
    )
    return [Invitation(**dict(r)) for r in rows]


async def revoke_invitation(conn: asyncpg.Connection, project_id: int, invitation_id: int) -> bool:
    """Revoke a pending invitation; False when there is no such pending one."""
    if not valid_id(invitation_id):
        return False
    result = await conn.execute(
        "UPDATE invitations SET revoked_at = now() WHERE id = $1 AND project_id = $2"
        " AND accepted_at IS NULL AND revoked_at IS NULL",
        invitation_id,
        project_id,
    )
    return result != "UPDATE 0"


async def find_usable(conn: asyncpg.Connection, token: str) -> Invitation | None:
    """The pending, unexpired invitation of this token; None otherwise."""
    if not token or len(token) > 200:
        return None
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} WHERE i.token_hash = $1 AND i.accepted_at IS NULL"
        " AND i.revoked_at IS NULL AND i.expires_at > now()",
        _hash(token),
    )
    return Invitation(**dict(row)) if row else None


async def mark_accepted(conn: asyncpg.Connection, invitation_id: int) -> bool:
    """Use the invitation up; False when it was used or revoked in the meantime."""
    result = await conn.execute(
        "UPDATE invitations SET accepted_at = now() WHERE id = $1 AND accepted_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > now()",
        invitation_id,
    )
    return result != "UPDATE 0"
