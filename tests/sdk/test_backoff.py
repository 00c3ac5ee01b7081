"""full_jitter and Backoff: pauses spread from zero to the capped ceiling."""

from __future__ import annotations

import random

from tracehub.backoff import Backoff, full_jitter


def test_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    """Pauses cover [0, base * 2**attempt], including its lower half (not half-to-full)."""
    random.seed(7)
    draws = [full_jitter(3, base=0.5, cap=30.0) for _ in range(2_000)]
    assert min(draws) >= 0.0
    assert max(draws) <= 4.0
    assert min(draws) < 0.5  # a half-to-full draw would never go below 2.0
    assert max(draws) > 3.5


def test_full_jitter_is_capped_and_survives_huge_attempts() -> None:
    """The ceiling never passes cap, even for absurd attempt numbers."""
    assert all(full_jitter(10_000, base=1.0, cap=2.0) <= 2.0 for _ in range(100))
    assert full_jitter(-3, base=1.0, cap=2.0) <= 1.0


def test_backoff_grows_then_resets() -> None:
    """Each next() doubles the ceiling; reset() starts over from initial."""
    backoff = Backoff(initial=1.0, maximum=8.0)
    ceilings = []
    for _ in range(5):
        backoff.next()
        ceilings.append(min(8.0, 1.0 * 2 ** (backoff.attempt - 1)))
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.attempt == 0
