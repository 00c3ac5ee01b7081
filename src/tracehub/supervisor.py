"""Supervisor: the thread that keeps the buffer from overflowing and the worker honest.

The delivery thread can be held for a while by one batch (a hanging server, up to
``batch_timeout``) or paused (a 429, an outage). Meanwhile the application keeps
logging. The supervisor, a second daemon thread started with the worker, does three
things the delivery thread cannot do for itself:

* **Spill**: when the buffer passes :data:`HIGH_WATER` of ``max_buffer`` while the
  worker makes no headway (sending is paused, or one send has run for
  :data:`SLOW_SEND` seconds), or passes :data:`FULL_WATER` in any case, the oldest
  records are encoded and written to the dead-letter queue (down to
  :data:`LOW_WATER`), so nothing is dropped while the disk has room. A healthy worker
  that is merely behind a burst is left to catch up over the network. They are replayed
  like any dead letter once the server accepts again.
* **Watchdog**: a delivery thread busy with one unit of work (a send, a disk write) for
  longer than ``batch_timeout + STALL_GRACE`` seconds is *hung* — something ignored its
  deadline, or it waits on a lock nobody will release. The supervisor reports it
  through the ``tracehub`` logger, moves what it held and the whole buffer to the
  dead-letter queue, asks the transport to reconnect (optional hook ``reconnect``) and
  starts a new delivery thread. After :data:`MAX_HUNG_THREADS` hung threads it stops
  starting new ones and moves every buffered record to disk instead.
* **Loss reports**: entries lost (see :data:`tracehub.models.LOST_REASONS`) are
  reported at most once per :data:`LOSS_REPORT_INTERVAL`, as one line with the count
  per reason, and once more at ``close()`` if anything was lost since.

It polls every :data:`POLL_BUSY` seconds while the worker is busy or paused, and every
:data:`POLL_IDLE` seconds otherwise; it does no I/O unless one of the above applies.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from tracehub import _diagnostics
from tracehub.limits import MAX_ENTRIES_PER_BATCH
from tracehub.transport import call_optional_hook

if TYPE_CHECKING:
    from tracehub.batcher import BatchWorker

__all__ = ["Supervisor"]

#: Share of ``max_buffer`` above which the oldest records are moved to disk when the
#: worker is paused or slow.
HIGH_WATER = 0.5
#: Share of ``max_buffer`` above which they are moved to disk in any case.
FULL_WATER = 0.9
#: Seconds one send may run before the worker counts as making no headway.
SLOW_SEND = 1.0
#: Share of ``max_buffer`` left in memory after a spill.
LOW_WATER = 0.25
#: Seconds between checks while the worker is busy or paused.
POLL_BUSY = 0.05
#: Seconds between checks while the worker waits for work.
POLL_IDLE = 1.0
#: Seconds beyond ``batch_timeout`` after which a busy delivery thread counts as hung.
STALL_GRACE = 5.0
#: Hung threads replaced before the supervisor stops starting new ones.
MAX_HUNG_THREADS = 3
#: Seconds between two loss reports.
LOSS_REPORT_INTERVAL = 60.0
#: Seconds spilling rests after the disk refused a write.
SPILL_REST = 5.0
#: Thread name, for readers of thread dumps.
SUPERVISOR_THREAD_NAME = "tracehub-supervisor"
#: The buffer's holder key for records being spilled.
SPILL = "spill"


class Supervisor:
    """Spills at the high-water mark, replaces a hung delivery thread, reports losses."""

    def __init__(self, worker: BatchWorker) -> None:
        self.worker = worker
        #: Seconds of no progress after which the delivery thread counts as hung
        #: (None: ``batch_timeout + STALL_GRACE``).
        self.stall_after: float | None = None
        self.reset()

    def reset(self) -> None:
        """Fresh state (construction, and the child after a fork)."""
        self._event = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.hung_threads = 0
        #: True after MAX_HUNG_THREADS: no new delivery thread, records go to disk.
        self.gave_up = False
        self._spill_rest_until = 0.0
        self._reported: dict[str, int] = {}
        self._last_loss_report: float | None = None

    # -- lifecycle -------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start the thread unless it runs (called by the worker's ensure_running)."""
        thread = self._thread
        if self._stopped or (thread is not None and thread.is_alive()):
            return
        thread = threading.Thread(target=self._run, name=SUPERVISOR_THREAD_NAME, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down
            return
        self._thread = thread

    def poke(self) -> None:
        """Check now (the worker started work, or flush() was called)."""
        self._event.set()

    def stop(self) -> None:
        """Stop checking; report losses not reported yet (called by close())."""
        self._stopped = True
        self._event.set()
        self._report_losses(time.monotonic(), final=True)

    def _run(self) -> None:
        _diagnostics.mark_thread_internal()
        worker = self.worker
        while not self._stopped:
            active = worker.busy_since is not None or worker.pause_left() > 0
            self._event.wait(POLL_BUSY if active else POLL_IDLE)
            self._event.clear()
            if self._stopped:
                return
            try:
                self.check()
            except Exception as exc:
                _diagnostics.report(
                    "supervisor-error", f"supervisor check failed: {type(exc).__name__}: {exc}"
                )

    # -- one round -------------------------------------------------------------------

    def stall_limit(self) -> float:
        """Seconds of one unit of work after which the delivery thread counts as hung."""
        if self.stall_after is not None:
            return self.stall_after
        return self.worker.batch_timeout + STALL_GRACE

    def check(self) -> None:
        """One round: the watchdog, the spill, the loss report."""
        worker, now = self.worker, time.monotonic()
        if worker.abandoned:
            return
        since, generation = worker.busy_since, worker.generation
        if since is not None and now - since > self.stall_limit() and worker.thread is not None:
            self._retire(generation, now - since)
        if self.gave_up:
            self.spill(keep=0)
        elif self._under_pressure(now):
            self.spill(keep=int(worker.buffer.capacity * LOW_WATER))
        self._report_losses(now)

    def _under_pressure(self, now: float) -> bool:
        worker = self.worker
        size, capacity = len(worker.buffer), worker.buffer.capacity
        if size >= max(int(capacity * FULL_WATER), 1):
            return True
        if size < max(int(capacity * HIGH_WATER), 1):
            return False
        since = worker.busy_since
        return worker.pause_left() > 0 or (since is not None and now - since >= SLOW_SEND)

    def _retire(self, generation: int, stuck_for: float) -> None:
        worker = self.worker
        held = worker.take_over_hung(generation)
        if held is None:
            return  # it finished meanwhile
        self.hung_threads += 1
        worker.dead_letter(held)
        moved = len(held) + self.spill(keep=0)
        call_optional_hook(worker.transport, "reconnect")
        if self.hung_threads >= MAX_HUNG_THREADS:
            self.gave_up = True
            what = "no new thread will be started; buffered entries go to the dead-letter queue"
        else:
            what = "started a new delivery thread"
        _diagnostics.report(
            "worker-hung",
            f"delivery thread made no progress for {stuck_for:.1f}s; moved {moved} entries "
            f"to the dead-letter queue and {what}",
        )
        if not self.gave_up:
            worker.ensure_running()

    def spill(self, *, keep: int) -> int:
        """Move the oldest buffered records to the dead-letter queue until ``keep`` remain."""
        worker = self.worker
        if worker.dlq is None or time.monotonic() < self._spill_rest_until:
            return 0
        moved = 0
        while len(worker.buffer) > keep and not worker.abandoned:
            entries = worker.spill_oldest(min(MAX_ENTRIES_PER_BATCH, len(worker.buffer) - keep))
            try:
                if not entries:
                    break
                if not worker.dead_letter(entries):
                    self._spill_rest_until = time.monotonic() + SPILL_REST
                    break
                moved += len(entries)
            finally:
                worker.buffer.done(SPILL)
        return moved

    def _report_losses(self, now: float, *, final: bool = False) -> None:
        totals = self.worker.lost_by_reason()
        delta = {
            reason: count - self._reported.get(reason, 0)
            for reason, count in totals.items()
            if count > self._reported.get(reason, 0)
        }
        if not delta:
            return
        last = self._last_loss_report
        if not final and last is not None and now - last < LOSS_REPORT_INTERVAL:
            return
        self._reported, self._last_loss_report = dict(totals), now
        detail = ", ".join(f"{reason}={count}" for reason, count in sorted(delta.items()))
        _diagnostics.emit(
            "lost",
            f"{sum(delta.values())} entries lost ({detail}); see stats().lost_by_reason",
        )
