"""Issue rows: find-or-create by fingerprint, then count new events into them.

The digest works in two steps inside one transaction. :func:`resolve_issue_ids` runs first
and creates missing issues (without counting anything) so the log rows can carry their
``issue_id``; :func:`add_issue_events` runs after the log insert, with only the events that
were really new, so a redelivered event is never counted twice.

Concurrency: every statement handles its issues in one order (by (project_id, fingerprint)
when creating, by id when counting), so
concurrent workers take row locks in one global order and cannot deadlock; the counts are
``event_count + n`` under the row lock, so no increment is lost; the unique
(project_id, fingerprint) constraint with ``ON CONFLICT`` makes duplicate issues impossible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracehub.entry import ERROR_LEVELS as ENTRY_ERROR_LEVELS

#: Levels whose entries make issues (the entry's, :mod:`tracehub.entry`), for lookups.
ERROR_LEVELS = frozenset(ENTRY_ERROR_LEVELS)


@dataclass(slots=True)
class IssueCandidate:
    """What one batch knows about one fingerprint: enough to create the issue if new."""

    project_id: int
    fingerprint: str
    title: str
    level: str
    error_type: str | None
    error_message: str | None
    sample_stack_trace: str | None
    sample_event_id: str
    service: str | None
    first_seen: datetime
    last_seen: datetime
    #: The fingerprints of the event under replaced grouping algorithms (see grouping).
    fallbacks: tuple[str, ...] = ()
    #: The grouping algorithm that made ``fingerprint``.
    grouping_version: str = "th1"


@dataclass(frozen=True, slots=True)
class IssueEvents:
    """New events of one issue in one batch."""

    issue_id: int
    count: int
    first_seen: datetime
    last_seen: datetime
    fatal: bool


# A merged issue's events go to the issue it was merged into (see issue_merge.py).
_SELECT_EXISTING = """
SELECT coalesce(i.merged_into, i.id) AS id, i.project_id, i.fingerprint
FROM issues i
JOIN unnest($1::bigint[], $2::text[]) AS k(project_id, fingerprint)
  ON i.project_id = k.project_id AND i.fingerprint = k.fingerprint
"""

# event_count starts at 0: add_issue_events counts the events that turn out to be new.
_CREATE = """
INSERT INTO issues (project_id, fingerprint, title, level, error_type, error_message,
                    sample_stack_trace, sample_event_id, service, first_seen, last_seen,
                    grouping_version, event_count)
SELECT * , 0 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $8::uuid[], $9::text[], $10::timestamptz[],
                         $11::timestamptz[], $12::text[])
ORDER BY 1, 2
ON CONFLICT (project_id, fingerprint) DO NOTHING
RETURNING id, project_id, fingerprint
"""

# "locked" takes the row locks in id order (LockRows sits above the Sort) and reads the
# current status under the lock, so the reopen decision and the report are exact.
_ADD_EVENTS = """
WITH u AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[],
                         $5::boolean[]) AS u(id, n, first_seen, last_seen, fatal)
), locked AS (
    SELECT id, status, resolved_at FROM issues
    WHERE id IN (SELECT id FROM u)
    ORDER BY id
    FOR UPDATE
), upd AS (
    UPDATE issues i SET
        event_count = i.event_count + u.n,
        first_seen = least(i.first_seen, u.first_seen),
        last_seen = greatest(i.last_seen, u.last_seen),
        level = CASE WHEN u.fatal THEN 'FATAL' ELSE i.level END,
        status = CASE WHEN r.reopen THEN 'OPEN' ELSE i.status END,
        is_regression = i.is_regression OR r.reopen,
        updated_at = now()
    FROM locked l
    JOIN u ON u.id = l.id
    CROSS JOIN LATERAL (
        SELECT l.status = 'RESOLVED'
               AND u.last_seen > coalesce(l.resolved_at, '-infinity') AS reopen
    ) r
    WHERE i.id = l.id
    RETURNING i.id, r.reopen
)
SELECT coalesce(array_agg(id ORDER BY id) FILTER (WHERE reopen), '{}') FROM upd
"""


def _key(item: IssueCandidate) -> tuple[int, str]:
    return (item.project_id, item.fingerprint)


async def resolve_issue_ids(
    conn: asyncpg.Connection, candidates: Sequence[IssueCandidate]
) -> tuple[dict[tuple[int, str], int], set[int]]:
    """Ids of the candidates' issues, creating missing ones; also returns the created ids.

    Existing issues are only read (no lock); a new issue's unique-index entry makes a
    concurrent creator of the same fingerprint wait for this transaction, then find it.
    """
    if not candidates:
        return {}, set()
    ordered = sorted(candidates, key=_key)
    keys = [_key(c) for c in ordered]
    ids: dict[tuple[int, str], int] = {}
    for row in await conn.fetch(_SELECT_EXISTING, [k[0] for k in keys], [k[1] for k in keys]):
        ids[(row["project_id"], row["fingerprint"])] = row["id"]
    missing = [c for c in ordered if _key(c) not in ids]
    if any(c.fallbacks for c in missing):
        missing = await _resolve_by_fallbacks(conn, missing, ids)
    created: set[int] = set()
    if missing:
        rows = await conn.fetch(
            _CREATE,
            [c.project_id for c in missing],
            [c.fingerprint for c in missing],
            [c.title for c in missing],
            [c.level for c in missing],
            [c.error_type for c in missing],
            [c.error_message for c in missing],
            [c.sample_stack_trace for c in missing],
            [c.sample_event_id for c in missing],
            [c.service for c in missing],
            [c.first_seen for c in missing],
            [c.last_seen for c in missing],
            [c.grouping_version for c in missing],
        )
        for row in rows:
            ids[(row["project_id"], row["fingerprint"])] = row["id"]
            created.add(row["id"])
        # Lost a race: another transaction created them and committed; this statement's
        # fresh snapshot sees them.
        still = [c for c in missing if _key(c) not in ids]
        if still:
            for row in await conn.fetch(
                _SELECT_EXISTING, [c.project_id for c in still], [c.fingerprint for c in still]
            ):
                ids[(row["project_id"], row["fingerprint"])] = row["id"]
    return ids, created


# An alias: the new fingerprint of an issue found under an older grouping algorithm, kept
# (hidden, like a merged issue) so later events resolve without the fallback lookup.
_CREATE_ALIASES = """
INSERT INTO issues (project_id, fingerprint, title, level, first_seen, last_seen,
                    event_count, merged_into, merged_at)
