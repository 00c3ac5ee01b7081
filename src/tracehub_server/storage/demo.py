"""Writes only ``tracehub demo`` needs: sample data tells a story that happened in the past."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def resolve_issue_at(
    conn: asyncpg.Connection, project_id: int, error_type: str, at: datetime
) -> int:
    """Mark the project's issues of ``error_type`` RESOLVED as of ``at``; returns how many.

    Later events of the issue then reopen it as a regression, as a real fix that did not
    hold would.
    """
    result = await conn.execute(
        "UPDATE issues SET status = 'RESOLVED', resolved_at = $3"
        " WHERE project_id = $1 AND error_type = $2",
        project_id,
        error_type,
        at,
    )
    return int(result.split()[-1])
