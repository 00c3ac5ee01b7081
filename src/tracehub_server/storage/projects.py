"""Projects and their API keys.

API keys are high-entropy random strings (``th_`` + 43 url-safe characters), so the database
keeps only their SHA-256 digest: a lookup is one unique-index probe, and a leaked table does
not reveal a usable key. The plaintext is returned once, by :func:`create_api_key`.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracehub_server.storage.ids import valid_id

#: Every key starts with this, so a key pasted in the wrong place is recognisable.
KEY_PREFIX = "th_"
#: Characters of a key kept in clear in listings ("th_" + 8), enough to tell keys apart.
SHOWN_PREFIX_CHARS = 11
#: Characters of a new key after the prefix: letters and digits only, because the JavaScript
#: Sentry SDKs parse a DSN's key as ``\w+`` and refuse one with ``-`` (URL-safe base64's);
#: 43 of 62 symbols carry 256 bits, as ``token_urlsafe(32)`` did.
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_SECRET_CHARS = 43
#: Longer inputs cannot be our keys; they are refused without a database round trip.
MAX_KEY_CHARS = 128
MAX_PROJECT_NAME_CHARS = 100
MAX_KEY_NAME_CHARS = 200


class DuplicateProjectError(ValueError):
    """A project with this name already exists."""


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as listed: never the key itself, only its visible prefix."""

    id: int
    project_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyAuth:
    """What an ingest request learns from its key: the project, and whether it is revoked."""

    key_id: int
    project_id: int
    revoked: bool


def hash_api_key(plaintext: str) -> bytes:
    """The stored form of a key (SHA-256 of its UTF-8 bytes)."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).digest()


def _check_name(name: str, *, what: str, limit: int, allow_empty: bool) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}")
    name = name.strip()
    if not name and not allow_empty:
        raise ValueError(f"{what} must not be empty")
    if len(name) > limit:
        raise ValueError(f"{what} must be at most {limit} characters, got {len(name)}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError(f"{what} must not contain control characters")
    return name


def _project(row: asyncpg.Record) -> Project:
    return Project(id=row["id"], name=row["name"], created_at=row["created_at"])


def _api_key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


async def create_project(conn: asyncpg.Connection, name: str) -> Project:
    """Create a project; raises :class:`DuplicateProjectError` if the name is taken.

    The name is stripped and must be 1-100 printable characters.
    """
    name = _check_name(name, what="project name", limit=MAX_PROJECT_NAME_CHARS, allow_empty=False)
    try:
        row = await conn.fetchrow(
            "INSERT INTO projects (name) VALUES ($1) RETURNING id, name, created_at", name
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateProjectError(f"a project named {name!r} already exists") from None
    return _project(row)


async def rename_project(conn: asyncpg.Connection, project_id: int, name: str) -> Project | None:
    """Give the project a new name; None when it does not exist.

    The name is checked as in :func:`create_project`; a name another project has raises
    :class:`DuplicateProjectError` (renaming a project to its own name is a no-op). Links
    and filters that use the id keep working; ``project=<old name>`` stops matching.
    """
    name = _check_name(name, what="project name", limit=MAX_PROJECT_NAME_CHARS, allow_empty=False)
    if not valid_id(project_id):
        return None
    try:
        row = await conn.fetchrow(
            "UPDATE projects SET name = $2 WHERE id = $1 RETURNING id, name, created_at",
            project_id,
            name,
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateProjectError(f"a project named {name!r} already exists") from None
    return _project(row) if row else None


async def get_project(conn: asyncpg.Connection, project_id: int) -> Project | None:
    """The project with this id, or None."""
    if not valid_id(project_id):
        return None
    row = await conn.fetchrow("SELECT id, name, created_at FROM projects WHERE id = $1", project_id)
    return _project(row) if row else None


async def get_project_by_name(conn: asyncpg.Connection, name: str) -> Project | None:
    """The project with this exact name (surrounding spaces ignored), or None."""
    if not isinstance(name, str) or len(name) > MAX_PROJECT_NAME_CHARS * 4:
        return None
    row = await conn.fetchrow(
        "SELECT id, name, created_at FROM projects WHERE name = $1", name.strip()
    )
    return _project(row) if row else None


async def list_projects(conn: asyncpg.Connection) -> list[Project]:
    """Every project, oldest first."""
    rows = await conn.fetch("SELECT id, name, created_at FROM projects ORDER BY id")
    return [_project(row) for row in rows]


async def create_api_key(
    conn: asyncpg.Connection, project_id: int, *, name: str = ""
) -> tuple[ApiKey, str]:
    """Create a key for the project; returns it and its plaintext, which is never stored.

    Raises ``LookupError`` if the project does not exist.
    """
    name = _check_name(name, what="key name", limit=MAX_KEY_NAME_CHARS, allow_empty=True)
    if not valid_id(project_id):
        raise LookupError(f"no project with id {project_id!r}")
    plaintext = KEY_PREFIX + "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_SECRET_CHARS))
    try:
        row = await conn.fetchrow(
            "INSERT INTO api_keys (project_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4)"
            " RETURNING id, project_id, name, prefix, created_at, last_used_at, revoked_at",
            project_id,
            name,
            plaintext[:SHOWN_PREFIX_CHARS],
            hash_api_key(plaintext),
        )
    except asyncpg.ForeignKeyViolationError:
        raise LookupError(f"no project with id {project_id}") from None
    return _api_key(row), plaintext


async def list_api_keys(conn: asyncpg.Connection, project_id: int) -> list[ApiKey]:
    """The project's keys, revoked ones included, oldest first."""
    if not valid_id(project_id):
        return []
    rows = await conn.fetch(
        "SELECT id, project_id, name, prefix, created_at, last_used_at, revoked_at"
        " FROM api_keys WHERE project_id = $1 ORDER BY id",
        project_id,
    )
    return [_api_key(row) for row in rows]


