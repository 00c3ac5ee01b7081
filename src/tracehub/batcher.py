"""BatchWorker: the daemon thread that turns buffered records into delivered batches.

When it sends: as soon as ``batch_size`` records wait (the logging call sets an Event
when it crosses the threshold, so the worker wakes at once), at least every
``flush_interval`` seconds, on ``flush()`` and on shutdown. Each request carries up to
:data:`~tracehub.limits.MAX_ENTRIES_PER_BATCH` entries and at most
:data:`~tracehub.limits.SDK_BATCH_BYTE_BUDGET` bytes before compression — everything
that is waiting, so a backlog drains in large requests.

What happens to a batch: delivered (2xx) → counted as sent; anything the transport
gives back (retries exhausted, refused, deadline reached) → the dead-letter queue.
After a batch fails on the network or with 5xx/429 the endpoint counts as *down* for
a short, growing cooldown (capped at ``max_backoff``): records are then collected for
``flush_interval`` and dead-lettered without waiting on the network, and the next
batch after the cooldown probes the endpoint again. Once a batch is delivered the
dead-letter queue is replayed, one file per cycle between live batches.

The thread starts on first use (never at import or construction), survives any
exception in a cycle, is restarted by the next logging call if it dies, and is
replaced after ``fork()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from tracehub import _diagnostics
from tracehub.buffer import RingBuffer
from tracehub.dlq import DeadLetterQueue
from tracehub.limits import MAX_ENTRIES_PER_BATCH, SDK_BATCH_BYTE_BUDGET
from tracehub.serializer import EntryEncoder
from tracehub.transport import Transport

__all__ = ["BatchWorker", "split_by_budget"]

#: Seconds between looks for dead-letter files left by other processes.
DLQ_RESCAN_INTERVAL = 60.0
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
    ) -> None:
        self.buffer = buffer
        self.encoder = encoder
        self.transport = transport
        self.dlq = dlq
        self.flush_interval = flush_interval
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self._reset_state()

    def _reset_state(self) -> None:
        #: Set by the logging call at the batch threshold, by flush() and close().
        self.wake = threading.Event()
        self._hurry = threading.Event()
        self._start_lock = threading.Lock()
        # Guards the records between the buffer and a finished delivery; held for
        # encoding, never for network or disk I/O.
        self._handoff = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._abandoned = False
        self._deadline: float | None = None
        self._inflight: list[bytes] | None = None
        self._failures = 0
        self._down_until = 0.0
        self._replay_pending = True
        self._next_rescan = time.monotonic() + DLQ_RESCAN_INTERVAL
        self.sent = self.retried = self.dead_lettered = self.replayed = self.lost = 0

    def reset_after_fork(self) -> None:
        """Fresh thread state, locks and counters for a forked child."""
        self._reset_state()
        self.encoder.refresh_process_fields()
        self.transport.reset_after_fork()
        if self.dlq is not None:
            self.dlq.reset_after_fork()

    # -- thread management -----------------------------------------------------------

    @property
    def thread(self) -> threading.Thread | None:
        """The current delivery thread, if one was started."""
        return self._thread

    def is_worker_thread(self) -> bool:
        """True when called from this worker's own thread."""
        return threading.current_thread() is self._thread

    def ensure_running(self) -> None:
        """Start the thread, or restart it if it died."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            thread = self._thread
            if thread is not None and thread.is_alive():
                return
            if thread is not None and not self._stopping:
                _diagnostics.report("worker-restart", "delivery thread had died; restarted it")
            thread = threading.Thread(
                target=self._run, name=_diagnostics.WORKER_THREAD_NAME, daemon=True
            )
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: close() dead-letters instead
                return
            self._thread = thread

    def _run(self) -> None:
        _diagnostics.mark_thread_internal()
        try:
            self.transport.prepare()
        except Exception as exc:  # sending will try again, and report again if need be
            _diagnostics.report("transport-prepare", f"could not prepare the transport: {exc!r}")
        try:
            while not self._abandoned:
                try:
                    if self._cycle():
                        break
                except Exception as exc:
                    _diagnostics.report(
                        "worker-error", f"delivery cycle failed: {type(exc).__name__}: {exc}"
                    )
                    self._hurry.wait(0.05)
        finally:
            self._rescue_inflight()
            _diagnostics.flush_pending()
            if not self._stopping:
                self.wake.clear()  # so the next logging call notices and restarts us

    def _cycle(self) -> bool:
        """One round: wait, deliver what is waiting, replay; True when shut down."""
        if self._is_down() and not self._stopping:
            # Collect for a while instead of waking per batch while the endpoint is down.
            self._hurry.wait(self.flush_interval or 0.5)
        else:
            self.wake.wait(self.flush_interval or 1.0)
        self.wake.clear()
        self._hurry.clear()
        _diagnostics.flush_pending()
        self._drain()
        if self._stopping:
            return len(self.buffer) == 0
        self._maybe_replay()
        return False

    # -- live delivery ---------------------------------------------------------------

    def _is_down(self) -> bool:
        return self._failures > 0 and time.monotonic() < self._down_until

    def _drain(self) -> None:
        while not self._abandoned:
            with self._handoff:
                records = self.buffer.take(MAX_ENTRIES_PER_BATCH)
                if not records:
                    return
                self._inflight = self.encoder.encode(records)
            try:
                self._deliver_inflight()
            except BaseException:
                self._rescue_inflight()  # the thread is dying: keep what it holds
                raise
            finally:
                with self._handoff:
                    self._inflight = None
                self.buffer.done()

    def _deliver_inflight(self) -> None:
        for chunk in list(split_by_budget(self._inflight or [])):
            if self._is_down():
                failed = chunk
            else:
                result = self.transport.send(chunk, deadline=self._deadline)
                self.retried += result.retries
                self.sent += result.delivered
                failed = result.undelivered
                self._note_health(result.delivered, bool(result.undelivered))
                if result.rejected:
                    # Refused for good: kept for a later process (say, after an API
                    # key fix), never replayed by this one.
                    self._dead_letter(result.rejected, replay=False)
            with self._handoff:
                if self._abandoned:
                    return  # close() dead-lettered everything still in flight
                if self._inflight is not None:
                    del self._inflight[: len(chunk)]
            if failed:
                self._dead_letter(failed)

    def _note_health(self, delivered: int, network_failed: bool) -> None:
        if network_failed and not self._deadline_passed():
            self._failures += 1
            cooldown = min(self.max_backoff, max(self.retry_backoff, 0.05) * 2**self._failures)
            self._down_until = time.monotonic() + cooldown
        elif delivered:
            self._failures = 0
            self._down_until = 0.0

    def _deadline_passed(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _dead_letter(self, entries: list[bytes], *, replay: bool = True) -> None:
        if self.dlq is not None and self.dlq.write(entries, hold=not replay):
            self.dead_lettered += len(entries)
            self._replay_pending = self._replay_pending or replay
            return
        self.lost += len(entries)
        _diagnostics.report(
            "lost",
            f"{len(entries)} entries could not be delivered and no dead-letter queue took them",
        )

    def _rescue_inflight(self) -> None:
        """The thread is ending with entries in hand: keep them on disk."""
        with self._handoff:
            if self._abandoned or not self._inflight:
                return
            leftovers, self._inflight = list(self._inflight), None
        self._dead_letter(leftovers)

    # -- dead-letter replay ----------------------------------------------------------

    def _maybe_replay(self) -> None:
        if self.dlq is None or self._stopping or self._is_down():
            return
        if not self._replay_pending and time.monotonic() >= self._next_rescan:
            self._replay_pending = True
        if not self._replay_pending:
            return
        self._next_rescan = time.monotonic() + DLQ_RESCAN_INTERVAL
        claim = self.dlq.claim_next()
        if claim is None:
            self._replay_pending = False
            return
        keep: list[bytes] = []
        chunks = list(split_by_budget(claim.entries))
        for index, chunk in enumerate(chunks):
            if self._stopping or self._is_down():
                keep.extend(e for rest in chunks[index:] for e in rest)
                break
            result = self.transport.send(chunk, deadline=self._deadline)
            self.retried += result.retries
            self.replayed += result.delivered
            self._note_health(result.delivered, bool(result.undelivered))
            keep.extend(result.undelivered)
            if result.rejected_status in _KEEP_ON_REPLAY:
                keep.extend(result.rejected)
                self._replay_pending = False  # until a restart or a new dead letter
            elif result.rejected:
                self.lost += len(result.rejected)
        self.dlq.release(claim, keep) if keep else self.dlq.complete(claim)
        if self._replay_pending:
            self.wake.set()  # next file on the next cycle, after live records

    # -- flush and shutdown ----------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every record buffered before the call is delivered or dead-lettered."""
        if self.is_worker_thread():
            return False  # we would wait for ourselves
        target = self.buffer.mark()
        self.ensure_running()
        self._hurry.set()
        self.wake.set()
        return self.buffer.wait_until(target, timeout)

    def close(self, timeout: float) -> None:
        """Deliver what is buffered until ``timeout``; dead-letter the rest; stop."""
        deadline = time.monotonic() + timeout
        self._deadline = deadline
        if len(self.buffer) or (self._thread is not None and self._thread.is_alive()):
            self.ensure_running()
        self._stopping = True
        self._hurry.set()
        self.wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(deadline - time.monotonic(), 0.0))
        # Normally nothing is left; otherwise (a request still hanging at the deadline,
        # or a worker that never ran) the entries go to the DLQ here.
        self._take_over()
        # Closing also cuts a request still in flight, so the worker stops retrying.
        self.transport.close()
        self._hurry.set()

    def _take_over(self) -> None:
        """Dead-letter whatever the worker still holds or never took (at the deadline)."""
        with self._handoff:
            self._abandoned = True
            leftovers = list(self._inflight or [])
            self._inflight = None
            records = self.buffer.take(len(self.buffer) + MAX_ENTRIES_PER_BATCH)
            leftovers.extend(self.encoder.encode(records))
        self.buffer.done()
        if leftovers:
            self._dead_letter(leftovers)
