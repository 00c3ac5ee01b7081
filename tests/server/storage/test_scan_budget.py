"""The scan planner: slices newest first, sized to the budget, always making progress."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from tracehub_server.storage.scan_budget import MIN_SLICE, ScanBudget, ScanPlanner

NOW = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)


def _planner(budget: ScanBudget, *, hours: float = 48, upper: datetime = NOW) -> ScanPlanner:
    return ScanPlanner(budget, lower=NOW - timedelta(hours=hours), upper=upper, now=NOW)


def test_first_slice_is_the_newest_hour() -> None:
    """The walk starts with ``first_slice`` ending at the upper bound."""
    planner = _planner(ScanBudget())
    assert planner.next_slice() == (NOW - timedelta(hours=1), NOW)


def test_future_part_of_the_range_rides_with_the_first_slice() -> None:
    """Entries stamped after now are read together with the first hour, not alone."""
    planner = _planner(ScanBudget(), upper=NOW + timedelta(days=1))
    assert planner.next_slice() == (NOW - timedelta(hours=1), NOW + timedelta(days=1))


def test_future_part_does_not_inflate_the_next_slice() -> None:
    """The next slice is sized from the past hour's speed, not from the day of future."""
    planner = _planner(ScanBudget(time_ms=200, max_growth=4), upper=NOW + timedelta(days=1))
    start, _ = planner.next_slice() or (NOW, NOW)
    planner.record(start, 100.0)  # 1 h of entries in 100 ms: 100 ms left fits 1 h
    assert planner.next_slice() == (start - timedelta(hours=1), start)


def test_slices_grow_to_fill_the_remaining_budget_up_to_the_cap() -> None:
    """A fast slice is followed by a longer one, at most max_growth times longer."""
    planner = _planner(ScanBudget(time_ms=200, max_growth=4))
    start, _ = planner.next_slice() or (NOW, NOW)
    planner.record(start, 10.0)  # 1 h in 10 ms: 190 ms left would fit 19 h, capped at 4 h
    assert planner.next_slice() == (start - timedelta(hours=4), start)


def test_slow_slice_shrinks_the_next_one() -> None:
    """A slice that ate most of the budget is followed by a short one, never below a minute."""
    planner = _planner(ScanBudget(time_ms=200))
    start, _ = planner.next_slice() or (NOW, NOW)
    planner.record(start, 150.0)  # 50 ms left at 1 h per 150 ms: 20 minutes
    nxt = planner.next_slice()
    assert nxt is not None
    assert nxt[1] - nxt[0] == timedelta(minutes=20)
    planner.record(nxt[0], 500.0)
    assert planner.next_slice() is None


def test_spent_budget_stops_after_at_least_one_slice() -> None:
    """With no time budget, exactly one slice runs per request, so each makes progress."""
    planner = _planner(ScanBudget(time_ms=0))
    first = planner.next_slice()
    assert first is not None
    planner.record(first[0], 0.5)
    assert planner.next_slice() is None
    assert planner.searched_back_to == NOW - timedelta(hours=1)
    assert not planner.exhausted


def test_walk_ends_at_the_lower_bound() -> None:
    """The last slice is clipped to ``lower`` and the planner reports the range exhausted."""
    planner = _planner(ScanBudget(time_ms=10_000, max_slices=1000), hours=3)
    seen = []
    while (bounds := planner.next_slice()) is not None:
        seen.append(bounds)
        planner.record(bounds[0], 0.0)
    assert seen[-1][0] == NOW - timedelta(hours=3)
    assert all(a[0] == b[1] for a, b in itertools.pairwise(seen))  # contiguous, no gaps
    assert planner.exhausted


def test_max_slices_bounds_round_trips() -> None:
    """A sparse range cannot make one request loop for ever."""
    planner = _planner(ScanBudget(time_ms=1e9, max_slices=3, max_growth=1), hours=1000)
    count = 0
    while (bounds := planner.next_slice()) is not None:
        planner.record(bounds[0], 1.0)
        count += 1
    assert count == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_ms": -1},
        {"first_slice": MIN_SLICE / 2},
        {"max_growth": 0.5},
        {"max_slices": 0},
    ],
)
def test_budget_rejects_nonsense(kwargs: dict[str, object]) -> None:
    """Negative, zero or sub-minute limits are refused with a message naming them."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ScanBudget(**kwargs)  # type: ignore[arg-type]
