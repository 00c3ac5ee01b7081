"""Alert configuration: channels, rules and mutes (the outbox is in ``alert_outbox``).

Rules and channels belong to a project; every function takes the project id so a caller
cannot reach another project's rows by id.
"""

# Statements interpolate only the constant column lists above; every value is bound ($n).
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from tracehub_server.storage.ids import valid_id

RULE_KINDS = ("new_issue", "regression", "frequency", "volume")
CHANNEL_KINDS = ("email", "webhook", "slack")

__all__ = ["CHANNEL_KINDS", "RULE_KINDS", "Channel", "Rule", "RuleFields"]


# --- configuration --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Channel:
    """Where notifications go. ``secret`` is the webhook's signing key (never shown back)."""

    id: int
    project_id: int
    name: str
    kind: str
    target: str
    secret: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Rule:
    """When to notify; empty ``environments``/``services``/``levels`` mean any."""

    id: int
    project_id: int
    name: str
    kind: str
    enabled: bool
    environments: list[str]
    services: list[str]
    levels: list[str]
    threshold: int | None
    window_minutes: int | None
    query: list[list[str]]
    channel_ids: list[int]
    interval_minutes: int
    created_at: datetime
    updated_at: datetime


_RULE_COLUMNS = (
    "id, project_id, name, kind, enabled, environments, services, levels, threshold,"
    " window_minutes, query, channel_ids, interval_minutes, created_at, updated_at"
)
_CHANNEL_COLUMNS = "id, project_id, name, kind, target, secret, created_at"


def _rule(row: asyncpg.Record) -> Rule:
    return Rule(**{k: row[k] for k in Rule.__slots__})


def _channel(row: asyncpg.Record) -> Channel:
    return Channel(**{k: row[k] for k in Channel.__slots__})


async def list_channels(conn: asyncpg.Connection, project_id: int) -> list[Channel]:
    """The project's channels, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_CHANNEL_COLUMNS} FROM alert_channels WHERE project_id = $1 ORDER BY id",
        project_id,
    )
    return [_channel(r) for r in rows]


async def get_channel(conn: asyncpg.Connection, project_id: int, channel_id: int) -> Channel | None:
    if not valid_id(channel_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_CHANNEL_COLUMNS} FROM alert_channels WHERE project_id = $1 AND id = $2",
        project_id,
        channel_id,
    )
    return _channel(row) if row else None


async def create_channel(
    conn: asyncpg.Connection,
    project_id: int,
    *,
    name: str,
    kind: str,
    target: str,
    secret: str | None,
) -> Channel:
    row = await conn.fetchrow(
        "INSERT INTO alert_channels (project_id, name, kind, target, secret)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {_CHANNEL_COLUMNS}",
        project_id,
        name,
        kind,
        target,
        secret,
    )
    return _channel(row)


async def update_channel(
    conn: asyncpg.Connection,
    project_id: int,
    channel_id: int,
    *,
    name: str,
    target: str,
    secret: str | None,
    keep_secret: bool,
) -> Channel | None:
    """Change a channel; ``keep_secret`` leaves the stored secret as it is."""
    if not valid_id(channel_id):
        return None
    row = await conn.fetchrow(
        "UPDATE alert_channels SET name = $3, target = $4,"
        " secret = CASE WHEN $6 THEN secret ELSE $5 END"
        f" WHERE project_id = $1 AND id = $2 RETURNING {_CHANNEL_COLUMNS}",
        project_id,
        channel_id,
        name,
        target,
        secret,
        keep_secret,
    )
    return _channel(row) if row else None


async def delete_channel(conn: asyncpg.Connection, project_id: int, channel_id: int) -> bool:
    """Delete a channel and drop it from the project's rules; False if it did not exist."""
    if not valid_id(channel_id):
        return False
    async with conn.transaction():
        done = await conn.execute(
            "DELETE FROM alert_channels WHERE project_id = $1 AND id = $2", project_id, channel_id
        )
        await conn.execute(
            "UPDATE alert_rules SET channel_ids = array_remove(channel_ids, $2)"
            " WHERE project_id = $1 AND $2 = ANY(channel_ids)",
            project_id,
            channel_id,
        )
    return done.endswith(" 1")


@dataclass(slots=True)
class RuleFields:
    """What a user sets on a rule (create and update take the same)."""

    name: str
    kind: str
    enabled: bool = True
    environments: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    threshold: int | None = None
    window_minutes: int | None = None
    query: list[list[str]] = field(default_factory=list)
    channel_ids: list[int] = field(default_factory=list)
    interval_minutes: int = 60


def _rule_args(f: RuleFields) -> list[Any]:
    return [
        f.name,
        f.kind,
        f.enabled,
        f.environments,
        f.services,
        f.levels,
        f.threshold,
        f.window_minutes,
        f.query,
        f.channel_ids,
        f.interval_minutes,
    ]


