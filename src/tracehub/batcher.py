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
``max_retries`` times the request timeout.

Pauses: after a network failure the endpoint counts as *down* and is probed again
after a full-jitter pause capped at :data:`PROBE_INTERVAL_CAP` (so delivery resumes
within seconds of a recovery); a 429/503 pauses sending for its ``Retry-After`` (or a
full-jitter pause capped at ``max_backoff`` when it gives none), so a busy server is
not hammered. While paused, buffered records are dead-lettered without touching the
network; the next batch after the pause is the probe. Once a batch is delivered the
dead-letter queue is replayed, one file per cycle between live batches.

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
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType

from tracehub import _diagnostics
from tracehub.backoff import full_jitter
from tracehub.buffer import RingBuffer
from tracehub.dlq import DeadLetterQueue
from tracehub.limits import MAX_ENTRIES_PER_BATCH, SDK_BATCH_BYTE_BUDGET
from tracehub.models import SendResult, Stats
from tracehub.serializer import EntryEncoder
from tracehub.supervisor import SPILL, Supervisor
from tracehub.transport import Transport, call_optional_hook

__all__ = ["BatchWorker", "split_by_budget"]

#: Seconds between looks for dead-letter files left by other processes.
DLQ_RESCAN_INTERVAL = 60.0
#: Longest pause before a down endpoint (network failure) is probed again.
PROBE_INTERVAL_CAP = 2.0
#: Smallest base of the pause schedules (a ``retry_backoff`` of 0 must not mean a busy loop).
MIN_PAUSE_BASE = 0.05
#: Status codes after which a dead-letter file is kept for later rather than discarded:
#: fixing the API key makes them deliverable.
_KEEP_ON_REPLAY = (401, 403)


