"""Chart axes: round-number ticks, each date once, today always labelled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracehub_server.dashboard.charts import LAYOUTS, Bucket, nice_ticks, time_labels, volume_svg
from tracehub_server.dashboard.histogram import bucket_size
from tracehub_server.dashboard.histogram import bucket_starts as histogram_starts
from tracehub_server.dashboard.series import bucket_starts

NOW = datetime(2026, 12, 6, 1, 35, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 5, 10]),
        (87, [0, 50, 100]),
        (1234, [0, 500, 1000, 1500]),
        (0, [0, 1]),
    ],
)
def test_ticks_are_round_numbers_reaching_the_peak(peak: int, ticks: list[int]) -> None:
    """Ticks step by 1, 2 or 5 times a power of ten and the last one is at least the peak."""
    assert nice_ticks(peak) == ticks


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
@pytest.mark.parametrize(
    ("span", "size"), [(timedelta(hours=24), "hour"), (timedelta(hours=167), "hour"),
                       (timedelta(days=7), "day"), (timedelta(days=30), "day")],
)  # fmt: skip
def test_each_label_once_and_today_included(layout: object, span: timedelta, size: str) -> None:
    """Labels are unique, at most the layout's number, and name today for multi-day ranges."""
    starts = bucket_starts(NOW - span, NOW, size)
    labels = time_labels(starts, max_labels=layout.max_labels)  # type: ignore[attr-defined]
    texts = [text for _i, text in labels]
    assert len(texts) == len(set(texts))
    assert 2 <= len(texts) <= layout.max_labels  # type: ignore[attr-defined]
    assert [i for i, _t in labels] == sorted(i for i, _t in labels)
    if span > timedelta(hours=24):
        assert texts[-1] == "Dec 06"
        assert labels[-1][0] >= len(starts) - 2


def test_issue_week_chart_reads_round_ticks() -> None:
    """An issue with at most 3 events an hour gets a 0, 1, 2, 3 axis (not 0, 1, 3)."""
    starts = bucket_starts(NOW - timedelta(hours=167), NOW, "hour")
    buckets = [Bucket(s, {"ERROR": i % 4}) for i, s in enumerate(starts)]
    svg = str(volume_svg(buckets))
    for tick in ("0", "1", "2", "3"):
        assert f'text-anchor="end">{tick}</text>' in svg
    assert 'preserveAspectRatio="none"' not in svg


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
@pytest.mark.parametrize(
    "span", [timedelta(minutes=15), timedelta(hours=1), timedelta(hours=24), timedelta(days=7)]
)
def test_explorer_histogram_labels_fit_every_bucket_size(layout: object, span: timedelta) -> None:
    """The explorer's round bucket sizes get unique labels, no more than the layout holds."""
    since = NOW - span
    size = bucket_size(since, NOW)
    starts = histogram_starts(since, NOW, size)
    labels = time_labels(starts, max_labels=layout.max_labels)  # type: ignore[attr-defined]
    texts = [text for _i, text in labels]
    assert 1 <= len(texts) <= layout.max_labels  # type: ignore[attr-defined]
    assert len(texts) == len(set(texts))
