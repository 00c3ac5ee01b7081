"""The worker's consumer against real RabbitMQ and PostgreSQL: batching, acks, DLQ, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from worker_helpers import Recorder, batch, message_counts, publish, unique_topology, wait_for

from tracehub_server.queue.rabbitmq import Topology
from tracehub_server.storage.projects import Project
from tracehub_server.worker.consumer import Consumer, ConsumerOptions, is_transient


@pytest.fixture
async def start(
    amqp_url: str, pool: asyncpg.Pool
) -> AsyncIterator[Callable[..., tuple[Consumer, asyncio.Task]]]:
    """Start consumers in background tasks; they are stopped and awaited afterwards."""
    running: list[tuple[Consumer, asyncio.Task]] = []

    def run(topology: Topology, digest, **options) -> tuple[Consumer, asyncio.Task]:
        consumer = Consumer(
            amqp_url=amqp_url,
            pool=pool,
            topology=topology,
            digest=digest,
            options=ConsumerOptions(**{"batch_seconds": 0.05, "max_backoff": 1, **options}),
        )
        task = asyncio.create_task(consumer.run())
        running.append((consumer, task))
        return consumer, task

    yield run
    for consumer, task in running:
        consumer.stop()
        await asyncio.wait_for(task, 30)


async def _rows(pool: asyncpg.Pool, project: Project) -> int:
    return await pool.fetchval("SELECT count(*) FROM logs WHERE project_id = $1", project.id)


async def test_messages_are_batched_stored_and_acked(amqp_url, pool, project, start) -> None:
    """Queued messages are digested in batches and acknowledged: nothing stays queued."""
    topology = unique_topology()
    await publish(amqp_url, topology, [batch(project.id, 5) for _ in range(30)])
    recorder = Recorder()
    start(topology, recorder, batch_messages=10)
    await wait_for(lambda: _equals(_rows(pool, project), 150))
    await wait_for(lambda: _equals(message_counts(amqp_url, topology), (0, 0)))
    assert max(recorder.calls) <= 10
    assert max(recorder.calls) > 1


async def test_redelivered_batch_is_stored_once(amqp_url, pool, project, start) -> None:
    """The same batch delivered twice is stored once (the digest's ON CONFLICT)."""
    topology = unique_topology()
    same = batch(project.id, 7)
    await publish(amqp_url, topology, [same, same])
    start(topology, Recorder(), batch_messages=1)
    await wait_for(lambda: _equals(message_counts(amqp_url, topology), (0, 0)))
    assert await _rows(pool, project) == 7


async def test_poison_message_is_dead_lettered_after_the_attempt_limit(
    amqp_url, pool, project, start
) -> None:
    """A message that always fails goes to the DLQ; its batch-mates are stored."""
    topology = unique_topology(attempts=3)
    await publish(
        amqp_url,
        topology,
        [batch(project.id, 2), batch(project.id, 1, message="POISON"), batch(project.id, 3)],
    )
    start(topology, Recorder(), batch_messages=10)
    await wait_for(lambda: _equals(message_counts(amqp_url, topology), (0, 1)))
    assert await _rows(pool, project) == 5


async def test_quorum_queue_dead_letters_by_delivery_limit(amqp_url, pool, project, start) -> None:
    """On a quorum queue the broker's x-delivery-limit dead-letters the poison message."""
    topology = unique_topology("quorum", attempts=2)
    await publish(
        amqp_url, topology, [batch(project.id, 1, message="POISON"), batch(project.id, 4)]
    )
    start(topology, Recorder(), batch_messages=10)
    await wait_for(lambda: _equals(message_counts(amqp_url, topology), (0, 1)))
    assert await _rows(pool, project) == 4


async def test_undecodable_message_is_dead_lettered_at_once(amqp_url, pool, project, start) -> None:
    """A body that is not an ingest batch goes straight to the DLQ."""
    topology = unique_topology()
    await publish(amqp_url, topology, [b"garbage", batch(project.id, 2)])
    recorder = Recorder()
    start(topology, recorder)
    await wait_for(lambda: _equals(message_counts(amqp_url, topology), (0, 1)))
    # Delivered is not yet committed: wait for the good message's rows.
    await wait_for(lambda: _equals(_rows(pool, project), 2))


async def test_transient_failures_are_retried_without_counting(
    amqp_url, pool, project, start
) -> None:
    """Database outages are retried with backoff and never dead-letter the message."""
    topology = unique_topology(attempts=1)
    await publish(amqp_url, topology, [batch(project.id, 3)])
    start(topology, Recorder(transient_failures=3))
    await wait_for(lambda: _equals(_rows(pool, project), 3))
    await wait_for(lambda: _equals(message_counts(amqp_url, topology), (0, 0)))


async def test_stop_finishes_and_acks_the_current_batch(amqp_url, pool, project, start) -> None:
    """stop() (SIGTERM) during a digest lets it commit and ack, then run() returns."""
    topology = unique_topology()
    await publish(amqp_url, topology, [batch(project.id, 4)])
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    consumer, task = start(topology, recorder)
    await asyncio.wait_for(recorder.entered.wait(), 30)
    consumer.stop()
    recorder.gate.set()
    await asyncio.wait_for(task, 30)
    assert await _rows(pool, project) == 4
    assert await message_counts(amqp_url, topology) == (0, 0)


async def test_consumer_reconnects_after_the_broker_drops_it(
    amqp_url, pool, project, start
) -> None:
    """When RabbitMQ closes the connection the consumer reconnects and keeps consuming."""
    from queue_helpers_for_worker import close_connections

    topology = unique_topology()
    start(topology, Recorder())
    await publish(amqp_url, topology, [batch(project.id, 2)])
    await wait_for(lambda: _equals(_rows(pool, project), 2))
    close_connections(amqp_url)
    await publish(amqp_url, topology, [batch(project.id, 3)])
    await wait_for(lambda: _equals(_rows(pool, project), 5))


def test_transient_classification() -> None:
    """Connection and rollback errors are transient; data errors are not."""
    assert is_transient(ConnectionResetError())
    assert is_transient(asyncpg.exceptions.DeadlockDetectedError())
    assert is_transient(asyncpg.exceptions.CannotConnectNowError())
    assert not is_transient(asyncpg.exceptions.DataError())
    assert not is_transient(ValueError())


async def _equals(value, expected) -> bool:
    return await value == expected
