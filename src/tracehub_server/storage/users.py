"""Users and their project memberships.

Emails are stored lower-case (the schema checks it), so every lookup normalises first. The
password hash never leaves this module inside a :class:`User`; only
:func:`get_credentials` returns it, for the login check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from tracehub_server.storage.ids import valid_id

Role = Literal["member", "viewer"]
ROLES: tuple[Role, ...] = ("member", "viewer")
#: RFC 5321 caps a forward path at 256 octets, so 254 characters is the longest usable address.
MAX_EMAIL_CHARS = 254
# Constant column list interpolated into queries (S608 is silenced where it is used: no
# caller-supplied text ever reaches the SQL string, values are bound parameters).
_USER_COLUMNS = "id, email, is_admin, created_at, last_login_at"


class DuplicateUserError(ValueError):
    """A user with this email already exists."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Member:
    """A user's role in one project."""

    user_id: int
    email: str
    role: Role


def normalize_email(email: str) -> str:
    """The stored form of ``email``; raises ValueError when it cannot be an address."""
    if not isinstance(email, str):
        raise TypeError(f"email must be a str, got {type(email).__name__}")
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_CHARS:
        raise ValueError(f"email must be at most {MAX_EMAIL_CHARS} characters, got {len(email)}")
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(ch.isspace() or ord(ch) < 32 for ch in email):
        raise ValueError(f"email {email!r} is not an address like name@example.com")
    return email


def user_from_row(row: asyncpg.Record, *, prefix: str = "") -> User:
    """The user in ``row``, its columns named ``prefix`` + the field (a join aliases them)."""
    return User(
        id=row[f"{prefix}id"],
        email=row[f"{prefix}email"],
        is_admin=row[f"{prefix}is_admin"],
        created_at=row[f"{prefix}created_at"],
        last_login_at=row[f"{prefix}last_login_at"],
    )


async def create_user(
    conn: asyncpg.Connection, email: str, password_hash: str, *, is_admin: bool = False
) -> User:
    """Create a user; raises :class:`DuplicateUserError` if the email is taken."""
    email = normalize_email(email)
    try:
        row = await conn.fetchrow(
            "INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3)"  # noqa: S608
            f" RETURNING {_USER_COLUMNS}",
            email,
            password_hash,
            is_admin,
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateUserError(f"a user with email {email!r} already exists") from None
    return user_from_row(row)


async def get_user(conn: asyncpg.Connection, user_id: int) -> User | None:
    """The user with this id, or None."""
    if not valid_id(user_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1",  # noqa: S608 - constant columns
        user_id,
    )
    return user_from_row(row) if row else None


async def get_user_by_email(conn: asyncpg.Connection, email: str) -> User | None:
    """The user with this email (any case), or None, also for malformed input."""
    try:
        email = normalize_email(email)
    except (TypeError, ValueError):
        return None
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE email = $1",  # noqa: S608 - constant columns
        email,
    )
    return user_from_row(row) if row else None


async def get_credentials(conn: asyncpg.Connection, email: str) -> tuple[User, str] | None:
    """The user and their argon2 hash, for checking a login; None when unknown."""
    try:
        email = normalize_email(email)
    except (TypeError, ValueError):
        return None
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = $1",  # noqa: S608
        email,
    )
    return (user_from_row(row), row["password_hash"]) if row else None


async def get_password_hash(conn: asyncpg.Connection, user_id: int) -> str | None:
    """The user's stored argon2 hash, for re-checking the current password."""
    if not valid_id(user_id):
        return None
    return await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)


async def list_users(conn: asyncpg.Connection) -> list[User]:
    """Every user, oldest first."""
    rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")  # noqa: S608
    return [user_from_row(row) for row in rows]


async def has_users(conn: asyncpg.Connection) -> bool:
    """True once any user exists; until then the login page explains how to create one."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"))


async def set_password(conn: asyncpg.Connection, user_id: int, password_hash: str) -> bool:
    """Replace the user's password hash; False when there is no such user."""
    if not valid_id(user_id):
        return False
    row = await conn.fetchrow(
        "UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING id", user_id, password_hash
    )
    return row is not None


async def set_admin(conn: asyncpg.Connection, user_id: int, is_admin: bool) -> bool:
    """Grant or withdraw the admin flag; False when there is no such user."""
    if not valid_id(user_id):
        return False
    row = await conn.fetchrow(
        "UPDATE users SET is_admin = $2 WHERE id = $1 RETURNING id", user_id, is_admin
    )
    return row is not None


async def record_login(conn: asyncpg.Connection, user_id: int) -> None:
    """Stamp ``last_login_at`` (shown in the users list)."""
    await conn.execute("UPDATE users SET last_login_at = now() WHERE id = $1", user_id)


async def memberships(conn: asyncpg.Connection, user_id: int) -> dict[int, Role]:
    """The user's role in each project they belong to, by project id."""
    if not valid_id(user_id):
        return {}
    rows = await conn.fetch(
        "SELECT project_id, role FROM project_members WHERE user_id = $1", user_id
    )
    return {row["project_id"]: row["role"] for row in rows}


async def list_members(conn: asyncpg.Connection, project_id: int) -> list[Member]:
    """The project's members, by email."""
    if not valid_id(project_id):
        return []
    rows = await conn.fetch(
        "SELECT m.user_id, u.email, m.role FROM project_members m"
        " JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.email",
        project_id,
    )
    return [Member(user_id=r["user_id"], email=r["email"], role=r["role"]) for r in rows]


async def set_membership(
    conn: asyncpg.Connection, project_id: int, user_id: int, role: Role
) -> None:
    """Add the user to the project or change their role.

    Raises ValueError for an unknown role and LookupError when the project or user is missing.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not valid_id(project_id) or not valid_id(user_id):
        raise LookupError("no such project or user")
    try:
        await conn.execute(
            "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)"
            " ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role",
            project_id,
            user_id,
            role,
        )
    except asyncpg.ForeignKeyViolationError:
        raise LookupError("no such project or user") from None


async def remove_membership(conn: asyncpg.Connection, project_id: int, user_id: int) -> bool:
    """Remove the user from the project; False when they were not a member."""
    if not valid_id(project_id) or not valid_id(user_id):
        return False
    row = await conn.fetchrow(
        "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2 RETURNING user_id",
        project_id,
        user_id,
    )
    return row is not None


async def can_read_project(conn: asyncpg.Connection, user_id: int, project_id: int) -> bool:
    """True when the user is an admin or a member/viewer of the project (assignee check)."""
    if not valid_id(user_id) or not valid_id(project_id):
        return False
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND is_admin)"
            " OR EXISTS (SELECT 1 FROM project_members WHERE user_id = $1 AND project_id = $2)",
            user_id,
            project_id,
        )
    )
