"""The delivery counters behind ``stats()``, with entries lost counted by reason."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from tracehub.models import SendResult, Stats

if TYPE_CHECKING:
    from tracehub.buffer import RingBuffer
    from tracehub.dlq import DeadLetterQueue

__all__ = ["DeliveryCounters"]


class DeliveryCounters:
    """What became of the entries the worker took; the worker's hand-off lock guards them."""

    def __init__(self) -> None:
        self.sent = self.retried = self.dead_lettered = self.replayed = self.rejected = 0
        self._lost: dict[str, int] = {}

    def account(self, result: SendResult, *, replay: bool) -> None:
        """Count one send's outcome (a live batch, or a dead-letter file when ``replay``)."""
        self.retried += result.retries
        if replay:
            self.replayed += result.delivered
        else:
            self.sent += result.delivered
        if result.refused:
            self.rejected += result.refused
            self.lose("rejected", result.refused)
        if result.rejected:
            self.rejected += len(result.rejected)

    def lose(self, reason: str, count: int) -> None:
        """Count ``count`` entries lost for ``reason`` (one of ``models.LOST_REASONS``)."""
        self._lost[reason] = self._lost.get(reason, 0) + count

    def lost_by_reason(self, buffer: RingBuffer, dlq: DeadLetterQueue | None) -> Mapping[str, int]:
        """Entries lost so far, by reason, including what the buffer and the DLQ dropped."""
        lost = dict(self._lost)
        if buffer.dropped:
            lost["buffer_full"] = buffer.dropped
        if dlq is not None and dlq.evicted:
            lost["dlq_full"] = dlq.evicted
        if dlq is not None and dlq.corrupt:
            lost["dlq_corrupt"] = dlq.corrupt
        return MappingProxyType(lost)

    def stats(self, buffer: RingBuffer, lost: Mapping[str, int]) -> Stats:
        """These counters with the buffer's (see :class:`~tracehub.models.Stats`)."""
        return Stats(
            enqueued=buffer.enqueued,
            sent=self.sent,
            dropped=buffer.dropped,
            retried=self.retried,
            dead_lettered=self.dead_lettered,
            replayed=self.replayed,
            lost=sum(lost.values()),
            buffered=len(buffer),
            rejected=self.rejected,
            lost_by_reason=lost,
        )
