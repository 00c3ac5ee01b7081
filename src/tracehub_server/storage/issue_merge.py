"""Merging issues into one, and undoing it.

Merge: the sources' stored events move to the target (``logs.issue_id``), their counts and
hourly counts are added to the target's, and each source is marked ``merged_into`` the
target -- it stays, hidden from lists, so that its fingerprint keeps routing: the digest
resolves a fingerprint to ``coalesce(merged_into, id)`` (see
:func:`~tracehub_server.storage.issues.resolve_issue_ids`), so every future event of a
merged fingerprint lands in the target. Issues already merged into a source follow it.

Unmerge: the issue's ``merged_into`` is cleared, so new events of its fingerprint go to it
again. The events that moved stay where they are (the rows do not remember which issue they
came from); the unmerged issue counts from zero.

Both run in one transaction with the issues locked in id order (the digest's order).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from tracehub_server.storage.ids import valid_id

__all__ = ["MergeError", "merge_issues", "unmerge_issue"]


class MergeError(ValueError):
    """The merge or unmerge is not possible as asked (the message says why)."""


_LOCK = """
SELECT id, merged_into FROM issues
WHERE id = ANY($1::bigint[]) AND project_id = $2
ORDER BY id FOR UPDATE
"""

_MOVE_HOURLY = """
INSERT INTO issue_hourly_counts (issue_id, hour, count)
SELECT $1, hour, sum(count) FROM issue_hourly_counts
WHERE issue_id = ANY($2::bigint[]) GROUP BY hour
ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly_counts.count + EXCLUDED.count
"""

_ADD_TO_TARGET = """
UPDATE issues t SET
    event_count = t.event_count + s.n,
    first_seen = least(t.first_seen, s.first_seen),
    last_seen = greatest(t.last_seen, s.last_seen),
    level = CASE WHEN s.fatal THEN 'FATAL' ELSE t.level END,
    updated_at = now()
FROM (
    SELECT sum(event_count) AS n, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
           bool_or(level = 'FATAL') AS fatal
    FROM issues WHERE id = ANY($2::bigint[])
) s
WHERE t.id = $1
"""


async def merge_issues(
    conn: asyncpg.Connection, project_id: int, target_id: int, source_ids: Sequence[int]
) -> int:
    """Merge ``source_ids`` into ``target_id`` (all of ``project_id``); returns how many merged.

    Raises :class:`MergeError` when an issue is missing, of another project, already merged,
    or the target is among the sources.
    """
    sources = sorted(set(source_ids) - {target_id})
    if not sources:
        raise MergeError("choose at least two issues to merge")
    if not all(valid_id(i) for i in (target_id, *sources)):
        raise MergeError("an issue to merge does not exist in this project")
    async with conn.transaction():
        rows = await conn.fetch(_LOCK, [target_id, *sources], project_id)
        found = {row["id"]: row["merged_into"] for row in rows}
        if len(found) != len(sources) + 1:
            raise MergeError("an issue to merge does not exist in this project")
        if any(found[i] is not None for i in found):
            raise MergeError("an issue that was merged already cannot be merged again")
        await conn.execute(_MOVE_HOURLY, target_id, sources)
        await conn.execute("DELETE FROM issue_hourly_counts WHERE issue_id = ANY($1)", sources)
        await conn.execute(_ADD_TO_TARGET, target_id, sources)
        await conn.execute(
            "UPDATE logs SET issue_id = $1 WHERE project_id = $2 AND issue_id = ANY($3)",
            target_id,
            project_id,
            sources,
        )
        await conn.execute(
            "UPDATE issues SET merged_into = $1, merged_at = now(), event_count = 0,"
            " updated_at = now() WHERE id = ANY($2::bigint[]) OR merged_into = ANY($2::bigint[])",
            target_id,
            sources,
        )
    return len(sources)


async def unmerge_issue(conn: asyncpg.Connection, project_id: int, issue_id: int) -> int:
    """Let ``issue_id``'s fingerprint have its own issue again; returns the former target."""
    if not valid_id(issue_id):
        raise MergeError("this issue is not merged into another")
    target = await conn.fetchval(
        "UPDATE issues i SET merged_into = NULL, merged_at = NULL, updated_at = now()"
        " FROM issues old WHERE old.id = i.id AND i.id = $1 AND i.project_id = $2"
        " AND i.merged_into IS NOT NULL RETURNING old.merged_into",
        issue_id,
        project_id,
    )
    if target is None:
        raise MergeError("this issue is not merged into another")
    return int(target)
