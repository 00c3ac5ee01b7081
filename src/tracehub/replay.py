"""Replay: dead-letter files sent again by the delivery thread once the server accepts.

Once a batch is delivered the dead-letter queue is replayed, one file per cycle between
live batches, and never while sending is paused. Files left by other processes sharing
the directory are looked for every :data:`DLQ_RESCAN_INTERVAL` seconds. A file refused
with 401/403 is kept for a later process (fixing the API key makes it deliverable) and
stops replay until a restart or a new dead letter; entries refused otherwise are lost
(reason ``rejected``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tracehub.delivery import report_refused, split_by_budget

if TYPE_CHECKING:
    from tracehub.batcher import BatchWorker

__all__ = ["DLQ_RESCAN_INTERVAL", "Replayer"]

#: Seconds between looks for dead-letter files left by other processes.
DLQ_RESCAN_INTERVAL = 60.0
#: Status codes after which a dead-letter file is kept for later rather than discarded:
#: fixing the API key makes them deliverable.
_KEEP_ON_REPLAY = (401, 403)


class Replayer:
    """Sends dead-letter files again from the delivery thread, one file a cycle."""

    def __init__(self, worker: BatchWorker) -> None:
        self.worker = worker
        self.pending = True
        # Dead-letter writes so far: a scan that found nothing clears ``pending`` only
        # if no write (say, a spill by the supervisor) happened meanwhile.
        self._writes = 0
        self._next_rescan = time.monotonic() + DLQ_RESCAN_INTERVAL

    def note_write(self, *, replay: bool) -> None:
        """A dead-letter file was written (caller holds the worker's hand-off lock)."""
        self._writes += 1
        self.pending = self.pending or replay

    def maybe_replay(self, generation: int) -> None:
        """Send the next dead-letter file if one may be waiting and sending is not paused."""
        worker, dlq = self.worker, self.worker.dlq
        if dlq is None or worker.stopping or worker.pause_left() > 0:
            return
        if not self.pending and time.monotonic() >= self._next_rescan:
            self.pending = True
        if not self.pending:
            return
        self._next_rescan = time.monotonic() + DLQ_RESCAN_INTERVAL
        writes = self._writes
        claim = dlq.claim_next()
        if claim is None:
            with worker.handoff:
                self.pending = self._writes != writes
            return
        keep: list[bytes] = []
        chunks = list(split_by_budget(claim.entries))
        deadline = worker.batch_deadline()
        for index, chunk in enumerate(chunks):
            if worker.stopping or worker.pause_left() > 0 or not worker.is_current(generation):
                keep.extend(e for rest in chunks[index:] for e in rest)
                break
            result = worker.send(chunk, deadline)
            keep.extend(result.undelivered)
            with worker.handoff:
                if not worker.is_current(generation):
                    keep.extend(result.rejected)  # a hung thread's late answer: keep it all
                    continue
                worker.account(result, replay=True)
                if result.rejected_status in _KEEP_ON_REPLAY:
                    keep.extend(result.rejected)
                    self.pending = False  # until a restart or a new dead letter
                elif result.rejected:
                    worker.counters.lose("rejected", len(result.rejected))
            report_refused(result)
        dlq.release(claim, keep) if keep else dlq.complete(claim)
        if self.pending:
            worker.wake.set()  # next file on the next cycle, after live records
