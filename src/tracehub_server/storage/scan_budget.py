"""How much of the logs table one search request may read: the bounded, resumable scan.

A filter no index serves (``q`` text, ``level``, ``service``, ``environment``, ``module``)
is checked row by row. A common value fills a page after a short walk, but a rare one would
read the whole range: a rare word over 7 days of 10 million rows took about 2 s. Rather than
index text on the write path (which halved ingest throughput), each request walks the range
newest first in time slices and stops when the page is full *or* its budget is spent, like
Seq and Loki do. The answer then carries the rows found so far, a cursor at the slice
boundary and the time searched back to, so the client continues where it stopped.

:class:`ScanPlanner` sizes the slices: the first is :attr:`ScanBudget.first_slice`; each next
one is predicted from the previous slice's speed to fill what remains of the budget (at most
:attr:`ScanBudget.max_growth` times longer than the previous one), so one request costs
about ``time_ms`` whatever the data's density. At least one slice always runs, so every
request makes progress; ``search_logs`` also cancels a later slice that runs past the rest
of the budget (a cold cache can make a prediction many times too long), and the cursor then
resumes at that slice's top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Below this share of the budget left, another slice is not worth its round trip.
_MIN_REMAINING_SHARE = 0.1
#: Slices are never shorter than this, so a slow slice cannot shrink the walk to nothing.
MIN_SLICE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanBudget:
    """Limits of one request's walk through the time range.

    ``time_ms`` is wall-clock time spent in queries; ``max_slices`` caps round trips (a
    sparse range grows slices quickly, but cannot loop forever).
    """

    time_ms: float = 200.0
    first_slice: timedelta = timedelta(hours=1)
    max_growth: float = 4.0
    max_slices: int = 64

    def __post_init__(self) -> None:
        if self.time_ms < 0:
            raise ValueError(f"time_ms must be >= 0, got {self.time_ms}")
        if self.first_slice < MIN_SLICE:
            raise ValueError(f"first_slice must be at least {MIN_SLICE}, got {self.first_slice}")
        if self.max_growth < 1:
            raise ValueError(f"max_growth must be >= 1, got {self.max_growth}")
        if self.max_slices < 1:
            raise ValueError(f"max_slices must be >= 1, got {self.max_slices}")


#: What the JSON API and the dashboard use.
DEFAULT_BUDGET = ScanBudget()


class ScanPlanner:
    """Hands out consecutive slices ``[start, end)`` from ``upper`` back to ``lower``.

    Call :meth:`next_slice` for the next slice (None when the range or the budget is
    spent), run it, then :meth:`record` how long it took.
    """

    def __init__(
        self, budget: ScanBudget, *, lower: datetime, upper: datetime, now: datetime
    ) -> None:
        self._budget = budget
        self._lower = lower
        self._end = upper
        # Entries stamped in the (near) future ride with the first slice before now, so an
        # empty, fast stretch of future cannot inflate the next slice's size.
        self._size = budget.first_slice + max(upper - now, timedelta(0))
        self._now = now
        self._spent_ms = 0.0
        self._slices = 0

    @property
    def searched_back_to(self) -> datetime:
        """Everything from here up to ``upper`` has been searched."""
        return self._end

    @property
    def remaining_ms(self) -> float:
        """Budget left, in milliseconds (negative once overspent)."""
        return self._budget.time_ms - self._spent_ms

    @property
    def exhausted(self) -> bool:
        """True once the whole range has been searched."""
        return self._end <= self._lower

    def next_slice(self) -> tuple[datetime, datetime] | None:
        if self.exhausted or self._slices >= self._budget.max_slices:
            return None
        if self._slices and self._spent_ms >= self._budget.time_ms * (1 - _MIN_REMAINING_SHARE):
            return None
        start = max(self._lower, self._end - self._size)
        return start, self._end

    def record(self, start: datetime, elapsed_ms: float) -> None:
        """The slice ending at the current position, down to ``start``, took ``elapsed_ms``."""
        # Only the part up to now holds (many) entries: the future part must not inflate
        # the speed the next slice is sized from.
        span = max(min(self._end, self._now) - start, MIN_SLICE)
        self._end = start
        self._slices += 1
        self._spent_ms += elapsed_ms
        remaining = self._budget.time_ms - self._spent_ms
        grown = span * self._budget.max_growth
        # A slice too fast to time grows by the cap; otherwise aim at the remaining budget.
        predicted = grown if elapsed_ms <= 0 else span * (max(remaining, 0.0) / elapsed_ms)
        self._size = max(MIN_SLICE, min(grown, predicted))
