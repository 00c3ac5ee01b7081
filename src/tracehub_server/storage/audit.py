"""The audit trail: who changed what (users, projects, invitations), readable by admins.

Rows are written in the caller's transaction next to the change they record, and keep the
actor's email as text, so the trail still names a user after they are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

#: Rows an audit page shows at most.
PAGE = 200


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_email: str
    action: str
    target: str
    detail: dict[str, Any]


async def record(
    conn: asyncpg.Connection,
    *,
    actor_id: int | None,
    actor_email: str,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry (``action`` such as ``project.deleted``, ``target`` what it touched)."""
    await conn.execute(
        "INSERT INTO audit_log (actor_id, actor_email, action, target, detail)"
        " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        actor_id,
        actor_email,
        action,
        target,
        orjson.dumps(detail or {}).decode(),
    )


async def recent(conn: asyncpg.Connection, *, limit: int = PAGE) -> list[AuditEntry]:
    """The newest entries first."""
    rows = await conn.fetch(
        "SELECT id, at, actor_email, action, target, detail::text AS detail"
        " FROM audit_log ORDER BY at DESC, id DESC LIMIT $1",
        limit,
    )
    return [
        AuditEntry(
            id=r["id"],
            at=r["at"],
            actor_email=r["actor_email"],
            action=r["action"],
            target=r["target"],
            detail=orjson.loads(r["detail"]),
        )
        for r in rows
    ]
