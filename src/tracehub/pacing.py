"""Pacing: when the delivery thread may send its next request.

After a network failure the endpoint counts as *down* and is probed again after a
full-jitter pause capped at :data:`PROBE_INTERVAL_CAP` (so delivery resumes within
seconds of a recovery); a 429/503 pauses sending for its ``Retry-After`` (or a
full-jitter pause capped at ``max_backoff`` when it gives none), so a busy server is
not hammered. While paused, buffered records are dead-lettered without touching the
network; the next batch after the pause is the probe.
"""

from __future__ import annotations

import time

from tracehub.backoff import full_jitter
from tracehub.models import SendResult

__all__ = ["MIN_PAUSE_BASE", "PROBE_INTERVAL_CAP", "Pacing"]

#: Longest pause before a down endpoint (network failure) is probed again.
PROBE_INTERVAL_CAP = 2.0
#: Smallest base of the pause schedules (a ``retry_backoff`` of 0 must not mean a busy loop).
MIN_PAUSE_BASE = 0.05


class Pacing:
    """The pause after consecutive failures; a delivered or refused batch ends it."""

    def __init__(self, *, retry_backoff: float, max_backoff: float) -> None:
        self.base = max(retry_backoff, MIN_PAUSE_BASE)
        self.max_backoff = max_backoff
        self.probe_cap = min(PROBE_INTERVAL_CAP, max(max_backoff, MIN_PAUSE_BASE))
        self.failures = 0
        self.pause_until = 0.0

    def pause_left(self) -> float:
        """Seconds before the next request may be sent (0 when not paused)."""
        return max(self.pause_until - time.monotonic(), 0.0) if self.failures else 0.0

    def note(self, result: SendResult, *, closing: bool) -> None:
        """Adjust the pause to one send's outcome.

        ``closing``: the shutdown deadline has passed, so a failure says nothing about
        the endpoint (the request was cut short) and starts no pause.
        """
        if result.throttled is not None:
            self.failures += 1
            self.pause_until = time.monotonic() + (
                result.throttled or full_jitter(self.failures, base=self.base, cap=self.max_backoff)
            )
        elif result.undelivered and not closing:
            self.failures += 1
            self.pause_until = time.monotonic() + full_jitter(
                self.failures, base=self.base, cap=self.probe_cap
            )
        elif result.delivered or result.refused or result.rejected:
            self.failures = 0
            self.pause_until = 0.0
