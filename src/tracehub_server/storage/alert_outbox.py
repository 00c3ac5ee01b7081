"""The alert outbox: triggers, notifications and their attempts (all the SQL).

Who writes what, and in which transaction:

* The digest calls :func:`queue_issue_triggers` inside its own transaction, so a trigger
  exists exactly when the issue rows it reports were committed (a rolled-back batch leaves
  none). It is one statement, skipped when the batch created and reopened nothing.
* The periodic evaluation inserts frequency and volume triggers (:func:`insert_triggers`).
* The planner (one at a time: :func:`try_lock`) turns triggers into notifications.
* Dispatchers claim due notifications with a lease (:func:`claim_due`): ``FOR UPDATE SKIP
  LOCKED`` picks rows no other dispatcher is claiming, and ``locked_until`` keeps them off
  every other dispatcher while this one sends. A dispatcher killed mid-send leaves the
  lease to expire, and the notification is sent again with the same id.
"""

# Statements interpolate only constant column lists; every value is bound ($n).
# ruff: noqa: S608

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from tracehub_server.storage.alerts import Channel, Rule, channels_by_id
from tracehub_server.storage.log_filters import LogFilter

# One function builds the explorer's WHERE clauses; volume rules count with the same one.
from tracehub_server.storage.log_queries import _add_filters as add_log_filters
from tracehub_server.storage.sql import Where

#: Advisory-lock key of the planner (any constant; the same in every process).
PLAN_LOCK_ID = 0x616C_6572_7473  # "alerts"
#: Advisory-lock key of the windowed-rule evaluation.
EVALUATE_LOCK_ID = 0x616C_6572_7474

__all__ = ["Claimed", "NewNotification", "TriggerRow", "claim_due", "queue_issue_triggers"]


# --- triggers ------------------------------------------------------------------------

# The enabled issue rules of the touched projects, joined to the issues they match by kind.
# Filters (environment, service, level) are left to the planner: the digest pays one probe
# of alert_rules_enabled_idx per project, nothing per rule.
_QUEUE_ISSUE_TRIGGERS = """
INSERT INTO alert_triggers (rule_id, project_id, issue_id, kind)
SELECT r.id, r.project_id, u.issue_id, r.kind
FROM unnest($1::bigint[], $2::text[]) AS u(issue_id, kind)
JOIN issues i ON i.id = u.issue_id
JOIN alert_rules r ON r.project_id = i.project_id AND r.kind = u.kind AND r.enabled
"""


async def queue_issue_triggers(
    conn: asyncpg.Connection, created: Sequence[int], reopened: Sequence[int]
) -> None:
    """Write outbox rows for new and reopened issues; the caller (the digest) owns the
    transaction, so they commit or roll back with the issues."""
    if not created and not reopened:
        return
    ids = [*created, *reopened]
    kinds = ["new_issue"] * len(created) + ["regression"] * len(reopened)
    await conn.execute(_QUEUE_ISSUE_TRIGGERS, ids, kinds)


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """A windowed-rule trigger for :func:`insert_triggers`."""

    rule_id: int
    project_id: int
    issue_id: int | None
    kind: str
    facts: dict[str, Any]


async def insert_triggers(conn: asyncpg.Connection, rows: Sequence[TriggerRow]) -> None:
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO alert_triggers (rule_id, project_id, issue_id, kind, facts)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(r.rule_id, r.project_id, r.issue_id, r.kind, r.facts) for r in rows],
    )


async def recently_notified(conn: asyncpg.Connection, rule_id: int, since: datetime) -> set[int]:
    """Issue ids (0 for the rule itself) notified by ``rule_id`` since ``since``, or waiting
    in the outbox: the evaluation does not queue them again."""
    rows = await conn.fetch(
        "SELECT issue_id FROM alert_rule_state WHERE rule_id = $1 AND notified_at > $2"
        " UNION SELECT coalesce(issue_id, 0) FROM alert_triggers WHERE rule_id = $1",
        rule_id,
        since,
    )
    return {r[0] for r in rows}


