"""``tracehub worker``: consume ingest batches from RabbitMQ and digest them into PostgreSQL.

When a message is acknowledged, and why nothing is lost or counted twice:

* Messages are gathered into a batch (``worker_batch_messages`` messages, or whatever arrived
  within ``worker_batch_seconds`` of the first) and digested in **one transaction**. Only
  after that transaction commits are they acknowledged, one by one. Two batches are in
  hand at once (``ConsumerOptions.lanes``): one waits for PostgreSQL while the next is
  decoded and converted.
* If the worker dies before the ack (SIGKILL, crash, lost connection), RabbitMQ redelivers
  the messages. The digest inserts with ``ON CONFLICT (event_id, ...) DO NOTHING`` and counts
  only the rows actually inserted, so a redelivered event is stored once and counted once.
* A transient failure (PostgreSQL unreachable, deadlock, serialization failure) keeps the
  batch and retries it with backoff; it is not the message's fault and does not count as an
  attempt.
* Any other failure is blamed on the content: the batch is retried message by message, and a
  message that fails on its own is returned to the queue with its attempt counted (quorum:
  the broker's delivery count; classic: the ``x-tracehub-attempts`` header, republished).
  After ``max_delivery_attempts`` it is dead-lettered to ``<queue>.dead`` for
  ``tracehub dlq redrive``. An undecodable body is dead-lettered at once.
* SIGTERM: the batches in hand are finished and acknowledged, nothing new is taken, and
  messages prefetched but not started are returned to the queue by closing the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from tracehub.backoff import Backoff  # the one full-jitter implementation, shared with the SDK
from tracehub_server.queue.messages import IngestBatch, MessageError, decode, entry_dict
from tracehub_server.queue.rabbitmq import (
    ATTEMPTS_HEADER,
    CONNECT_TIMEOUT,
    Topology,
    declare_topology,
)
from tracehub_server.settings import Settings
from tracehub_server.worker import metrics

logger = logging.getLogger(__name__)

DigestFn = Callable[[asyncpg.Pool, Sequence[IngestBatch]], Awaitable[Any]]

#: SQLSTATE classes that say "try again", not "this data is bad": connection exception,
#: transaction rollback (deadlock, serialization), insufficient resources, operator
#: intervention (shutdown, cannot connect now), system error.
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: Seconds between checks of the stop flag and the connection while idle.
_POLL_SECONDS = 0.5

#: A delivery and when it arrived (monotonic seconds).
_Arrived = tuple[float, AbstractIncomingMessage]


def is_transient(exc: BaseException) -> bool:
    """True for failures of the database or network rather than of the batch's content."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, asyncpg.InterfaceError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return (exc.sqlstate or "")[:2] in _TRANSIENT_SQLSTATE_CLASSES
    return False


_SETTING_DEFAULTS = Settings.model_fields


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """How a worker batches and retries (from Settings, whose defaults are its defaults)."""

    prefetch: int = _SETTING_DEFAULTS["worker_prefetch"].default
    batch_messages: int = _SETTING_DEFAULTS["worker_batch_messages"].default
    batch_seconds: float = _SETTING_DEFAULTS["worker_batch_seconds"].default
    max_backoff: float = 30.0
    #: Batches digested at once: while one waits for PostgreSQL, the next is decoded and
    #: converted, so the worker's Python work overlaps the database's.
    lanes: int = 2

    @classmethod
    def from_settings(cls, settings: Any) -> ConsumerOptions:
        return cls(
            prefetch=settings.worker_prefetch,
            batch_messages=settings.worker_batch_messages,
            batch_seconds=settings.worker_batch_seconds,
        )


class _Stopped(Exception):
    """SIGTERM arrived while a batch was waiting for the database: return it to the queue."""


