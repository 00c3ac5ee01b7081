"""The embedded default's queue: digest in the API process, no broker.

``publish`` returns only after the batch's transaction committed, so a 202 means stored.
Requests that arrive while a digest is running wait together and are digested in the next
transaction (group commit): under load one transaction carries many requests, which is where
the throughput comes from. If a group fails, its batches are retried one by one so a single
bad batch fails only its own request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from tracehub_server.queue.base import IngestQueue, QueueUnavailable
from tracehub_server.queue.messages import IngestBatch

logger = logging.getLogger(__name__)

DigestFn = Callable[[asyncpg.Pool, Sequence[IngestBatch]], Awaitable[Any]]
ObserveFn = Callable[[Any, float], None]

#: Entries digested in one transaction at most (more wait for the next one).
MAX_GROUP_ENTRIES = 10_000

_Pending = tuple[IngestBatch, "asyncio.Future[None]"]


class InProcessQueue(IngestQueue):
    """Digests published batches in this process, grouping concurrent ones."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        digest: DigestFn,
        *,
        observe: ObserveFn | None = None,
        max_group_entries: int = MAX_GROUP_ENTRIES,
    ) -> None:
        self._pool = pool
        self._digest = digest
        self._observe = observe
        self._max_group_entries = max_group_entries
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def publish(self, batch: IngestBatch) -> None:
        """Return once ``batch`` is committed; :class:`QueueUnavailable` if it was not."""
        if self._closed:
            raise QueueUnavailable("server is shutting down")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((batch, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tracehub-inprocess-digest")
        self._wakeup.set()
        # Shielded: a client that disconnects does not cancel a digest others share.
        await asyncio.shield(future)

    async def depth(self) -> int:
        """Batches waiting for the next transaction."""
        return len(self._pending)

    async def ready(self) -> bool:
        """Always ready: there is no broker to lose."""
        return not self._closed

    async def close(self) -> None:
        """Digest everything already published, then stop."""
        self._closed = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._digest_group(self._take_group())
            if self._closed:
                return

    def _take_group(self) -> list[_Pending]:
        entries = 0
        count = 0
        for batch, _ in self._pending:
            if count and entries + len(batch.entries) > self._max_group_entries:
                break
            entries += len(batch.entries)
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group

    async def _digest_group(self, group: list[_Pending]) -> None:
        try:
            await self._commit([batch for batch, _ in group])
        except Exception as exc:  # the failure is handed to the waiting requests
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            for batch, future in group:
                try:
                    await self._commit([batch])
                except Exception as single:  # as above, for this batch alone
                    _settle(future, single)
                else:
                    _settle(future, None)
            return
        for _, future in group:
            _settle(future, None)

    async def _commit(self, batches: list[IngestBatch]) -> None:
        started = time.perf_counter()
        result = await self._digest(self._pool, batches)
        if self._observe is not None:
            self._observe(result, time.perf_counter() - started)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
        return
    logger.error("digest failed: %s: %s", type(error).__name__, error)
    future.set_exception(QueueUnavailable(f"batch could not be stored: {error}"))