# Issues seen in the window (issues_project_last_seen_idx), then each one's events in the
# window counted through logs_issue_idx, stopping at the threshold.
_FREQUENT_ISSUES = """
SELECT i.id, c.n
FROM issues i
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (
        SELECT 1 FROM logs l
        WHERE l.issue_id = i.id AND l."timestamp" >= $2 AND l."timestamp" <= $3
        LIMIT $4
    ) s
) c
WHERE i.project_id = $1 AND i.last_seen >= $2
  AND (cardinality($5::text[]) = 0 OR i.service = ANY($5::text[]))
  AND (cardinality($6::text[]) = 0 OR i.level = ANY($6::text[]))
  AND c.n >= $4
ORDER BY i.id
LIMIT 1000
"""


async def frequent_issues(
    conn: asyncpg.Connection, rule: Rule, since: datetime, until: datetime
) -> list[tuple[int, int]]:
    """(issue id, events) of the issues with at least ``rule.threshold`` events in the window."""
    rows = await conn.fetch(
        _FREQUENT_ISSUES,
        rule.project_id,
        since,
        until,
        rule.threshold or 1,
        rule.services,
        rule.levels,
    )
    return [(r[0], r[1]) for r in rows]


async def count_matching_logs(
    conn: asyncpg.Connection,
    project_id: int,
    flt: LogFilter,
    *,
    since: datetime,
    until: datetime,
    cap: int,
) -> int:
    """Entries of the project matching ``flt`` in ``[since, until]``, counted up to ``cap``.

    Walks ``logs_project_time_idx`` over the window only and stops at ``cap`` matching rows.
    Bitmap scans are off for it: an ``extra`` filter would otherwise collect every matching
    row of the day's partition from the GIN index before the LIMIT could stop anything.
    """
    where = Where()
    where.add(f"project_id = {where.arg(project_id)}")
    where.add(f'"timestamp" >= {where.arg(since)}')
    where.add(f'"timestamp" <= {where.arg(until)}')
    add_log_filters(where, flt)
    limit = where.arg(cap)
    # Only Where's constant clauses and $n placeholders are interpolated; values are bound.
    sql = f"SELECT count(*) FROM (SELECT 1 FROM logs WHERE {where.sql()} LIMIT {limit}) s"
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 10000")
        await conn.execute("SET LOCAL enable_bitmapscan = off")
        return int(await conn.fetchval(sql, *where.args))


# --- the planner ----------------------------------------------------------------------


async def try_lock(conn: asyncpg.Connection, key: int = PLAN_LOCK_ID) -> bool:
    """Take the transaction-scoped advisory lock ``key``; False if another process holds it."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", key))


_TRIGGER_COLUMNS = "id, rule_id, project_id, issue_id, kind, facts, folded, created_at"


async def pending_triggers(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """The oldest triggers not planned yet (folded ones wait for :func:`due_folded`)."""
    return await conn.fetch(
        f"SELECT {_TRIGGER_COLUMNS} FROM alert_triggers WHERE NOT folded ORDER BY id LIMIT $1",
        limit,
    )


# Projects holding folded triggers whose last digest is older than $1 (or never sent).
_DUE_FOLDED = f"""
SELECT {_TRIGGER_COLUMNS} FROM alert_triggers
WHERE folded AND project_id IN (
    SELECT DISTINCT t.project_id FROM alert_triggers t
    LEFT JOIN alert_project_budget b ON b.project_id = t.project_id
    WHERE t.folded AND (b.last_digest_at IS NULL OR b.last_digest_at <= $1)
)
ORDER BY id
LIMIT $2
"""


async def due_folded(
    conn: asyncpg.Connection, digest_before: datetime, limit: int
) -> list[asyncpg.Record]:
    """Folded triggers of the projects whose next digest is due: held ones cost nothing
    until then, however often the planner runs."""
    return await conn.fetch(_DUE_FOLDED, digest_before, limit)


async def project_names(conn: asyncpg.Connection, project_ids: Sequence[int]) -> dict[int, str]:
    rows = await conn.fetch(
        "SELECT id, name FROM projects WHERE id = ANY($1::bigint[])", list(project_ids)
    )
    return {r["id"]: r["name"] for r in rows}


# The environment is not kept on issues: the sample event's (one probe of logs_event_uidx).
_ISSUE_FACTS = """
SELECT i.id, i.project_id, i.title, i.level, i.service, i.status, i.event_count,
       i.first_seen, i.last_seen, i.error_type, i.error_message, i.sample_stack_trace,
       (SELECT l.environment FROM logs l
        WHERE l.event_id = i.sample_event_id AND l.project_id = i.project_id LIMIT 1)
           AS environment,
       m.issue_id IS NOT NULL AND (m.until IS NULL OR m.until > $2) AS muted
