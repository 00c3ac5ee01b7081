"""Noise control: per-issue interval, mutes, filters, the hourly cap and its digest."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from alerts_support import (
    Clock,
    Receiver,
    add_channel,
    add_rule,
    error,
    ingest,
    notifications,
    service,
)

from tracehub_server.storage import alerts as store
from tracehub_server.storage.projects import Project


async def _issue_id(pool: asyncpg.Pool, project_id: int) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT id FROM issues WHERE project_id = $1", project_id)


async def test_hourly_cap_folds_the_rest_into_one_digest(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """Cap 3, 10 new issues: 3 messages and a digest "and 7 more"; later ones wait for the next."""
    clock = Clock()
    clock.now = clock.now.replace(minute=10)  # the steps below stay within one clock hour
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(pool, project.id, "new_issue", [channel])
    alerts = service(pool, clock, hourly_cap=3)
    await ingest(pool, project.id, [error(f"c{i}", now=clock.now) for i in range(10)])
    await alerts.run_once()
    # One dispatch sends its batch concurrently: arrival order is not the planning order.
    kinds = sorted(r.json()["kind"] for r in receiver.received)
    assert kinds == ["digest"] + ["new_issue"] * 3
    digest = next(r.json() for r in receiver.received if r.json()["kind"] == "digest")
    assert digest["digest"]["total"] == 7
    assert digest["digest"]["by_kind"] == {"new_issue": 7}
    assert "and 7 more (7 new issues)" in digest["title"]
    await ingest(pool, project.id, [error(f"d{i}", now=clock.now) for i in range(5)])
    clock.advance(minutes=1)
    await alerts.run_once()
    assert len(receiver.received) == 4  # over the cap, and the last digest is recent
    clock.advance(minutes=10)
    await alerts.run_once()
    assert receiver.received[-1].json()["digest"]["total"] == 5
    assert len(receiver.received) == 5


async def test_a_5000_new_issue_burst_sends_a_handful_of_messages(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """5,000 new issues in one deploy: 20 messages (the cap) and one digest of the rest."""
    clock = Clock()
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(pool, project.id, "new_issue", [channel])
    for start in range(0, 5000, 1000):
        await ingest(
            pool, project.id, [error(f"b{i}", now=clock.now) for i in range(start, start + 1000)]
        )
    await service(pool, clock, hourly_cap=20).run_once()
    assert len(receiver.received) == 21
    digest = next(r.json() for r in receiver.received if r.json()["kind"] == "digest")
    assert digest["digest"]["total"] == 4980
    assert len(digest["digest"]["issues"]) == 10
    assert digest["digest"]["more"] == 4970


async def test_frequency_rule_notifies_an_issue_once_per_interval(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """Over the threshold again within the interval: no second message; after it: one."""
    clock = Clock()
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(
        pool, project.id, "frequency", [channel], threshold=3, window_minutes=5, interval_minutes=30
    )
    alerts = service(pool, clock)
    await ingest(pool, project.id, [error("f", now=clock.now) for _ in range(3)])
    await alerts.run_once()
    assert len(receiver.received) == 1
    clock.advance(minutes=10)
    await ingest(pool, project.id, [error("f", now=clock.now) for _ in range(3)])
    await alerts.run_once()
    assert len(receiver.received) == 1
    clock.advance(minutes=25)
    await ingest(pool, project.id, [error("f", now=clock.now) for _ in range(3)])
    await alerts.run_once()
    assert len(receiver.received) == 2


async def test_muted_and_snoozed_issues_send_nothing(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """A muted issue never notifies; a snooze ends at its time."""
    clock = Clock()
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(
        pool, project.id, "frequency", [channel], threshold=1, window_minutes=5, interval_minutes=0
    )
    alerts = service(pool, clock)
    await ingest(pool, project.id, [error("m", now=clock.now)])
    issue_id = await _issue_id(pool, project.id)
    async with pool.acquire() as conn:
        await store.set_mute(conn, project.id, issue_id, None)
    await alerts.run_once()
    assert receiver.received == []
    async with pool.acquire() as conn:
        await store.set_mute(conn, project.id, issue_id, clock.now + timedelta(minutes=3))
    clock.advance(minutes=1)
    await alerts.run_once()
    assert receiver.received == []
    clock.advance(minutes=3)
    await ingest(pool, project.id, [error("m", now=clock.now)])
    await alerts.run_once()
    assert len(receiver.received) == 1


async def test_rule_filters_limit_environment_service_and_level(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """Only the issue in the rule's environment, service and level is notified."""
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(
        pool, project.id, "new_issue", [channel],
        environments=["prod"], services=["shop"], levels=["FATAL"],
    )  # fmt: skip
    await ingest(
        pool,
        project.id,
        [
            error("staging", environment="staging", level="FATAL"),
            error("other", service="billing", level="FATAL"),
            error("plain"),
            error("wanted", level="FATAL"),
        ],
    )
    await service(pool, Clock()).run_once()
    (got,) = receiver.received
    assert got.json()["issue"]["frames"][0] == "shop/wanted in compute_total"
    assert len(await notifications(pool, project.id)) == 1
