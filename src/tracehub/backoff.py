"""Exponential backoff with full jitter: the one implementation the SDK and server share.

"Full jitter" (as in the AWS architecture blog's comparison of jitter schemes) draws
each pause uniformly from ``[0, min(cap, base * 2**attempt)]``. Spreading from zero,
not from half the ceiling, is what de-synchronises many clients retrying the same
outage; the mean pause is half the ceiling.
"""

from __future__ import annotations

import random

__all__ = ["Backoff", "full_jitter"]

#: Exponent ceiling: ``2**MAX_EXPONENT`` already dwarfs any sensible cap.
MAX_EXPONENT = 30


def full_jitter(attempt: int, *, base: float, cap: float) -> float:
    """A pause before retry ``attempt`` (0-based): uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * 2 ** min(max(attempt, 0), MAX_EXPONENT))
    return random.uniform(0.0, max(ceiling, 0.0))


class Backoff:
    """Successive full-jitter pauses for one failing operation, reset after a success."""

    def __init__(self, *, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def next(self) -> float:
        """The next pause; each call doubles the ceiling until ``maximum``."""
        delay = full_jitter(self.attempt, base=self.initial, cap=self.maximum)
        self.attempt = min(self.attempt + 1, MAX_EXPONENT)
        return delay

    def reset(self) -> None:
        """The operation succeeded: the next failure starts from ``initial`` again."""
        self.attempt = 0