FROM issues i
LEFT JOIN alert_mutes m ON m.issue_id = i.id
WHERE i.id = ANY($1::bigint[])
"""


async def issue_facts(
    conn: asyncpg.Connection, issue_ids: Sequence[int], now: datetime
) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch(_ISSUE_FACTS, list(issue_ids), now)
    return {r["id"]: r for r in rows}


async def last_notified(
    conn: asyncpg.Connection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], datetime]:
    """``notified_at`` of each (rule id, issue id) that has one."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT s.rule_id, s.issue_id, s.notified_at FROM alert_rule_state s"
        " JOIN unnest($1::bigint[], $2::bigint[]) AS k(rule_id, issue_id)"
        " ON s.rule_id = k.rule_id AND s.issue_id = k.issue_id",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r[0], r[1]): r[2] for r in rows}


async def mark_notified(
    conn: asyncpg.Connection, keys: Sequence[tuple[int, int]], now: datetime
) -> None:
    if not keys:
        return
    await conn.execute(
        "INSERT INTO alert_rule_state (rule_id, issue_id, notified_at)"
        " SELECT * , $3::timestamptz FROM unnest($1::bigint[], $2::bigint[]) ORDER BY 1, 2"
        " ON CONFLICT (rule_id, issue_id) DO UPDATE SET notified_at = EXCLUDED.notified_at",
        [k[0] for k in keys],
        [k[1] for k in keys],
        now,
    )


async def delete_triggers(conn: asyncpg.Connection, trigger_ids: Sequence[int]) -> None:
    if trigger_ids:
        await conn.execute(
            "DELETE FROM alert_triggers WHERE id = ANY($1::bigint[])", list(trigger_ids)
        )


async def fold_triggers(conn: asyncpg.Connection, trigger_ids: Sequence[int]) -> None:
    """Keep triggers past the hourly cap for the project's next digest."""
    if trigger_ids:
        await conn.execute(
            "UPDATE alert_triggers SET folded = true WHERE id = ANY($1::bigint[])",
            list(trigger_ids),
        )


@dataclass(slots=True)
class Budget:
    """A project's notifications this hour and when its last digest went out."""

    hour: datetime
    messages: int
    last_digest_at: datetime | None


async def load_budgets(
    conn: asyncpg.Connection, project_ids: Sequence[int], hour: datetime
) -> dict[int, Budget]:
    rows = await conn.fetch(
        "SELECT project_id, hour, messages, last_digest_at FROM alert_project_budget"
        " WHERE project_id = ANY($1::bigint[])",
        list(project_ids),
    )
    budgets = {pid: Budget(hour, 0, None) for pid in project_ids}
    for r in rows:
        same_hour = r["hour"] == hour
        budgets[r["project_id"]] = Budget(hour, r["messages"] if same_hour else 0, r[3])
    return budgets


async def save_budgets(conn: asyncpg.Connection, budgets: dict[int, Budget]) -> None:
    await conn.executemany(
        "INSERT INTO alert_project_budget (project_id, hour, messages, last_digest_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE SET hour = EXCLUDED.hour,"
        " messages = EXCLUDED.messages, last_digest_at = EXCLUDED.last_digest_at",
        [(pid, b.hour, b.messages, b.last_digest_at) for pid, b in sorted(budgets.items())],
    )


