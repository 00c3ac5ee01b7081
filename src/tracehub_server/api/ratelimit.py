"""Per-project ingest rate limit in entries per second (off when the rate is 0).

A token bucket that may go into debt: a request is admitted while the project's bucket is
positive and then pays for all its entries, so a batch larger than the burst is never
refused forever, while the long-run rate is still ``rate`` entries per second. A refused
request learns how long until the debt is paid (its ``Retry-After``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Buckets kept at most; beyond it they start over full (a bounded map under hostile input).
MAX_BUCKETS = 100_000


class RateLimiter:
    """Token buckets keyed by project id; ``burst`` defaults to one second of ``rate``."""

    def __init__(
        self,
        *,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = rate > 0
        self._rate = rate
        self._burst = burst if burst is not None else rate
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}

    def _level(self, project_id: int) -> float:
        now = self._clock()
        tokens, then = self._buckets.get(project_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if len(self._buckets) >= MAX_BUCKETS and project_id not in self._buckets:
            self._buckets.clear()
        self._buckets[project_id] = (tokens, now)
        return tokens

    def retry_after(self, project_id: int) -> float:
        """Seconds until the project may send again; 0 when it may send now."""
        if not self.enabled:
            return 0.0
        tokens = self._level(project_id)
        return 0.0 if tokens > 0 else (1 - tokens) / self._rate

    def take(self, project_id: int, entries: int) -> float:
        """Charge ``entries``; returns 0 when admitted, else seconds to wait (not charged)."""
        if not self.enabled:
            return 0.0
        tokens = self._level(project_id)
        if tokens <= 0:
            return (1 - tokens) / self._rate
        self._buckets[project_id] = (tokens - entries, self._clock())
        return 0.0