async def list_rules(conn: asyncpg.Connection, project_id: int) -> list[Rule]:
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE project_id = $1 ORDER BY id", project_id
    )
    return [_rule(r) for r in rows]


async def get_rule(conn: asyncpg.Connection, project_id: int, rule_id: int) -> Rule | None:
    if not valid_id(rule_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE project_id = $1 AND id = $2",
        project_id,
        rule_id,
    )
    return _rule(row) if row else None


async def create_rule(conn: asyncpg.Connection, project_id: int, fields: RuleFields) -> Rule:
    row = await conn.fetchrow(
        "INSERT INTO alert_rules (project_id, name, kind, enabled, environments, services,"
        " levels, threshold, window_minutes, query, channel_ids, interval_minutes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        f" RETURNING {_RULE_COLUMNS}",
        project_id,
        *_rule_args(fields),
    )
    return _rule(row)


async def update_rule(
    conn: asyncpg.Connection, project_id: int, rule_id: int, fields: RuleFields
) -> Rule | None:
    if not valid_id(rule_id):
        return None
    row = await conn.fetchrow(
        "UPDATE alert_rules SET name = $3, kind = $4, enabled = $5, environments = $6,"
        " services = $7, levels = $8, threshold = $9, window_minutes = $10, query = $11,"
        " channel_ids = $12, interval_minutes = $13, updated_at = now()"
        f" WHERE project_id = $1 AND id = $2 RETURNING {_RULE_COLUMNS}",
        project_id,
        rule_id,
        *_rule_args(fields),
    )
    return _rule(row) if row else None


async def delete_rule(conn: asyncpg.Connection, project_id: int, rule_id: int) -> bool:
    if not valid_id(rule_id):
        return False
    done = await conn.execute(
        "DELETE FROM alert_rules WHERE project_id = $1 AND id = $2", project_id, rule_id
    )
    return done.endswith(" 1")


async def set_mute(
    conn: asyncpg.Connection, project_id: int, issue_id: int, until: datetime | None
) -> bool:
    """Mute an issue (``until`` None) or snooze it until a time; False if no such issue."""
    if not valid_id(issue_id):
        return False
    row = await conn.fetchrow(
        "INSERT INTO alert_mutes (issue_id, until)"
        " SELECT id, $3 FROM issues WHERE id = $2 AND project_id = $1"
        " ON CONFLICT (issue_id) DO UPDATE SET until = EXCLUDED.until RETURNING issue_id",
        project_id,
        issue_id,
        until,
    )
    return row is not None


async def clear_mute(conn: asyncpg.Connection, project_id: int, issue_id: int) -> None:
    if not valid_id(issue_id):
        return
    await conn.execute(
        "DELETE FROM alert_mutes m USING issues i"
        " WHERE m.issue_id = i.id AND i.id = $2 AND i.project_id = $1",
        project_id,
        issue_id,
    )


async def get_mute(
    conn: asyncpg.Connection, project_id: int, issue_id: int
) -> tuple[bool, datetime | None]:
    """(muted at all, until when — None meaning for good)."""
    if not valid_id(issue_id):
        return (False, None)
    row = await conn.fetchrow(
        "SELECT m.until FROM alert_mutes m JOIN issues i ON i.id = m.issue_id"
        " WHERE i.id = $2 AND i.project_id = $1",
        project_id,
        issue_id,
    )
    return (row is not None, row["until"] if row else None)


async def list_mutes(
    conn: asyncpg.Connection, project_id: int, now: datetime
) -> list[asyncpg.Record]:
    """The project's muted issues and those snoozed past ``now``: id, title, until."""
    return await conn.fetch(
        "SELECT i.id, i.title, m.until FROM alert_mutes m JOIN issues i ON i.id = m.issue_id"
        " WHERE i.project_id = $1 AND (m.until IS NULL OR m.until > $2) ORDER BY m.created_at",
        project_id,
        now,
    )


async def windowed_rules(conn: asyncpg.Connection) -> list[Rule]:
    """Every enabled frequency and volume rule."""
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM alert_rules"
        " WHERE enabled AND kind IN ('frequency', 'volume') ORDER BY id"
    )
    return [_rule(r) for r in rows]


async def rules_by_id(conn: asyncpg.Connection, rule_ids: Sequence[int]) -> dict[int, Rule]:
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE id = ANY($1::bigint[])", list(rule_ids)
    )
    return {r["id"]: _rule(r) for r in rows}


async def channels_by_id(
    conn: asyncpg.Connection, channel_ids: Sequence[int]
) -> dict[int, Channel]:
    rows = await conn.fetch(
        f"SELECT {_CHANNEL_COLUMNS} FROM alert_channels WHERE id = ANY($1::bigint[])",
        list(channel_ids),
    )
    return {r["id"]: _channel(r) for r in rows}