async def revoke_api_key(
    conn: asyncpg.Connection, key_id: int, *, project_id: int | None = None
) -> bool:
    """Revoke a key; True if it exists (and belongs to ``project_id`` when given).

    Idempotent: revoking a revoked key keeps its first ``revoked_at`` and returns True.
    """
    if not valid_id(key_id) or (project_id is not None and not valid_id(project_id)):
        return False
    row = await conn.fetchrow(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
        " WHERE id = $1 AND ($2::bigint IS NULL OR project_id = $2) RETURNING id",
        key_id,
        project_id,
    )
    return row is not None


async def authenticate_api_key(conn: asyncpg.Connection, plaintext: str) -> ApiKeyAuth | None:
    """Look a presented key up by its hash; None when it is not one of ours.

    A revoked key is returned with ``revoked=True`` so the API can answer 403 rather than 401.
    """
    if (
        not isinstance(plaintext, str)
        or not plaintext.startswith(KEY_PREFIX)
        or len(plaintext) > MAX_KEY_CHARS
    ):
        return None
    row = await conn.fetchrow(
        "SELECT id, project_id, revoked_at IS NOT NULL AS revoked FROM api_keys"
        " WHERE key_hash = $1",
        hash_api_key(plaintext),
    )
    if row is None:
        return None
    return ApiKeyAuth(key_id=row["id"], project_id=row["project_id"], revoked=row["revoked"])


async def touch_api_keys(conn: asyncpg.Connection, last_used: Mapping[int, datetime]) -> None:
    """Record when keys were last used, in one statement for many keys.

    The API collects uses in memory and flushes them now and then, so ingest does not write
    a row per request. ``last_used_at`` never moves backwards.
    """
    items = sorted((k, v) for k, v in last_used.items() if valid_id(k))
    if not items:
        return
    # Rows are locked in id order first, so concurrent flushers cannot deadlock.
    await conn.execute(
        "WITH locked AS (SELECT id FROM api_keys WHERE id = ANY($1::bigint[])"
        " ORDER BY id FOR UPDATE)"
        " UPDATE api_keys AS k SET last_used_at = greatest(k.last_used_at, u.used)"
        " FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, used), locked"
        " WHERE k.id = u.id AND locked.id = u.id",
        [k for k, _ in items],
        [v for _, v in items],
    )
