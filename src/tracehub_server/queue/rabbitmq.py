"""RabbitMQ: the queue topology, the API's confirming publisher and the DLQ re-drive.

Topology (declared identically by the API, the workers and ``tracehub dlq redrive``):

* ``log_ingestion`` (``queue_name``): durable, classic or quorum (``queue_type``), whose
  rejected messages are dead-lettered through the default exchange to
  ``log_ingestion.dead``. On a quorum queue ``x-delivery-limit`` makes the broker
  dead-letter a message after ``max_delivery_attempts`` deliveries; on a classic queue the
  worker counts attempts in the ``x-tracehub-attempts`` header and rejects the last one.
* ``log_ingestion.dead``: durable, same type; messages wait there until re-driven.

The publisher uses its own reconnect logic rather than aio-pika's robust connection: a
publish either gets a broker confirm or raises :class:`QueueUnavailable` at once (the API
answers 503), and the next publish reconnects -- at most one attempt per
``RECONNECT_INTERVAL`` so a dead broker costs a request microseconds, not a connect timeout.

Group publishing: at most ``max_in_flight`` messages await their confirm at once; requests
that arrive meanwhile wait together and go out as one version-3 message (see
:mod:`tracehub_server.queue.messages`) once a slot frees. Under load that turns many small
persistent messages -- each a broker write, a confirm and a delivery -- into a few larger
ones, which is most of the broker's and the worker's per-request cost; a lone request still
goes out at once. Every request is answered only after the message holding it is confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from tracehub_server.queue.base import IngestQueue, QueueUnavailable
from tracehub_server.queue.messages import IngestBatch, encode_entries, encode_group

logger = logging.getLogger(__name__)

#: Header in which classic-queue deliveries count failed attempts.
ATTEMPTS_HEADER = "x-tracehub-attempts"
#: Seconds between reconnection attempts of the publisher.
RECONNECT_INTERVAL = 1.0
#: Seconds a connection attempt may take.
CONNECT_TIMEOUT = 5.0
#: Seconds the queue depth is cached (the API asks on every request).
DEPTH_CACHE_SECONDS = 1.0
#: Messages awaiting their broker confirm at once by default; later requests are grouped
#: meanwhile. One: under load each message then holds every request that arrived during the
#: previous confirm (``bench/bench_server.py``: RabbitMQ and API CPU per entry down, latency
#: unchanged); a broker far away (long confirms) may want more.
MAX_IN_FLIGHT = 1
#: Bytes of entries grouped into one message at most (a larger request goes alone).
MAX_GROUP_BYTES = 2 * 1024 * 1024

_Pending = tuple[int, bytes, "asyncio.Future[None]"]


@dataclass(frozen=True, slots=True)
class Topology:
    """Names and arguments of the ingest queue and its dead-letter queue."""

    queue_name: str = "log_ingestion"
    queue_type: str = "classic"
    max_delivery_attempts: int = 5

    @property
    def dead_queue_name(self) -> str:
        return f"{self.queue_name}.dead"

    @classmethod
    def from_settings(cls, settings: Any) -> Topology:
        return cls(
            queue_name=settings.queue_name,
            queue_type=settings.queue_type,
            max_delivery_attempts=settings.max_delivery_attempts,
        )

    def main_arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.dead_queue_name,
        }
        if self.queue_type == "quorum":
            args["x-queue-type"] = "quorum"
            # The broker dead-letters once a message was returned more than this many times.
            args["x-delivery-limit"] = self.max_delivery_attempts - 1
        return args

    def dead_arguments(self) -> dict[str, Any]:
        return {"x-queue-type": "quorum"} if self.queue_type == "quorum" else {}


async def declare_topology(
    channel: AbstractChannel, topology: Topology
) -> tuple[AbstractQueue, AbstractQueue]:
    """Declare (idempotently) the ingest queue and its dead-letter queue."""
    dead = await channel.declare_queue(
        topology.dead_queue_name, durable=True, arguments=topology.dead_arguments()
    )
    main = await channel.declare_queue(
        topology.queue_name, durable=True, arguments=topology.main_arguments()
    )
    return main, dead


class RabbitPublisher(IngestQueue):
    """Publishes batches as persistent messages and waits for the broker's confirm."""

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        publish_timeout: float = 10.0,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._url = url
        self._max_in_flight = max_in_flight
        self._topology = topology
        self._publish_timeout = publish_timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._last_attempt = -RECONNECT_INTERVAL
        self._last_error = "not connected yet"
        self._depth: int | None = None
        self._depth_at = -DEPTH_CACHE_SECONDS
        self._pending: list[_Pending] = []
        self._in_flight = 0
        self._flushes: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Connect now if the broker is up; otherwise the first publish retries."""
        try:
            await self._ensure_channel()
        except QueueUnavailable as exc:
            logger.warning("RabbitMQ not reachable at start-up (will retry): %s", exc)

    async def _ensure_channel(self) -> AbstractChannel:
        channel = self._channel
        if channel is not None and not channel.is_closed:
            return channel
        async with self._lock:
            if self._channel is not None and not self._channel.is_closed:
                return self._channel
            await self._drop()
            now = time.monotonic()
            if now - self._last_attempt < RECONNECT_INTERVAL:
                raise QueueUnavailable(f"broker unreachable: {self._last_error}")
            self._last_attempt = now
            try:
                connection = await aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT)
                try:
                    channel = await connection.channel(publisher_confirms=True)
                    await declare_topology(channel, self._topology)
                except BaseException:
                    await connection.close()
                    raise
            except Exception as exc:  # every failure to connect is "unavailable"
                self._last_error = f"{type(exc).__name__}: {exc}"[:200]
                raise QueueUnavailable(f"broker unreachable: {self._last_error}") from exc
            self._connection, self._channel = connection, channel
            logger.info("connected to RabbitMQ")
            return channel

    async def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception as exc:  # closing a broken connection may fail; it is gone anyway
                logger.debug("closing a broken RabbitMQ connection: %s", exc)

    async def publish(self, batch: IngestBatch) -> None:
        """Return when the broker confirmed the message holding ``batch``; else QueueUnavailable.

        A caller cancelled while waiting (client gone) does not cancel the shared publish.
        """
        if self._closed:
            raise QueueUnavailable("server is shutting down")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((batch.project_id, encode_entries(batch.entries), future))
        self._pump()
        await future

    def _pump(self) -> None:
        while self._pending and self._in_flight < self._max_in_flight:
            self._in_flight += 1
            task = asyncio.create_task(self._flush(self._take_group()))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    def _take_group(self) -> list[_Pending]:
        size = count = 0
        for _, payload, _ in self._pending:
            if count and size + len(payload) > MAX_GROUP_BYTES:
                break
            size += len(payload)
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group

    async def _flush(self, group: list[_Pending]) -> None:
        # Anything but a confirm (including cancellation at shutdown) fails the whole group.
        error: QueueUnavailable | None = QueueUnavailable("publish not confirmed")
        try:
            await self._send(encode_group([(project, payload) for project, payload, _ in group]))
            error = None
        except QueueUnavailable as exc:
            error = exc
        finally:
            self._in_flight -= 1
            for _, _, future in group:
                if not future.done():
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)
            self._pump()

    async def _send(self, body: bytes) -> None:
        channel = await self._ensure_channel()
        message = aio_pika.Message(
            body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, content_type="application/json"
        )
        try:
            await asyncio.wait_for(
                channel.default_exchange.publish(
                    message, routing_key=self._topology.queue_name, mandatory=True
                ),
                self._publish_timeout,
            )
        except Exception as exc:  # no confirm means not durable: the client must retry
            self._last_error = f"{type(exc).__name__}: {exc}"[:200]
            if channel.is_closed or isinstance(exc, (ConnectionError, asyncio.TimeoutError)):
                self._channel = None
            raise QueueUnavailable(f"publish not confirmed: {self._last_error}") from exc

    async def depth(self) -> int | None:
        """Messages ready in the ingest queue (cached for a second), or None if unknown."""
        now = time.monotonic()
        if now - self._depth_at < DEPTH_CACHE_SECONDS:
            return self._depth
        self._depth_at = now
        try:
            channel = await self._ensure_channel()
            queue = await channel.declare_queue(self._topology.queue_name, passive=True)
            self._depth = queue.declaration_result.message_count
        except Exception as exc:  # an unknown depth never blocks ingest; publish decides
            logger.debug("queue depth unavailable: %s", exc)
            self._depth = None
        return self._depth

    async def ready(self) -> bool:
        """True when connected (or a reconnect succeeds now)."""
        try:
            await self._ensure_channel()
        except QueueUnavailable:
            return False
        return True

    async def close(self) -> None:
        """Close the connection (publishes in flight fail with QueueUnavailable)."""
        self._closed = True
        pending, self._pending = self._pending, []
        for _, _, future in pending:
            if not future.done():
                future.set_exception(QueueUnavailable("server is shutting down"))
        async with self._lock:
            await self._drop()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)


async def redrive(url: str, topology: Topology, *, limit: int | None = None) -> int:
    """Move dead-lettered messages back to the ingest queue; returns how many moved.

    Each message is republished (confirmed, attempt count reset) before it is acked on the
    dead-letter queue, so a crash in between duplicates a message rather than losing it --
    and a duplicate is harmless, the digest stores each event_id once.
    """
    connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT)
    moved = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        _, dead = await declare_topology(channel, topology)
        while limit is None or moved < limit:
            message = await dead.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k not in (ATTEMPTS_HEADER, "x-death", "x-delivery-count")
            }
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    content_type=message.content_type,
                ),
                routing_key=topology.queue_name,
                mandatory=True,
            )
            await message.ack()
            moved += 1
    return moved
