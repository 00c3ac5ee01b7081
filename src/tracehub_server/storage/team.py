"""Administration of projects and users beyond create and rename: descriptions, deleting a
project with everything it holds, deactivating and deleting users.

Deactivating parks the user's password hash (the login column gets an unusable marker),
ends their sessions and revokes their tokens in one transaction, so nothing they hold works
a moment later; reactivating restores the hash (tokens stay revoked).
"""

from __future__ import annotations

import asyncpg

from tracehub_server.storage.users import create_user

MAX_DESCRIPTION = 500
#: Not an argon2 hash: verification fails, so a deactivated user cannot log in.
DEACTIVATED_MARKER = "!deactivated"


async def project_descriptions(conn: asyncpg.Connection) -> dict[int, str]:
    """Every project's description by id ("" when it has none)."""
    return {r["id"]: r["description"] for r in await conn.fetch(
        "SELECT id, description FROM projects")}  # fmt: skip


async def set_description(conn: asyncpg.Connection, project_id: int, description: str) -> bool:
    """Set a project's description; ValueError when too long, False when no such project."""
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"description must be at most {MAX_DESCRIPTION} characters")
    result = await conn.execute(
        "UPDATE projects SET description = $2 WHERE id = $1", project_id, description
    )
    return result != "UPDATE 0"


async def delete_project(conn: asyncpg.Connection, project_id: int) -> bool:
    """Delete a project and everything it holds, in one transaction; False when absent.

    ``logs`` is partitioned without a foreign key, so its rows go first; issues (and their
    hourly counts), keys, members, rollups, saved searches and invitations cascade.
    """
    async with conn.transaction():
        await conn.execute("DELETE FROM logs WHERE project_id = $1", project_id)
        result = await conn.execute("DELETE FROM projects WHERE id = $1", project_id)
    return result != "DELETE 0"


async def deactivated_ids(conn: asyncpg.Connection) -> set[int]:
    """Ids of the deactivated users."""
    rows = await conn.fetch("SELECT id FROM users WHERE deactivated_at IS NOT NULL")
    return {r["id"] for r in rows}


async def deactivate_user(conn: asyncpg.Connection, user_id: int) -> bool:
    """Lock the user out now: park the hash, end sessions, revoke tokens. False if absent or
    already deactivated."""
    async with conn.transaction():
        result = await conn.execute(
            "UPDATE users SET deactivated_at = now(), parked_password_hash = password_hash,"
            " password_hash = $2 WHERE id = $1 AND deactivated_at IS NULL",
            user_id,
            DEACTIVATED_MARKER,
        )
        if result == "UPDATE 0":
            return False
        await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
        await conn.execute(
            "UPDATE access_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
        )
    return True


async def reactivate_user(conn: asyncpg.Connection, user_id: int) -> bool:
    """Restore a deactivated user's password; False if absent or not deactivated."""
    result = await conn.execute(
        "UPDATE users SET password_hash = parked_password_hash, parked_password_hash = NULL,"
        " deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL",
        user_id,
    )
    return result != "UPDATE 0"


async def delete_user(conn: asyncpg.Connection, user_id: int) -> bool:
    """Delete the user (sessions, tokens, memberships go; issues lose the assignee)."""
    result = await conn.execute("DELETE FROM users WHERE id = $1", user_id)
    return result != "DELETE 0"


async def sign_up(conn: asyncpg.Connection, email: str, password_hash: str) -> int:
    """Create an account that cannot log in until approved; returns its id.

    Raises what ``users.create_user`` raises (a bad or taken email).
    """
    async with conn.transaction():
        user = await create_user(conn, email, password_hash)
        await deactivate_user(conn, user.id)
        await conn.execute("UPDATE users SET awaiting_approval = true WHERE id = $1", user.id)
    return user.id


async def awaiting_approval_ids(conn: asyncpg.Connection) -> set[int]:
    """Ids of the accounts that signed up and wait for an admin."""
    rows = await conn.fetch("SELECT id FROM users WHERE awaiting_approval")
    return {r["id"] for r in rows}


async def approve_user(conn: asyncpg.Connection, user_id: int) -> bool:
    """Let a signed-up account log in; False when it was not waiting."""
    async with conn.transaction():
        result = await conn.execute(
            "UPDATE users SET awaiting_approval = false WHERE id = $1 AND awaiting_approval",
            user_id,
        )
        if result == "UPDATE 0":
            return False
        return await reactivate_user(conn, user_id)