SELECT k.project_id, k.fingerprint, i.title, i.level, i.first_seen, i.last_seen, 0, i.id, now()
FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS k(project_id, fingerprint, target)
JOIN issues i ON i.id = k.target
ORDER BY 1, 2
ON CONFLICT (project_id, fingerprint) DO NOTHING
"""


async def _resolve_by_fallbacks(
    conn: asyncpg.Connection, missing: list[IssueCandidate], ids: dict[tuple[int, str], int]
) -> list[IssueCandidate]:
    """Route candidates whose older-algorithm fingerprint names an issue to it (recording
    the new fingerprint as an alias); return the candidates still without an issue."""
    keys = sorted({(c.project_id, f) for c in missing for f in c.fallbacks})
    found: dict[tuple[int, str], int] = {}
    for row in await conn.fetch(_SELECT_EXISTING, [k[0] for k in keys], [k[1] for k in keys]):
        found[(row["project_id"], row["fingerprint"])] = row["id"]
    aliases: list[tuple[int, str, int]] = []
    still: list[IssueCandidate] = []
    for candidate in missing:
        target = next(
            (found[k] for f in candidate.fallbacks if (k := (candidate.project_id, f)) in found),
            None,
        )
        if target is None:
            still.append(candidate)
        else:
            ids[_key(candidate)] = target
            aliases.append((candidate.project_id, candidate.fingerprint, target))
    if aliases:
        await conn.execute(
            _CREATE_ALIASES,
            [a[0] for a in aliases],
            [a[1] for a in aliases],
            [a[2] for a in aliases],
        )
    return still


async def add_issue_events(conn: asyncpg.Connection, events: Sequence[IssueEvents]) -> list[int]:
    """Count new events into their issues, reopening resolved ones they regress.

    Returns the ids of the issues reopened as regressions. A RESOLVED issue reopens (OPEN,
    ``is_regression``) only if an event's timestamp is after ``resolved_at``: a late event
    from before the fix does not reopen it.
    """
    if not events:
        return []
    ordered = sorted(events, key=lambda e: e.issue_id)
    reopened = await conn.fetchval(
        _ADD_EVENTS,
        [e.issue_id for e in ordered],
        [e.count for e in ordered],
        [e.first_seen for e in ordered],
        [e.last_seen for e in ordered],
        [e.fatal for e in ordered],
    )
    return list(reopened)


async def delete_empty_issues(conn: asyncpg.Connection, issue_ids: Sequence[int]) -> None:
    """Remove issues created in this transaction that ended up with no new event.

    Only possible when every event of a new fingerprint was a duplicate stored under another
    issue (the grouping algorithm changed between deliveries); keeps issues never empty.
    """
    if issue_ids:
        await conn.execute(
            "DELETE FROM issues WHERE id = ANY($1::bigint[]) AND event_count = 0", list(issue_ids)
        )
