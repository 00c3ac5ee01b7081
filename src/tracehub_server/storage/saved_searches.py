"""Saved searches: a name for a logs explorer query string, shared within one project.

The query is kept as the explorer's own query string (``level=ERROR&q=timeout``), the same
text as its URL and the JSON API's logs parameters, and is validated where it is used, so
a saved search never goes stale against a stricter parser: it shows the parser's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracehub_server.storage.ids import valid_id

MAX_NAME = 100
MAX_QUERY = 4000


class DuplicateSearchError(ValueError):
    """The project already has a saved search of that name."""


@dataclass(frozen=True, slots=True)
class SavedSearch:
    id: int
    project_id: int
    name: str
    query: str
    created_by: str | None
    created_at: datetime


_COLUMNS = (
    "s.id, s.project_id, s.name, s.query, s.created_by_email AS created_by, s.created_at"
    " FROM saved_searches s"
)


def _search(row: asyncpg.Record) -> SavedSearch:
    return SavedSearch(**dict(row))


def check_name(name: str) -> str:
    """The name stripped; ValueError when empty, longer than :data:`MAX_NAME` or holding NUL
    (PostgreSQL text cannot store it)."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"name must be 1 to {MAX_NAME} characters, got {len(name)}")
    if "\x00" in name:
        raise ValueError("name must not contain NUL characters")
    return name


async def create_saved_search(
    conn: asyncpg.Connection, project_id: int, *, name: str, query: str, user_id: int | None
) -> SavedSearch:
    """Save ``query`` as ``name``; DuplicateSearchError when the name is taken."""
    name = check_name(name)
    if len(query) > MAX_QUERY:
        raise ValueError(f"query must be at most {MAX_QUERY} characters")
    if "\x00" in query:
        raise ValueError("query must not contain NUL characters")
    try:
        new_id = await conn.fetchval(
            "INSERT INTO saved_searches (project_id, name, query, created_by, created_by_email)"
            " VALUES ($1, $2, $3, $4, (SELECT email FROM users WHERE id = $4)) RETURNING id",
            project_id,
            name,
            query,
            user_id,
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateSearchError(f"a saved search named {name!r} already exists") from None
    row = await conn.fetchrow(f"SELECT {_COLUMNS} WHERE s.id = $1", new_id)
    return _search(row)


async def list_saved_searches(conn: asyncpg.Connection, project_id: int) -> list[SavedSearch]:
    """The project's saved searches by name."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} WHERE s.project_id = $1 ORDER BY lower(s.name), s.id",
        project_id,
    )
    return [_search(row) for row in rows]


async def delete_saved_search(conn: asyncpg.Connection, project_id: int, search_id: int) -> bool:
    """Delete one of the project's saved searches; False when it has none of that id."""
    if not valid_id(search_id):
        return False
    result = await conn.execute(
        "DELETE FROM saved_searches WHERE id = $1 AND project_id = $2", search_id, project_id
    )
    return result != "DELETE 0"