def split_by_budget(
    entries: Sequence[bytes], budget: int = SDK_BATCH_BYTE_BUDGET
) -> Iterator[list[bytes]]:
    """Cut encoded entries into request-sized chunks (by count and by bytes)."""
    chunk: list[bytes] = []
    size = 2  # the brackets of the JSON array
    for entry in entries:
        if chunk and (size + len(entry) + 1 > budget or len(chunk) >= MAX_ENTRIES_PER_BATCH):
            yield chunk
            chunk, size = [], 2
        chunk.append(entry)
        size += len(entry) + 1
    if chunk:
        yield chunk


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
        # Guards the records between the buffer and a finished delivery, the generation
        # and the counters; held for encoding, never for network or disk I/O.
        self._handoff = threading.Lock()
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
        self._failures = 0
        self._pause_until = 0.0
        self._replay_pending = True
        # Dead-letter writes so far: a scan that found nothing clears _replay_pending
        # only if no write (say, a spill by the supervisor) happened meanwhile.
        self._dlq_writes = 0
        self._next_rescan = time.monotonic() + DLQ_RESCAN_INTERVAL
        self.sent = self.retried = self.dead_lettered = self.replayed = self.rejected = 0
        self._lost: dict[str, int] = {}
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

    def _current(self, generation: int) -> bool:
        return generation == self.generation and not self._abandoned

    def _run(self, generation: int) -> None:
        _diagnostics.mark_thread_internal()
        call_optional_hook(self.transport, "prepare")
        try:
            while self._current(generation):
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
        self._maybe_replay(generation)
        return False

    # -- live delivery ---------------------------------------------------------------

    def pause_left(self) -> float:
        """Seconds before the next request may be sent (0 when not paused)."""
        return max(self._pause_until - time.monotonic(), 0.0) if self._failures else 0.0

    def _drain(self, generation: int) -> None:
        while self._current(generation):
            with self._handoff:
                if not self._current(generation):
                    return
                records = self.buffer.take(MAX_ENTRIES_PER_BATCH, generation)
                if not records:
                    return
                self._inflight = self.encoder.encode(records)
            try:
                self._deliver_inflight(generation)
            except BaseException:
                if self._current(generation):
                    self._rescue_inflight()  # the thread is dying: keep what it holds
                raise
            finally:
                with self._handoff:
                    if self._current(generation):
                        self._inflight = None
                self.buffer.done(generation)

    def _batch_deadline(self) -> float:
        deadline = time.monotonic() + self.batch_timeout
        return deadline if self._deadline is None else min(deadline, self._deadline)

    def _deliver_inflight(self, generation: int) -> None:
        deadline = self._batch_deadline()  # for the whole batch, every chunk included
        for chunk in list(split_by_budget(self._inflight or [])):
            result = None if self.pause_left() > 0 else self._send(chunk, deadline)
            with self._handoff:
                if not self._current(generation):
                    return  # close() or the supervisor dead-lettered what was in flight
                if result is not None:
                    self._account(result, replay=False)
                if self._inflight is not None:
                    del self._inflight[: len(chunk)]
            if result is None:
                self._dead_letter(chunk)
                continue
            self._report_refused(result)
            if result.rejected:
                # Refused for good: kept for a later process (say, after an API key
                # fix), never replayed by this one.
                self._dead_letter(result.rejected, replay=False)
            if result.undelivered:
                self._dead_letter(result.undelivered)

    def _send(self, chunk: list[bytes], deadline: float) -> SendResult:
        """Call the transport; an exception or a wrong answer means nothing was delivered."""
        self.busy_since = time.monotonic()
        try:
            result = self.transport.send(chunk, deadline=deadline)
        except Exception as exc:
            _diagnostics.report(
                "transport-send", f"transport.send raised (a bug in the transport): {exc!r}"
            )
            return SendResult(undelivered=list(chunk))
        if not isinstance(result, SendResult):
            _diagnostics.report(
                "transport-result", f"transport.send returned {type(result).__name__}, "
                "not SendResult: treated as undelivered",
            )  # fmt: skip
            return SendResult(undelivered=list(chunk))
        return result

    def _account(self, result: SendResult, *, replay: bool) -> None:
        """Count one send's outcome and adjust the pause (caller holds the hand-off lock)."""
        self.retried += result.retries
        if replay:
            self.replayed += result.delivered
        else:
            self.sent += result.delivered
        if result.refused:
            self.rejected += result.refused
            self._lose("rejected", result.refused)
        if result.rejected:
            self.rejected += len(result.rejected)
        self._note_health(result)

    @staticmethod
    def _report_refused(result: SendResult) -> None:
        """Say once (a minute) that the server refused entries; never under a lock."""
        if result.refused:
            _diagnostics.report(
                "refused",
                f"ingest refused {result.refused} entries of a batch (not retried, counted "
                f"in stats().rejected): {result.refused_detail}",
            )

    def _note_health(self, result: SendResult) -> None:
        base = max(self.retry_backoff, MIN_PAUSE_BASE)
        if result.throttled is not None:
            self._failures += 1
            pause = result.throttled or full_jitter(self._failures, base=base, cap=self.max_backoff)
            self._pause_until = time.monotonic() + pause
        elif result.undelivered and not self._closing_deadline_passed():
            self._failures += 1
            cap = min(PROBE_INTERVAL_CAP, max(self.max_backoff, MIN_PAUSE_BASE))
            self._pause_until = time.monotonic() + full_jitter(self._failures, base=base, cap=cap)
        elif result.delivered or result.refused or result.rejected:
            self._failures = 0
            self._pause_until = 0.0

    def _closing_deadline_passed(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _lose(self, reason: str, count: int) -> None:
        self._lost[reason] = self._lost.get(reason, 0) + count

    def dead_letter(self, entries: list[bytes], *, replay: bool = True) -> bool:
        """Keep ``entries`` on disk; count them as lost (by reason) when that fails."""
        if not entries:
            return True
        self.busy_since = time.monotonic() if self.is_worker_thread() else self.busy_since
        if self.dlq is not None and self.dlq.write(entries, hold=not replay):
            with self._handoff:
                self.dead_lettered += len(entries)
                self._dlq_writes += 1
                self._replay_pending = self._replay_pending or replay
            return True
        with self._handoff:
            self._lose("no_dlq" if self.dlq is None else "dlq_write_failed", len(entries))
        return False

    _dead_letter = dead_letter

    def _rescue_inflight(self) -> None:
        """The thread is ending with entries in hand: keep them on disk."""
        with self._handoff:
            if self._abandoned or not self._inflight:
                return
            leftovers, self._inflight = list(self._inflight), None
        self._dead_letter(leftovers)

    def spill_oldest(self, count: int) -> list[bytes]:
        """Take and encode up to ``count`` of the oldest records for the supervisor.

        The caller writes them to disk, then calls ``buffer.done(SPILL)``.
        """
        with self._handoff:
            if self._abandoned:
                return []
            return self.encoder.encode(self.buffer.take(count, SPILL))

    def take_over_hung(self, generation: int) -> list[bytes] | None:
        """Retire a hung thread: bump the generation and return what it held in flight.

        None when ``generation`` is no longer current (it finished meanwhile).
        """
        with self._handoff:
            if not self._current(generation):
                return None
            self.generation += 1
            leftovers, self._inflight = list(self._inflight or []), None
            self._thread = None
            self.busy_since = None
        self.buffer.done(generation)
        return leftovers

    # -- dead-letter replay ----------------------------------------------------------

    def _maybe_replay(self, generation: int) -> None:
        if self.dlq is None or self.stopping or self.pause_left() > 0:
            return
        if not self._replay_pending and time.monotonic() >= self._next_rescan:
            self._replay_pending = True
        if not self._replay_pending:
            return
        self._next_rescan = time.monotonic() + DLQ_RESCAN_INTERVAL
        writes = self._dlq_writes
        claim = self.dlq.claim_next()
        if claim is None:
            with self._handoff:
                self._replay_pending = self._dlq_writes != writes
            return
        keep: list[bytes] = []
        chunks = list(split_by_budget(claim.entries))
        deadline = self._batch_deadline()
        for index, chunk in enumerate(chunks):
            if self.stopping or self.pause_left() > 0 or not self._current(generation):
                keep.extend(e for rest in chunks[index:] for e in rest)
                break
            result = self._send(chunk, deadline)
            keep.extend(result.undelivered)
            with self._handoff:
                if not self._current(generation):
                    keep.extend(result.rejected)  # a hung thread's late answer: keep it all
                    continue
                self._account(result, replay=True)
                if result.rejected_status in _KEEP_ON_REPLAY:
                    keep.extend(result.rejected)
                    self._replay_pending = False  # until a restart or a new dead letter
                elif result.rejected:
                    self._lose("rejected", len(result.rejected))
            self._report_refused(result)
        self.dlq.release(claim, keep) if keep else self.dlq.complete(claim)
        if self._replay_pending:
            self.wake.set()  # next file on the next cycle, after live records

    # -- counters --------------------------------------------------------------------

    def lost_by_reason(self) -> Mapping[str, int]:
        """Entries lost so far, by reason (see :data:`tracehub.models.LOST_REASONS`)."""
        with self._handoff:
            lost = dict(self._lost)
        if self.buffer.dropped:
            lost["buffer_full"] = self.buffer.dropped
        if self.dlq is not None and self.dlq.evicted:
            lost["dlq_full"] = self.dlq.evicted
        if self.dlq is not None and self.dlq.corrupt:
            lost["dlq_corrupt"] = self.dlq.corrupt
        return MappingProxyType(lost)

    def stats(self) -> Stats:
        """The counters of this worker and its buffer (see :class:`~tracehub.models.Stats`)."""
        lost = self.lost_by_reason()
        return Stats(
            enqueued=self.buffer.enqueued,
            sent=self.sent,
            dropped=self.buffer.dropped,
            retried=self.retried,
            dead_lettered=self.dead_lettered,
            replayed=self.replayed,
            lost=sum(lost.values()),
            buffered=len(self.buffer),
            rejected=self.rejected,
            lost_by_reason=lost,
        )

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
        with self._handoff:
            self._abandoned = True
            leftovers = list(self._inflight or [])
            self._inflight = None
            records = self.buffer.take(len(self.buffer) + MAX_ENTRIES_PER_BATCH, "close")
            leftovers.extend(self.encoder.encode(records))
        self.buffer.done(self.generation)
        self.buffer.done("close")
        if leftovers:
            self._dead_letter(leftovers)
