"""The outbox: triggers are written in the digest's transaction, exactly when they should."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from alerts_support import add_channel, add_rule, error, ingest, triggers

from tracehub_server.storage.projects import Project


async def test_new_issue_rule_queues_one_trigger_per_new_issue(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Two new issues make two new_issue triggers; events of a known issue make none."""
    channel = await add_channel(pool, project.id, "http://127.0.0.1:9/none")
    rule = await add_rule(pool, project.id, "new_issue", [channel])
    await ingest(pool, project.id, [error("a"), error("a"), error("b")])
    rows = await triggers(pool, project.id)
    assert [(r["rule_id"], r["kind"]) for r in rows] == [(rule.id, "new_issue")] * 2
    await ingest(pool, project.id, [error("a"), error("b")])
    assert len(await triggers(pool, project.id)) == 2


async def test_no_rule_or_disabled_rule_queues_nothing(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Without an enabled rule of the kind, the digest writes no trigger."""
    channel = await add_channel(pool, project.id, "http://127.0.0.1:9/none")
    await add_rule(pool, project.id, "new_issue", [channel], enabled=False)
    await add_rule(pool, project.id, "regression", [channel])
    await ingest(pool, project.id, [error("x")])
    assert await triggers(pool, project.id) == []


async def test_regression_rule_fires_when_a_resolved_issue_recurs(
    pool: asyncpg.Pool, project: Project
) -> None:
    """A resolved issue hit again after its resolution queues one regression trigger."""
    channel = await add_channel(pool, project.id, "http://127.0.0.1:9/none")
    rule = await add_rule(pool, project.id, "regression", [channel])
    past = datetime.now(timezone.utc) - timedelta(minutes=10)
    await ingest(pool, project.id, [error("r", now=past)])
    async with pool.acquire() as conn:
        issue_id = await conn.fetchval("SELECT id FROM issues WHERE project_id = $1", project.id)
        await conn.execute(
            "UPDATE issues SET status = 'RESOLVED', resolved_at = now() - interval '5 minutes'"
            " WHERE id = $1",
            issue_id,
        )
    await ingest(pool, project.id, [error("r", now=past)])  # a late event from before the fix
    assert await triggers(pool, project.id) == []
    await ingest(pool, project.id, [error("r")])
    rows = await triggers(pool, project.id)
    assert [(r["rule_id"], r["issue_id"], r["kind"]) for r in rows] == [
        (rule.id, issue_id, "regression")
    ]


async def test_rolled_back_batch_queues_nothing(pool: asyncpg.Pool, project: Project) -> None:
    """A digest that fails after writing its triggers leaves neither issues nor triggers."""
    channel = await add_channel(pool, project.id, "http://127.0.0.1:9/none")
    await add_rule(pool, project.id, "new_issue", [channel])
    async with pool.acquire() as conn:
        # A constraint that fails the digest's transaction after the outbox insert ran.
        await conn.execute(
            f"ALTER TABLE alert_triggers ADD CONSTRAINT fail_{project.id}"
            f" CHECK (project_id <> {project.id}) NOT VALID"
        )
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await ingest(pool, project.id, [error("rollback")])
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f"ALTER TABLE alert_triggers DROP CONSTRAINT fail_{project.id}")
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM issues WHERE project_id = $1", project.id)
            == 0
        )
    assert await triggers(pool, project.id) == []
