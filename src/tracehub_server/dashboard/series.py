"""Gap-filled series for the charts (the storage functions omit empty buckets)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone

from tracehub_server.dashboard.charts import Bucket

#: The overview's range choices: (value, label, span, bucket size).
RANGES: dict[str, tuple[str, timedelta, str]] = {
    "24h": ("Last 24 hours", timedelta(hours=24), "hour"),
    "7d": ("Last 7 days", timedelta(days=7), "day"),
    "30d": ("Last 30 days", timedelta(days=30), "day"),
}
DEFAULT_RANGE = "24h"


def bucket_starts(since: datetime, until: datetime, size: str) -> list[datetime]:
    """Every bucket start from the one holding ``since`` up to ``until`` (UTC)."""
    since = since.astimezone(timezone.utc)
    if size == "day":
        first = since.replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(days=1)
    else:
        first = since.replace(minute=0, second=0, microsecond=0)
        step = timedelta(hours=1)
    out: list[datetime] = []
    current = first
    while current < until and len(out) < 1000:
        out.append(current)
        current += step
    return out


def fill(
    points: Iterable[tuple[datetime, Mapping[str, int]]], starts: list[datetime]
) -> list[Bucket]:
    """One :class:`Bucket` per start, zero where the data has none."""
    by_start = {start.astimezone(timezone.utc): counts for start, counts in points}
    return [Bucket(start=s, counts=dict(by_start.get(s, {}))) for s in starts]


def hourly_counts(points: Iterable[tuple[datetime, int]], starts: list[datetime]) -> list[int]:
    """Counts per hour start, zero-filled (for sparklines)."""
    by_start = {start.astimezone(timezone.utc): n for start, n in points}
    return [by_start.get(s, 0) for s in starts]
