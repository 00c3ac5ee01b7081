"""The RabbitMQ publisher, topology and re-drive against the real broker."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import aio_pika
import orjson
import pytest
from queue_helpers import close_connections

from tracehub_server.queue.base import QueueUnavailable
from tracehub_server.queue.messages import IngestBatch, decode
from tracehub_server.queue.rabbitmq import RabbitPublisher, Topology, declare_topology, redrive


def _batch(n: int = 1) -> IngestBatch:
    return IngestBatch(project_id=1, entries=[{"event_id": f"{i:032x}"} for i in range(n)])


async def _get_all(amqp_url: str, name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(amqp_url)
    found = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            found.append(message)
    return found


async def test_publish_is_persistent_on_a_durable_queue(amqp_url, topology) -> None:
    """A confirmed publish is a persistent message in the durable ingest queue."""
    publisher = RabbitPublisher(amqp_url, topology)
    await publisher.start()
    try:
        await publisher.publish(_batch(3))
        assert await publisher.ready()
    finally:
        await publisher.close()
    [message] = await _get_all(amqp_url, topology.queue_name)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    [batch] = decode(message.body)
    assert len(batch.entries) == 3
    assert _queue_info(amqp_url)[topology.queue_name]["durable"] == "true"


async def test_concurrent_publishes_are_all_confirmed(amqp_url, topology) -> None:
    """Many concurrent publishes all land once each, grouped into fewer messages."""
    publisher = RabbitPublisher(amqp_url, topology)
    try:
        await asyncio.gather(*(publisher.publish(_batch(1)) for _ in range(200)))
        assert await publisher.depth() is not None
    finally:
        await publisher.close()
    messages = await _get_all(amqp_url, topology.queue_name)
    assert sum(len(decode(m.body)) for m in messages) == 200
    assert len(messages) < 200  # requests waiting for a confirm were grouped


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_requests_wait_together_while_messages_are_in_flight(
    amqp_url, topology, in_flight: int
) -> None:
    """The first ``max_in_flight`` requests go out at once, one message each; everything
    that arrives before a confirm frees a slot follows in one message."""
    publisher = RabbitPublisher(amqp_url, topology, max_in_flight=in_flight)
    try:
        await asyncio.gather(*(publisher.publish(_batch(1)) for _ in range(100)))
    finally:
        await publisher.close()
    messages = await _get_all(amqp_url, topology.queue_name)
    assert [len(decode(m.body)) for m in messages] == [1] * in_flight + [100 - in_flight]


def test_in_flight_must_be_positive(topology) -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        RabbitPublisher("amqp://guest:guest@127.0.0.1/", topology, max_in_flight=0)


async def test_unreachable_broker_raises_queue_unavailable(topology) -> None:
    """A closed port makes publish raise QueueUnavailable (and ready() False) quickly."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    publisher = RabbitPublisher(f"amqp://guest:guest@127.0.0.1:{port}/", topology)
    await publisher.start()
    with pytest.raises(QueueUnavailable):
        await publisher.publish(_batch())
    assert await publisher.ready() is False
    assert await publisher.depth() is None
    await publisher.close()


async def test_publisher_reconnects_after_the_broker_drops_it(amqp_url, topology) -> None:
    """After the broker closes the connection, a later publish reconnects (bounded wait)."""
    publisher = RabbitPublisher(amqp_url, topology)
    await publisher.publish(_batch())
    close_connections(amqp_url)
    published = False
    for _ in range(100):  # at most ~10 s
        try:
            await publisher.publish(_batch())
            published = True
            break
        except QueueUnavailable:
            await asyncio.sleep(0.1)
    await publisher.close()
    assert published
    assert len(await _get_all(amqp_url, topology.queue_name)) >= 2


async def test_redrive_moves_dead_letters_back(amqp_url, topology) -> None:
    """redrive republishes dead-lettered messages to the ingest queue with attempts reset."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel, topology)
        for i in range(5):
            await channel.default_exchange.publish(
                aio_pika.Message(b"body%d" % i, headers={"x-tracehub-attempts": 3}),
                routing_key=topology.dead_queue_name,
            )
    assert await redrive(amqp_url, topology, limit=2) == 2
    assert await redrive(amqp_url, topology) == 3
    moved = await _get_all(amqp_url, topology.queue_name)
    assert sorted(m.body for m in moved) == [b"body%d" % i for i in range(5)]
    assert all("x-tracehub-attempts" not in (m.headers or {}) for m in moved)


async def test_quorum_topology_declares_a_delivery_limit(amqp_url, topology) -> None:
    """A quorum topology declares quorum queues with x-delivery-limit and a DLX."""
    quorum = Topology(topology.queue_name + "_q", "quorum", 4)
    assert quorum.main_arguments()["x-delivery-limit"] == 3
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        main, dead = await declare_topology(channel, quorum)
        await declare_topology(channel, quorum)  # idempotent
        assert (main.name, dead.name) == (quorum.queue_name, quorum.dead_queue_name)
    info = _queue_info(amqp_url)
    assert info[quorum.queue_name]["type"] == "quorum"
    assert info[quorum.dead_queue_name]["type"] == "quorum"


def _queue_info(amqp_url: str) -> dict[str, dict[str, str]]:
    vhost = amqp_url.rsplit("/", 1)[1]
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "durable", "type"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    return {row[0]: {"durable": row[1], "type": row[2]} for row in rows if len(row) == 3}


async def test_concurrent_publishes_to_a_dead_broker_all_fail_fast(topology) -> None:
    """Grouped publishes to an unreachable broker each raise QueueUnavailable, none hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    publisher = RabbitPublisher(f"amqp://guest:guest@127.0.0.1:{port}/", topology)
    results = await asyncio.wait_for(
        asyncio.gather(*(publisher.publish(_batch()) for _ in range(50)), return_exceptions=True),
        30,
    )
    await publisher.close()
    assert all(isinstance(r, QueueUnavailable) for r in results)


async def test_oversized_batches_go_out_alone_and_order_is_kept(amqp_url, topology) -> None:
    """Batches over the group byte cap are never joined; every entry lands exactly once."""
    from tracehub_server.queue import rabbitmq

    big = [{"event_id": f"{i:032x}", "message": "x" * 1000} for i in range(3000)]
    publisher = RabbitPublisher(amqp_url, topology)
    try:
        assert len(orjson.dumps(big)) > rabbitmq.MAX_GROUP_BYTES
        await asyncio.gather(
            *(publisher.publish(IngestBatch(project_id=p, entries=big)) for p in (1, 2, 3))
        )
    finally:
        await publisher.close()
    messages = await _get_all(amqp_url, topology.queue_name)
    batches = [b for m in messages for b in decode(m.body)]
    assert sorted(b.project_id for b in batches) == [1, 2, 3]
    assert len(messages) == 3


async def test_publish_after_close_is_refused(amqp_url, topology) -> None:
    """Once closed (shutdown), publish raises QueueUnavailable at once."""
    publisher = RabbitPublisher(amqp_url, topology)
    await publisher.close()
    with pytest.raises(QueueUnavailable):
        await asyncio.wait_for(publisher.publish(_batch()), 5)
