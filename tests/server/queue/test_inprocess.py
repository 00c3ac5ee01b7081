"""The embedded queue: publish returns after commit, concurrent publishes share transactions."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import datetime, timezone

import asyncpg
import pytest

from tracehub_server.queue.base import QueueUnavailable
from tracehub_server.queue.inprocess import InProcessQueue
from tracehub_server.queue.messages import ENTRY_KEYS, IngestBatch
from tracehub_server.storage.projects import Project
from tracehub_server.worker.digest import digest


def _entries(n: int, *, message: str = "hello") -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [
        {
            **dict.fromkeys(ENTRY_KEYS),  # every key of a validated entry, in its order
            "event_id": secrets.token_hex(16),
            "timestamp": now,
            "received_at": now,
            "level": "INFO",
            "service": "svc",
            "environment": "test",
            "message": message,
        }
        for _ in range(n)
    ]


class Recorder:
    """The real digest, counting its calls; fails batches whose message is 'POISON'."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def __call__(self, pool: asyncpg.Pool, batches: Sequence[IngestBatch]):
        self.calls.append(len(batches))
        if any(e["message"] == "POISON" for b in batches for e in b.entries):
            raise ValueError("poison batch")
        return await digest(pool, batches)


async def _count(pool: asyncpg.Pool, project: Project) -> int:
    return await pool.fetchval("SELECT count(*) FROM logs WHERE project_id = $1", project.id)


async def test_publish_returns_after_commit(pool: asyncpg.Pool, project: Project) -> None:
    """When publish returns the rows are committed and visible to another connection."""
    queue = InProcessQueue(pool, digest)
    await queue.publish(IngestBatch(project.id, _entries(5)))
    assert await _count(pool, project) == 5
    await queue.close()


async def test_concurrent_publishes_share_transactions(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Concurrent publishes are grouped into fewer digests, every row stored once."""
    recorder = Recorder()
    queue = InProcessQueue(pool, recorder)
    await asyncio.gather(*(queue.publish(IngestBatch(project.id, _entries(10))) for _ in range(20)))
    await queue.close()
    assert await _count(pool, project) == 200
    assert len(recorder.calls) < 20
    assert sum(recorder.calls) == 20


async def test_a_failing_batch_fails_only_its_request(pool: asyncpg.Pool, project: Project) -> None:
    """In a failed group, the good batches are committed singly and only the bad one raises."""
    queue = InProcessQueue(pool, Recorder())
    results = await asyncio.gather(
        queue.publish(IngestBatch(project.id, _entries(3))),
        queue.publish(IngestBatch(project.id, _entries(1, message="POISON"))),
        queue.publish(IngestBatch(project.id, _entries(4))),
        return_exceptions=True,
    )
    await queue.close()
    assert results[0] is None
    assert isinstance(results[1], QueueUnavailable)
    assert results[2] is None
    assert await _count(pool, project) == 7


async def test_close_drains_then_refuses(pool: asyncpg.Pool, project: Project) -> None:
    """close() commits what was published; later publishes raise QueueUnavailable."""
    queue = InProcessQueue(pool, digest)
    pending = asyncio.ensure_future(queue.publish(IngestBatch(project.id, _entries(2))))
    await asyncio.sleep(0)
    await queue.close()
    await pending
    assert await _count(pool, project) == 2
    assert await queue.ready() is False
    with pytest.raises(QueueUnavailable):
        await queue.publish(IngestBatch(project.id, _entries(1)))