@dataclass(frozen=True, slots=True)
class NewNotification:
    """One message to one channel, as the planner hands it over."""

    project_id: int
    rule_id: int | None
    channel: Channel
    kind: str
    payload: dict[str, Any]
    deadline: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


async def insert_notifications(
    conn: asyncpg.Connection, notes: Sequence[NewNotification], now: datetime
) -> None:
    if not notes:
        return
    await conn.executemany(
        "INSERT INTO alert_notifications (id, project_id, rule_id, channel_id, channel_name,"
        " kind, payload, next_attempt_at, deadline, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)",
        [
            (
                n.id,
                n.project_id,
                n.rule_id,
                n.channel.id,
                n.channel.name,
                n.kind,
                {**n.payload, "notification_id": str(n.id)},
                now,
                n.deadline,
            )
            for n in notes
        ],
    )


# --- the dispatcher -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A notification a dispatcher holds the lease on, with its channel's settings."""

    id: uuid.UUID
    project_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    deadline: datetime
    channel: Channel | None


# SKIP LOCKED: dispatchers claiming at the same moment take disjoint rows; the lease
# (locked_until) then keeps the rows off the others for as long as the sending may take.
_CLAIM = """
WITH due AS (
    SELECT id FROM alert_notifications
    WHERE status = 'pending' AND next_attempt_at <= $1
      AND (locked_until IS NULL OR locked_until <= $1)
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE alert_notifications n SET locked_until = $2, attempts = n.attempts + 1
FROM due WHERE n.id = due.id
RETURNING n.id, n.project_id, n.kind, n.payload, n.attempts, n.deadline, n.channel_id
"""


async def claim_due(
    conn: asyncpg.Connection, now: datetime, lease_until: datetime, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due notifications until ``lease_until``; counts the attempt."""
    rows = await conn.fetch(_CLAIM, now, lease_until, limit)
    if not rows:
        return []
    channels = await channels_by_id(conn, [r["channel_id"] for r in rows if r["channel_id"]])
    return [
        Claimed(
            id=r["id"],
            project_id=r["project_id"],
            kind=r["kind"],
            payload=r["payload"],
            attempts=r["attempts"],
            deadline=r["deadline"],
            channel=channels.get(r["channel_id"]),
        )
        for r in rows
    ]


async def record_attempt(
    conn: asyncpg.Connection,
    note: Claimed,
    *,
    ok: bool,
    answer: str,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    """Store one attempt's outcome: sent, failed for good (``retry_at`` None), or retried."""
    status = "sent" if ok else ("pending" if retry_at is not None else "failed")
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO alert_attempts (notification_id, attempt, at, ok, answer)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            note.id,
            note.attempts,
            now,
            ok,
            answer,
        )
        await conn.execute(
            "UPDATE alert_notifications SET status = $2, last_result = $3, locked_until = NULL,"
            " next_attempt_at = coalesce($4, next_attempt_at),"
            " finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $5::timestamptz END"
            " WHERE id = $1",
            note.id,
            status,
            answer,
            retry_at,
            now,
        )


async def list_history(
    conn: asyncpg.Connection, project_id: int, *, limit: int = 50
) -> list[dict[str, Any]]:
    """The project's newest notifications, each with its attempts (oldest attempt first)."""
    rows = await conn.fetch(
        "SELECT n.id, n.rule_id, r.name AS rule_name, n.channel_id, n.channel_name, n.kind,"
        " n.status, n.attempts, n.last_result, n.created_at, n.finished_at, n.next_attempt_at,"
        " n.payload->>'title' AS title,"
        " coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at,"
        "   'ok', a.ok, 'answer', a.answer) ORDER BY a.attempt)::text"
        "   FROM alert_attempts a WHERE a.notification_id = n.id), '[]') AS attempt_list"
        " FROM alert_notifications n LEFT JOIN alert_rules r ON r.id = n.rule_id"
        " WHERE n.project_id = $1 ORDER BY n.created_at DESC, n.id LIMIT $2",
        project_id,
        limit,
    )
    return [{**dict(r), "attempt_list": orjson.loads(r["attempt_list"])} for r in rows]
