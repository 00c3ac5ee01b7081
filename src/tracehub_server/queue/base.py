"""The queue seam between the ingest API and the digest.

Two implementations exist: :class:`~tracehub_server.queue.inprocess.InProcessQueue` (the
embedded default: digest in the API process) and
:class:`~tracehub_server.queue.rabbitmq.RabbitPublisher` (publish to RabbitMQ, workers
digest). The API only sees this interface, so its tests can run against either.

The guarantee is the same for both: when :meth:`IngestQueue.publish` returns, the batch is
durable (committed to PostgreSQL, or confirmed by the broker as a persistent message on a
durable queue). When it cannot promise that, it raises :class:`QueueUnavailable` and the API
answers 503, so a client retries instead of losing the batch.
"""

from __future__ import annotations

import abc

from tracehub_server.queue.messages import IngestBatch


class QueueUnavailable(Exception):
    """The batch could not be made durable now; the caller should retry later."""


class IngestQueue(abc.ABC):
    """Where the API hands validated batches."""

    @abc.abstractmethod
    async def publish(self, batch: IngestBatch) -> None:
        """Return once ``batch`` is durable; raise :class:`QueueUnavailable` otherwise."""

    @abc.abstractmethod
    async def depth(self) -> int | None:
        """Messages waiting to be digested, or None when unknown (broker unreachable)."""

    @abc.abstractmethod
    async def ready(self) -> bool:
        """True when a publish would be expected to succeed now (used by ``/readyz``)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish or fail what is in flight and release connections."""
