"""RingBuffer: the bounded, lock-free-for-writers queue between callers and the worker.

Application threads only ``append`` (``deque.append`` is atomic under the GIL, so the
hot path takes no lock). Everything that removes entries — the worker taking a batch,
the supervisor moving the oldest to disk under pressure, :meth:`RingBuffer.trim`
dropping the oldest when full — goes through one small lock that is never held during
I/O, and counts what it removed. Entries leave strictly in FIFO
order, so "everything buffered before this call" is a position, which is how
``flush()`` knows when it is done.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from tracehub.models import Record

__all__ = ["RingBuffer"]


class RingBuffer:
    """At most ``capacity`` records; when full, the oldest are dropped and counted.

    ``append`` may briefly overshoot ``capacity`` by the number of threads racing it;
    the caller trims right after, so the bound holds to within that.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._reset()

    def _reset(self) -> None:
        self.queue: deque[Record] = deque()
        #: The hot path's only operation (bound once: no attribute lookups per call).
        self.append = self.queue.append
        self._cond = threading.Condition(threading.Lock())
        self.taken = 0
        self.dropped = 0
        # Start position of each batch taken and not yet handled, by holder (the delivery
        # thread, the supervisor): flush() waits for every one of them.
        self._holds: dict[object, int] = {}

    def reset_after_fork(self) -> None:
        """Start empty with fresh locks (the parent still owns what it had buffered)."""
        self._reset()

    def __len__(self) -> int:
        return len(self.queue)

    @property
    def removed(self) -> int:
        """Records that ever left the buffer (taken or dropped): the FIFO read position."""
        return self.taken + self.dropped

    @property
    def enqueued(self) -> int:
        """Records ever appended."""
        with self._cond:
            return self.taken + self.dropped + len(self.queue)

    def trim(self) -> int:
        """Drop the oldest records beyond ``capacity``; return how many were dropped."""
        queue, dropped = self.queue, 0
        with self._cond:
            while len(queue) > self.capacity:
                try:
                    queue.popleft()
                except IndexError:
                    break
                dropped += 1
            self.dropped += dropped
            if dropped:
                self._cond.notify_all()
        return dropped

    def take(self, limit: int, holder: object = None) -> list[Record]:
        """Remove up to ``limit`` of the oldest records for delivery or spilling.

        Until :meth:`done` is called with the same ``holder``, ``flush()`` treats them
        as still in flight. One batch per holder at a time.
        """
        queue, batch = self.queue, []
        with self._cond:
            start = self.taken + self.dropped
            popleft = queue.popleft
            try:
                for _ in range(limit):
                    batch.append(popleft())
            except IndexError:
                pass
            self.taken += len(batch)
            if batch:
                self._holds[holder] = start
            else:
                self._holds.pop(holder, None)
                self._cond.notify_all()
        return batch

    def done(self, holder: object = None) -> None:
        """The batch ``holder`` took last was delivered or dead-lettered."""
        with self._cond:
            self._holds.pop(holder, None)
            self._cond.notify_all()

    def mark(self) -> int:
        """The position after every record appended so far (a ``flush()`` target)."""
        with self._cond:
            return self.taken + self.dropped + len(self.queue)

    def _reached(self, position: int) -> bool:
        if self.taken + self.dropped < position:
            return False
        return all(start >= position for start in self._holds.values())

    def wait_until(self, position: int, timeout: float | None) -> bool:
        """Block until every record before ``position`` left the buffer and was handled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._reached(position):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # Bounded waits: a worker that died mid-batch can't leave us hanging.
                self._cond.wait(0.25 if left is None else min(left, 0.25))
            return True