class Consumer:
    """One worker's consume-digest-ack loop; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        *,
        amqp_url: str,
        pool: asyncpg.Pool,
        topology: Topology,
        digest: DigestFn,
        options: ConsumerOptions | None = None,
    ) -> None:
        self._url = amqp_url
        self._pool = pool
        self._topology = topology
        self._digest = digest
        self._options = options or ConsumerOptions()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Finish the current batch, then return from :meth:`run` (the SIGTERM handler)."""
        self._stop.set()

    async def run(self) -> None:
        """Consume until :meth:`stop`; reconnects to RabbitMQ with backoff when it is lost."""
        backoff = Backoff(maximum=self._options.max_backoff)
        while not self._stop.is_set():
            try:
                await self._session(backoff)
            except Exception as exc:  # the broker went away (or never came): reconnect
                if self._stop.is_set():
                    break
                delay = backoff.next()
                logger.warning(
                    "RabbitMQ connection lost (%s: %s); reconnecting in %.1fs",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                metrics.FAILURES.labels("broker").inc()
                await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _session(self, backoff: Backoff) -> None:
        connection = await aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=self._options.prefetch)
            queue, _ = await declare_topology(channel, self._topology)
            inbox: asyncio.Queue[_Arrived] = asyncio.Queue()

            async def arrived(message: AbstractIncomingMessage) -> None:
                inbox.put_nowait((time.monotonic(), message))

            tag = await queue.consume(arrived, no_ack=False)
            logger.info("consuming from %s", self._topology.queue_name)
            backoff.reset()
            lanes: set[asyncio.Task[None]] = set()
            try:
                while not self._stop.is_set():
                    if connection.is_closed or channel.is_closed:
                        raise ConnectionError("connection to RabbitMQ closed")
                    lanes = await self._reap(lanes, block=len(lanes) >= self._options.lanes)
                    if len(lanes) >= self._options.lanes:
                        continue
                    messages = await self._gather(inbox)
                    if messages:
                        lanes.add(asyncio.create_task(self._process(channel, messages)))
            finally:
                # The batches in hand are finished (committed and acked, or returned).
                await asyncio.gather(*lanes, return_exceptions=True)
            await queue.cancel(tag)
        # Closing the channel returned every prefetched, unacknowledged message to the queue.

    @staticmethod
    async def _reap(lanes: set[asyncio.Task[None]], *, block: bool) -> set[asyncio.Task[None]]:
        """Drop finished lanes (raising their errors); with ``block``, wait for one first."""
        if block:
            await asyncio.wait(lanes, return_when=asyncio.FIRST_COMPLETED)
        running = set()
        for lane in lanes:
            if lane.done():
                lane.result()  # a lost connection surfaces here and reconnects the session
            else:
                running.add(lane)
        return running

    async def _gather(self, inbox: asyncio.Queue[_Arrived]) -> list[AbstractIncomingMessage]:
        """Messages for one transaction: all that wait, and more for a while if few do.

        The wait is counted from the first message's *arrival*: when messages piled up
        during the previous digest (the worker is the bottleneck), they are taken at once
        instead of idling another ``batch_seconds`` to fill the batch.
        """
        try:
            arrival, first = await asyncio.wait_for(inbox.get(), _POLL_SECONDS)
        except asyncio.TimeoutError:
            return []
        messages = [first]
        deadline = arrival + self._options.batch_seconds
        while len(messages) < self._options.batch_messages:
            try:
                messages.append(inbox.get_nowait()[1])
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                messages.append((await asyncio.wait_for(inbox.get(), remaining))[1])
            except asyncio.TimeoutError:
                break
        return messages

    async def _process(
        self, channel: AbstractChannel, messages: list[AbstractIncomingMessage]
    ) -> None:
        decoded: list[tuple[AbstractIncomingMessage, list[IngestBatch]]] = []
        for message in messages:
            try:
                decoded.append((message, decode(message.body)))
            except MessageError as exc:
                logger.error("dead-lettering an undecodable message: %s", exc)
                metrics.DEAD_LETTERED.inc()
                await message.reject(requeue=False)
        if not decoded:
            return
        try:
            await self._commit([batch for _, batches in decoded for batch in batches])
        except _Stopped:
            for message, _ in decoded:
                await message.nack(requeue=True)
            return
        except Exception as exc:  # content failure: find the bad message(s) one by one
            logger.warning("batch of %d failed (%s); retrying singly", len(decoded), exc)
            for message, batches in decoded:
                await self._process_single(channel, message, batches)
            return
        # One by one, not "multiple": the other lane holds deliveries not committed yet.
        for message, _ in decoded:
            await message.ack()

    async def _process_single(
        self, channel: AbstractChannel, message: AbstractIncomingMessage, batches: list[IngestBatch]
    ) -> None:
        try:
            await self._commit(batches)
        except _Stopped:
            await message.nack(requeue=True)
        except Exception as exc:  # this message is the poison
            metrics.FAILURES.labels("content").inc()
            await self._fail(channel, message, exc)
        else:
            await message.ack()

    async def _commit(self, batches: list[IngestBatch]) -> None:
        """Digest in one transaction, retrying transient failures until stopped."""
        backoff = Backoff(maximum=self._options.max_backoff)
        while True:
            started = time.perf_counter()
            try:
                result = await self._digest(self._pool, batches)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                metrics.FAILURES.labels("database").inc()
                if self._stop.is_set():
                    raise _Stopped from exc
                delay = backoff.next()
                logger.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                continue
            last = batches[-1].entries
            first = entry_dict(last[0]) if last else None
            received = first.get("received_at") if first else None
            metrics.observe_digest(result, time.perf_counter() - started, received)
            return

    async def _fail(
        self, channel: AbstractChannel, message: AbstractIncomingMessage, exc: BaseException
    ) -> None:
        limit = self._topology.max_delivery_attempts
        if self._topology.queue_type == "quorum":
            # The broker counts deliveries and dead-letters past x-delivery-limit.
            logger.error("message failed (%s: %s); returning it", type(exc).__name__, exc)
            await message.nack(requeue=True)
            return
        headers = dict(message.headers or {})
        counted = headers.get(ATTEMPTS_HEADER)
        attempts = (int(counted) if isinstance(counted, (int, str)) and counted else 0) + 1
        if attempts >= limit:
            logger.error(
                "message failed %d times (%s: %s); dead-lettering it",
                attempts,
                type(exc).__name__,
                exc,
            )
            metrics.DEAD_LETTERED.inc()
            await message.reject(requeue=False)
            return
        logger.error(
            "message failed (attempt %d of %d: %s: %s)", attempts, limit, type(exc).__name__, exc
        )
        headers[ATTEMPTS_HEADER] = attempts
        # Republished (confirmed) before the original is acked: a crash between the two
        # duplicates the message, which the digest absorbs, instead of losing it.
        await channel.default_exchange.publish(
            aio_pika.Message(
                message.body,
                headers=headers,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type=message.content_type,
            ),
            routing_key=self._topology.queue_name,
            mandatory=True,
        )
        await message.ack()
