"""Helpers for consumer tests: validated batches, a running consumer, queue inspection."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import aio_pika
import asyncpg

from tracehub_server.api.validation import EntryValidator
from tracehub_server.queue.messages import IngestBatch, encode_entries, encode_group, entry_dict
from tracehub_server.queue.rabbitmq import Topology, declare_topology
from tracehub_server.worker.digest import digest


def batch(project_id: int, n: int, *, message: str = "hello", level: str = "INFO") -> IngestBatch:
    """A batch of n entries validated exactly as the API does."""
    wire = [{"level": level, "message": message, "service": "svc"} for _ in range(n)]
    entries, rejected = EntryValidator(retention_days=30).validate(wire, datetime.now(timezone.utc))
    assert not rejected
    return IngestBatch(project_id, entries)


async def publish(amqp_url: str, topology: Topology, bodies: Sequence[bytes | IngestBatch]) -> None:
    """Publish raw bodies or batches to the ingest queue (persistent)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare_topology(channel, topology)
        for body in bodies:
            data = (
                encode_group([(body.project_id, encode_entries(body.entries))])
                if isinstance(body, IngestBatch)
                else body
            )
            await channel.default_exchange.publish(
                aio_pika.Message(data, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=topology.queue_name,
            )


async def message_counts(amqp_url: str, topology: Topology) -> tuple[int, int]:
    """Messages ready in (ingest queue, dead-letter queue)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        main, dead = await declare_topology(channel, topology)
        return main.declaration_result.message_count, dead.declaration_result.message_count


async def wait_for(predicate: Any, *, timeout: float = 30.0) -> None:
    """Poll an async predicate until true; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


class Recorder:
    """The real digest, recording batch counts; raises for entries whose message says so."""

    def __init__(self, *, transient_failures: int = 0) -> None:
        self.calls: list[int] = []
        self.transient_failures = transient_failures
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, pool: asyncpg.Pool, batches: Sequence[IngestBatch]) -> Any:
        self.calls.append(len(batches))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.transient_failures:
            self.transient_failures -= 1
            raise ConnectionResetError("simulated: database connection lost")
        if any(
            (entry_dict(e) or {}).get("message") == "POISON" for b in batches for e in b.entries
        ):
            raise ValueError("simulated: this batch cannot be stored")
        return await digest(pool, batches)


def unique_topology(queue_type: str = "classic", attempts: int = 3) -> Topology:
    return Topology(f"w_{secrets.token_hex(6)}", queue_type, attempts)
