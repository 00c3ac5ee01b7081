"""Windowed rules: issue frequency and log volume fire at the threshold, not below it."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from alerts_support import Clock, Receiver, add_channel, add_rule, entry, error, ingest, service

from tracehub_server.storage.projects import Project


async def test_frequency_fires_at_n_events_in_the_window(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """Two events of an issue: nothing; the third within 5 minutes: one message with the count."""
    clock = Clock()
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(pool, project.id, "frequency", [channel], threshold=3, window_minutes=5)
    alerts = service(pool, clock)
    old = clock.now - timedelta(minutes=20)
    await ingest(
        pool,
        project.id,
        [error("q", now=old), error("q", now=clock.now), error("q", now=clock.now)],
    )
    await alerts.run_once()
    assert receiver.received == []
    await ingest(pool, project.id, [error("q", now=clock.now)])
    await alerts.run_once()
    (got,) = receiver.received
    doc = got.json()
    assert doc["kind"] == "frequency"
    assert doc["query"]["count"] == 3
    assert doc["query"]["window_minutes"] == 5


async def test_volume_fires_on_matching_entries_only(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """ERROR-or-above from checkout with extra.tenant=acme: 4 match, others don't; the 5th fires."""
    clock = Clock()
    channel = await add_channel(pool, project.id, receiver.url)
    await add_rule(
        pool, project.id, "volume", [channel],
        threshold=5, window_minutes=5, levels=["ERROR", "FATAL"], services=["checkout"],
        query=[["extra.tenant", "acme"], ["q", "payment"]],
    )  # fmt: skip
    alerts = service(pool, clock)

    def hit(**fields: object) -> dict[str, object]:
        base: dict[str, object] = {
            "level": "ERROR", "service": "checkout", "extra": {"tenant": "acme"},
            "message": "payment declined",
        }  # fmt: skip
        base.update(fields)
        return entry(clock.now, **base)

    await ingest(
        pool,
        project.id,
        [hit() for _ in range(4)]
        + [hit(service="shop"), hit(level="WARN"), hit(extra={"tenant": "other"}),
           hit(message="login failed")],
    )  # fmt: skip
    await alerts.run_once()
    assert receiver.received == []
    await ingest(pool, project.id, [hit(level="FATAL")])
    await alerts.run_once()
    (got,) = receiver.received
    doc = got.json()
    assert doc["kind"] == "volume"
    assert doc["query"]["count"] == 5
    assert doc["query"]["params"] == [["extra.tenant", "acme"], ["q", "payment"]]
    assert doc["url"].startswith(f"https://th.example/projects/{project.id}/logs?")
    await ingest(pool, project.id, [hit()])
    await alerts.run_once()
    assert len(receiver.received) == 1  # within the rule's interval
