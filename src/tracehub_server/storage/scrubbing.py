"""A project's PII scrubbing rules and their change history (``project_scrubbing*``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

__all__ = [
    "DEFAULT_KEYS",
    "MAX_KEYS",
    "ScrubChange",
    "ScrubSettings",
    "get_scrub_settings",
    "list_scrub_changes",
    "save_scrub_settings",
]

#: Sensitive key names scrubbed by default (``api/scrubbing.py`` says how names match).
DEFAULT_KEYS = (
    "password", "passwd", "secret", "api_key", "apikey", "token", "access_token",
    "refresh_token", "auth", "authorization", "cookie", "set-cookie", "session", "csrf",
    "credit_card", "card_number", "cvv", "ssn",
)  # fmt: skip
#: Key names per list (``extra_keys``, ``safe_keys``), and characters per name.
MAX_KEYS = 100
MAX_KEY_CHARS = 100


@dataclass(frozen=True, slots=True)
class ScrubSettings:
    """What a project scrubs on top of (or instead of) the defaults."""

    defaults_enabled: bool = True
    extra_keys: tuple[str, ...] = ()
    safe_keys: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class ScrubChange:
    """One change of a project's rules: when, by whom, from what to what."""

    changed_at: datetime
    changed_by_email: str | None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


def clean_keys(names: list[str]) -> tuple[str, ...]:
    """Key names as stored: stripped, non-empty, distinct, bounded; ValueError if too many."""
    cleaned = tuple(dict.fromkeys(n.strip()[:MAX_KEY_CHARS] for n in names if n.strip()))
    if len(cleaned) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} key names, got {len(cleaned)}")
    return cleaned


async def get_scrub_settings(conn: asyncpg.Connection, project_id: int) -> ScrubSettings:
    """The project's rules; the defaults when it never changed them."""
    row = await conn.fetchrow(
        "SELECT defaults_enabled, extra_keys, safe_keys FROM project_scrubbing"
        " WHERE project_id = $1",
        project_id,
    )
    if row is None:
        return ScrubSettings()
    return ScrubSettings(
        defaults_enabled=row["defaults_enabled"],
        extra_keys=tuple(row["extra_keys"]),
        safe_keys=tuple(row["safe_keys"]),
    )


async def save_scrub_settings(
    conn: asyncpg.Connection, project_id: int, settings: ScrubSettings, *, user_id: int
) -> None:
    """Store new rules and record the change with the user who made it (one transaction)."""
    async with conn.transaction():
        await conn.execute(
            "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project_id
        )  # one change at a time per project: the history stays in order
        before = await get_scrub_settings(conn, project_id)
        await conn.execute(
            "INSERT INTO project_scrubbing (project_id, defaults_enabled, extra_keys, safe_keys,"
            " updated_at, updated_by) VALUES ($1, $2, $3, $4, now(), $5)"
            " ON CONFLICT (project_id) DO UPDATE SET defaults_enabled = EXCLUDED.defaults_enabled,"
            " extra_keys = EXCLUDED.extra_keys, safe_keys = EXCLUDED.safe_keys,"
            " updated_at = now(), updated_by = EXCLUDED.updated_by",
            project_id,
            settings.defaults_enabled,
            list(settings.extra_keys),
            list(settings.safe_keys),
            user_id,
        )
        await conn.execute(
            "INSERT INTO project_scrubbing_changes (project_id, changed_by, changed_by_email,"
            " before, after) SELECT $1, $2, (SELECT email FROM users WHERE id = $2),"
            " $3::text::jsonb, $4::text::jsonb",
            project_id,
            user_id,
            orjson.dumps(before.as_dict()).decode(),
            orjson.dumps(settings.as_dict()).decode(),
        )


async def list_scrub_changes(
    conn: asyncpg.Connection, project_id: int, *, limit: int = 20
) -> list[ScrubChange]:
    """The project's latest rule changes, newest first."""
    rows = await conn.fetch(
        "SELECT changed_at, changed_by_email, before::text, after::text"
        " FROM project_scrubbing_changes WHERE project_id = $1"
        " ORDER BY changed_at DESC, id DESC LIMIT $2",
        project_id,
        limit,
    )
    return [ScrubChange(r[0], r[1], orjson.loads(r[2]), orjson.loads(r[3])) for r in rows]
