"""Webhook delivery to a real HTTP receiver: payload, signature, retries, failures."""

from __future__ import annotations

import asyncio
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
    webhook_receiver,
)

from tracehub_server.alerts.channels.webhook import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from tracehub_server.alerts.planner import PlanOptions, plan
from tracehub_server.storage import alert_outbox as outbox
from tracehub_server.storage.alert_outbox import list_history
from tracehub_server.storage.projects import Project


async def test_new_issue_is_posted_signed_with_its_facts(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """The receiver gets one POST: documented payload, id header, verifiable signature."""
    channel = await add_channel(pool, project.id, receiver.url, secret="s3cret")
    rule = await add_rule(pool, project.id, "new_issue", [channel])
    await ingest(pool, project.id, [error("pay"), error("pay")])
    await service(pool, Clock()).run_once()
    (got,) = receiver.received
    doc = got.json()
    assert doc["kind"] == "new_issue"
    assert doc["rule"] == {"id": rule.id, "name": rule.name}
    assert doc["project"] == {"id": project.id, "name": project.name}
    issue = doc["issue"]
    assert issue["title"].startswith("ZeroDivisionError")
    assert (issue["events"], issue["level"], issue["environment"]) == (2, "ERROR", "prod")
    assert issue["frames"][0] == "shop/pay in compute_total"
    assert doc["url"] == f"https://th.example/projects/{project.id}/issues/{issue['id']}"
    assert got.headers[ID_HEADER] == doc["notification_id"]
    assert verify("s3cret", got.headers[TIMESTAMP_HEADER], got.body, got.headers[SIGNATURE_HEADER])
    assert not verify(
        "wrong", got.headers[TIMESTAMP_HEADER], got.body, got.headers[SIGNATURE_HEADER]
    )
    (note,) = await notifications(pool, project.id)
    assert (note["status"], note["attempts"]) == ("sent", 1)


async def test_failing_then_hanging_receiver_is_retried_until_it_recovers(
    pool: asyncpg.Pool, project: Project
) -> None:
    """503, then a timeout, then 200: three attempts, one notification id, history kept."""
    clock = Clock()
    with webhook_receiver(["fail", "hang"]) as receiver:
        channel = await add_channel(pool, project.id, receiver.url)
        await add_rule(pool, project.id, "new_issue", [channel])
        await ingest(pool, project.id, [error("flaky")])
        alerts = service(pool, clock)
        await alerts.run_once()
        (note,) = await notifications(pool, project.id)
        assert (note["status"], note["attempts"]) == ("pending", 1)
        await alerts.run_once()  # not due yet: backoff
        assert len(receiver.received) == 1
        clock.advance(seconds=2)
        await alerts.run_once()  # hangs past the client's timeout
        clock.advance(seconds=5)
        await alerts.run_once()
        ids = {r.headers[ID_HEADER] for r in receiver.received}
    assert len(receiver.received) == 3
    assert ids == {str(note["id"])}
    async with pool.acquire() as conn:
        (entry,) = await list_history(conn, project.id)
    assert entry["status"] == "sent"
    answers = [a["answer"] for a in entry["attempt_list"]]
    assert answers[0] == "HTTP 503: receiver is down"
    assert answers[1].startswith("ReadTimeout")
    assert answers[2] == "HTTP 200: accepted"


async def test_a_client_error_is_final(pool: asyncpg.Pool, project: Project) -> None:
    """A 404 is not retried: the notification fails with the receiver's answer."""
    with webhook_receiver(["gone"]) as receiver:
        channel = await add_channel(pool, project.id, receiver.url)
        await add_rule(pool, project.id, "new_issue", [channel])
        await ingest(pool, project.id, [error("gone")])
        clock = Clock()
        alerts = service(pool, clock)
        await alerts.run_once()
        clock.advance(minutes=5)
        await alerts.run_once()
    assert len(receiver.received) == 1
    (note,) = await notifications(pool, project.id)
    assert (note["status"], note["last_result"]) == ("failed", "HTTP 404: receiver is down")


async def test_the_deadline_ends_retries(pool: asyncpg.Pool, project: Project) -> None:
    """A receiver down past the deadline: the notification is marked failed, not retried."""
    with webhook_receiver(["fail"] * 100) as receiver:
        channel = await add_channel(pool, project.id, receiver.url)
        await add_rule(pool, project.id, "new_issue", [channel])
        await ingest(pool, project.id, [error("down")])
        clock = Clock()
        alerts = service(pool, clock)
        await alerts.run_once()
        clock.advance(hours=25)
        await alerts.run_once()
        clock.advance(hours=1)
        await alerts.run_once()
    assert len(receiver.received) == 2
    (note,) = await notifications(pool, project.id)
    assert note["status"] == "failed"


async def test_concurrent_dispatchers_send_each_notification_once(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """Four dispatchers running at once deliver 30 notifications exactly once each."""
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(pool, project.id, "new_issue", [channel])
    await ingest(pool, project.id, [error(f"m{i}") for i in range(30)])
    clock = Clock()
    services = [service(pool, clock, hourly_cap=100) for _ in range(4)]
    await asyncio.gather(*(s.run_once() for s in services))
    await asyncio.gather(*(s.run_once() for s in services))
    ids = [r.headers[ID_HEADER] for r in receiver.received]
    assert len(ids) == 30
    assert len(set(ids)) == 30


async def test_a_dispatcher_dead_mid_send_is_replaced_after_its_lease(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """A claim whose dispatcher died holds the notification until the lease ends; then
    another dispatcher sends it, with the same notification id."""
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(pool, project.id, "new_issue", [channel])
    await ingest(pool, project.id, [error("lease")])
    clock = Clock()
    alerts = service(pool, clock)
    async with pool.acquire() as conn:
        await plan(conn, PlanOptions(), clock.now)
        (claimed,) = await outbox.claim_due(conn, clock.now, clock.now + timedelta(seconds=30), 10)
    await alerts.run_once()
    assert receiver.received == []
    clock.advance(seconds=31)
    await alerts.run_once()
    (got,) = receiver.received
    assert got.headers[ID_HEADER] == str(claimed.id)
    (note,) = await notifications(pool, project.id)
    assert (note["status"], note["attempts"]) == ("sent", 2)
