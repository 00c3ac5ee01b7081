"""BatchWorker: the daemon thread that turns buffered records into delivered batches.

When it sends: as soon as ``batch_size`` records wait (the logging call sets an Event
when it crosses the threshold, so the worker wakes at once), at least every
``flush_interval`` seconds, on ``flush()`` and on shutdown. Each request carries up to
:data:`~tracehub.limits.MAX_ENTRIES_PER_BATCH` entries and at most
:data:`~tracehub.limits.SDK_BATCH_BYTE_BUDGET` bytes before compression — everything
that is waiting, so a backlog drains in large requests.

What happens to a batch: delivered (2xx) → counted as sent; refused entry by entry
(listed in the answer's ``rejected``) → counted as rejected and lost, reported once;
anything else the transport gives back (retries exhausted, refused as a whole,
throttled, the deadline reached) → the dead-letter queue. A batch holds delivery for
at most ``batch_timeout`` seconds in all (every attempt and pause included), never
``max_retries`` times the request timeout. Failures pause sending
(:mod:`tracehub.pacing`); once a batch is delivered the dead-letter queue is replayed
(:mod:`tracehub.replay`).

The :class:`~tracehub.supervisor.Supervisor` thread moves the oldest buffered records
to disk when the buffer passes its high-water mark (a send in flight never makes the
buffer overflow while the disk has room), notices a delivery thread that makes no
progress, and reports losses.

The thread starts on first use (never at import or construction), survives any
exception in a cycle, is restarted by the next logging call if it dies, is replaced by
the supervisor if it hangs, and is replaced after ``fork()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from tracehub import _diagnostics
from tracehub.buffer import RingBuffer
from tracehub.counters import DeliveryCounters
from tracehub.delivery import report_refused, send_chunk, split_by_budget
from tracehub.dlq import DeadLetterQueue
from tracehub.limits import MAX_ENTRIES_PER_BATCH
from tracehub.models import SendResult, Stats
from tracehub.pacing import Pacing
from tracehub.replay import Replayer
from tracehub.serializer import EntryEncoder
from tracehub.supervisor import SPILL, Supervisor
from tracehub.transport import Transport, call_optional_hook

__all__ = ["BatchWorker"]


class BatchWorker:
    """Owns the delivery thread, its counters and the shutdown hand-off."""

    def __init__(
        self,
        buffer: RingBuffer,
        encoder: EntryEncoder,
        transport: Transport,
        dlq: DeadLetterQueue | None,
        *,
        flush_interval: float,
        retry_backoff: float,
        max_backoff: float,
        batch_timeout: float = 10.0,
    ) -> None:
        self.buffer = buffer
        self.encoder = encoder
        self.transport = transport
        self.dlq = dlq
        self.flush_interval = flush_interval
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.batch_timeout = batch_timeout
        self.supervisor = Supervisor(self)
        self._reset_state()

    def _reset_state(self) -> None:
        #: Set by the logging call at the batch threshold, by flush() and close().
        self.wake = threading.Event()
        self._hurry = threading.Event()
        self._start_lock = threading.Lock()
        #: Guards the records between the buffer and a finished delivery, the generation,
        #: the counters and the replay state; held for encoding, never for network or
        #: disk I/O.
        self.handoff = threading.Lock()
        self._thread: threading.Thread | None = None
        #: Bumped when the supervisor replaces a hung thread: the old one's results no
        #: longer count, its records were dead-lettered.
        self.generation = 0
        #: ``time.monotonic()`` when the current unit of work began; None while waiting.
        self.busy_since: float | None = None
        self.stopping = False
        self._abandoned = False
        self._deadline: float | None = None
        self._inflight: list[bytes] | None = None
        self.pacing = Pacing(retry_backoff=self.retry_backoff, max_backoff=self.max_backoff)
        self.counters = DeliveryCounters()
        self.replayer = Replayer(self)
        self.supervisor.reset()

    def reset_after_fork(self) -> None:
        """Fresh thread state, locks and counters for a forked child.

        The worker's own state is reset first, so a failing hook (a user transport's
        ``reset_after_fork``) cannot leave the child without a working worker.
        """
        self._reset_state()
        self.encoder.refresh_process_fields()
        if self.dlq is not None:
            self.dlq.reset_after_fork()
        call_optional_hook(self.transport, "reset_after_fork")

    # -- thread management -----------------------------------------------------------

    @property
    def thread(self) -> threading.Thread | None:
        """The current delivery thread, if one was started."""
        return self._thread

    @property
    def abandoned(self) -> bool:
        """True once close() took over whatever was left."""
        return self._abandoned

    def is_worker_thread(self) -> bool:
        """True when called from this worker's own thread."""
        return threading.current_thread() is self._thread

    def ensure_running(self) -> None:
        """Start the thread, or restart it if it died (the thread starts the supervisor)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            thread = self._thread
            if thread is not None and thread.is_alive():
                return
            if self.supervisor.gave_up:
                return  # threads kept hanging: the supervisor moves records to disk instead
            if thread is not None and not self.stopping:
                _diagnostics.report("worker-restart", "delivery thread had died; restarted it")
            thread = threading.Thread(
                target=self._run,
                args=(self.generation,),
                name=_diagnostics.WORKER_THREAD_NAME,
                daemon=True,
            )
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: close() dead-letters instead
                return
            self._thread = thread

    def is_current(self, generation: int) -> bool:
        """True while ``generation`` is the live thread's and close() has not taken over."""
        return generation == self.generation and not self._abandoned

    def _run(self, generation: int) -> None:
        _diagnostics.mark_thread_internal()
        call_optional_hook(self.transport, "prepare")
        try:
            while self.is_current(generation):
                try:
                    if self._cycle(generation):
                        break
                except Exception as exc:
                    _diagnostics.report(
                        "worker-error", f"delivery cycle failed: {type(exc).__name__}: {exc}"
                    )
                    self._hurry.wait(0.05)
        finally:
            if generation == self.generation:
                self.busy_since = None
                self._rescue_inflight()
                _diagnostics.flush_pending()
                if not self.stopping:
                    self.wake.clear()  # so the next logging call notices and restarts us

    def _cycle(self, generation: int) -> bool:
        """One round: wait, deliver what is waiting, replay; True when shut down."""
        self.busy_since = None
        pause = self.pause_left()
        if pause > 0 and not self.stopping:
            # Collect for a while instead of waking per batch while sending is paused.
            self._hurry.wait(min(self.flush_interval or 0.5, pause))
        else:
            self.wake.wait(self.flush_interval or 1.0)
        self.wake.clear()
        self._hurry.clear()
        self.busy_since = time.monotonic()
        # Started (and restarted) from here, so the logging call starts one thread at most.
        self.supervisor.ensure_running()
        self.supervisor.poke()
        _diagnostics.flush_pending()
        self._drain(generation)
        if self.stopping:
            return len(self.buffer) == 0
        self.replayer.maybe_replay(generation)
        return False

    # -- live delivery ---------------------------------------------------------------

    def pause_left(self) -> float:
        """Seconds before the next request may be sent (0 when not paused)."""
        return self.pacing.pause_left()

    def _drain(self, generation: int) -> None:
        while self.is_current(generation):
            with self.handoff:
                if not self.is_current(generation):
                    return
                records = self.buffer.take(MAX_ENTRIES_PER_BATCH, generation)
                if not records:
                    return
                self._inflight = self.encoder.encode(records)
            try:
                self._deliver_inflight(generation)
            except BaseException:
                if self.is_current(generation):
                    self._rescue_inflight()  # the thread is dying: keep what it holds
                raise
            finally:
                with self.handoff:
                    if self.is_current(generation):
                        self._inflight = None
                self.buffer.done(generation)

    def batch_deadline(self) -> float:
        """When a batch starting now must be done: ``batch_timeout``, or close()'s deadline."""
        deadline = time.monotonic() + self.batch_timeout
        return deadline if self._deadline is None else min(deadline, self._deadline)

    def _deliver_inflight(self, generation: int) -> None:
        deadline = self.batch_deadline()  # for the whole batch, every chunk included
        for chunk in list(split_by_budget(self._inflight or [])):
            result = None if self.pause_left() > 0 else self.send(chunk, deadline)
            with self.handoff:
                if not self.is_current(generation):
                    return  # close() or the supervisor dead-lettered what was in flight
                if result is not None:
                    self.account(result, replay=False)
                if self._inflight is not None:
                    del self._inflight[: len(chunk)]
            if result is None:
                self.dead_letter(chunk)
                continue
            report_refused(result)
            if result.rejected:
                # Refused for good: kept for a later process (say, after an API key
                # fix), never replayed by this one.
                self.dead_letter(result.rejected, replay=False)
            if result.undelivered:
                self.dead_letter(result.undelivered)

    def send(self, chunk: list[bytes], deadline: float) -> SendResult:
        """Send one chunk; the watchdog counts the send as this thread's unit of work."""
        self.busy_since = time.monotonic()
        return send_chunk(self.transport, chunk, deadline)

    def account(self, result: SendResult, *, replay: bool) -> None:
        """Count one send's outcome and adjust the pause (caller holds the hand-off lock)."""
        self.counters.account(result, replay=replay)
        self.pacing.note(result, closing=self._closing_deadline_passed())

    def _closing_deadline_passed(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def dead_letter(self, entries: list[bytes], *, replay: bool = True) -> bool:
        """Keep ``entries`` on disk; count them as lost (by reason) when that fails."""
        if not entries:
            return True
        self.busy_since = time.monotonic() if self.is_worker_thread() else self.busy_since
        if self.dlq is not None and self.dlq.write(entries, hold=not replay):
            with self.handoff:
                self.counters.dead_lettered += len(entries)
                self.replayer.note_write(replay=replay)
            return True
        with self.handoff:
            self.counters.lose("no_dlq" if self.dlq is None else "dlq_write_failed", len(entries))
        return False

    def _rescue_inflight(self) -> None:
        """The thread is ending with entries in hand: keep them on disk."""
        with self.handoff:
            if self._abandoned or not self._inflight:
                return
            leftovers, self._inflight = list(self._inflight), None
        self.dead_letter(leftovers)

    def spill_oldest(self, count: int) -> list[bytes]:
        """Take and encode up to ``count`` of the oldest records for the supervisor.

        The caller writes them to disk, then calls ``buffer.done(SPILL)``.
        """
        with self.handoff:
            if self._abandoned:
                return []
            return self.encoder.encode(self.buffer.take(count, SPILL))

    def take_over_hung(self, generation: int) -> list[bytes] | None:
        """Retire a hung thread: bump the generation and return what it held in flight.

        None when ``generation`` is no longer current (it finished meanwhile).
        """
        with self.handoff:
            if not self.is_current(generation):
                return None
            self.generation += 1
            leftovers, self._inflight = list(self._inflight or []), None
            self._thread = None
            self.busy_since = None
        self.buffer.done(generation)
        return leftovers

    # -- counters --------------------------------------------------------------------

    def lost_by_reason(self) -> Mapping[str, int]:
        """Entries lost so far, by reason (see :data:`tracehub.models.LOST_REASONS`)."""
        with self.handoff:
            return self.counters.lost_by_reason(self.buffer, self.dlq)

    def stats(self) -> Stats:
        """The counters of this worker and its buffer (see :class:`~tracehub.models.Stats`)."""
        return self.counters.stats(self.buffer, self.lost_by_reason())

    # -- flush and shutdown ----------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every record buffered before the call is delivered or dead-lettered."""
        if self.is_worker_thread():
            return False  # we would wait for ourselves
        target = self.buffer.mark()
        self.ensure_running()
        self._hurry.set()
        self.wake.set()
        self.supervisor.poke()
        return self.buffer.wait_until(target, timeout)

    def close(self, timeout: float) -> None:
        """Deliver what is buffered until ``timeout``; dead-letter the rest; stop."""
        deadline = time.monotonic() + timeout
        self._deadline = deadline
        if len(self.buffer) or (self._thread is not None and self._thread.is_alive()):
            self.ensure_running()
        self.stopping = True
        self._hurry.set()
        self.wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(deadline - time.monotonic(), 0.0))
        # Normally nothing is left; otherwise (a request still hanging at the deadline,
        # or a worker that never ran) the entries go to the DLQ here.
        self._take_over()
        self.supervisor.stop()
        # Closing also cuts a request still in flight, so the worker stops retrying.
        self.transport.close()
        self._hurry.set()

    def _take_over(self) -> None:
        """Dead-letter whatever the worker still holds or never took (at the deadline)."""
        with self.handoff:
            self._abandoned = True
            leftovers = list(self._inflight or [])
            self._inflight = None
            records = self.buffer.take(len(self.buffer) + MAX_ENTRIES_PER_BATCH, "close")
            leftovers.extend(self.encoder.encode(records))
        self.buffer.done(self.generation)
        self.buffer.done("close")
        if leftovers:
            self.dead_letter(leftovers)
