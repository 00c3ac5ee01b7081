"""The logs explorer's volume histogram: bucket size for a range, zoom links, the chart.

Each bar links to its own time range and dragging across the chart (``app.js``) selects
one: either way the range goes into the URL as ``since``/``until``, so it is kept, shared
and undone with Back like every other filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import asyncpg
from markupsafe import Markup

from tracehub_server.dashboard.charts import volume_chart
from tracehub_server.dashboard.series import fill
from tracehub_server.dashboard.templating import query_string
from tracehub_server.storage.histogram import level_histogram
from tracehub_server.storage.log_filters import LogFilter

#: Bucket sizes offered, smallest first; a range gets the first giving at most TARGET_BARS.
SIZES = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440))
TARGET_BARS = 60
_ORIGIN = datetime(2000, 1, 1, tzinfo=timezone.utc)


def bucket_size(since: datetime, until: datetime) -> timedelta:
    """The smallest round size that spans ``[since, until)`` in at most TARGET_BARS bars."""
    span = until - since
    return next((s for s in SIZES if span / s <= TARGET_BARS), SIZES[-1])


def bucket_starts(since: datetime, until: datetime, size: timedelta) -> list[datetime]:
    """Starts of the buckets covering ``[since, until)``, aligned as the storage bins them."""
    first = _ORIGIN + ((since - _ORIGIN) // size) * size
    count = min(int((until - first) / size) + 1, 2 * TARGET_BARS)
    return [first + i * size for i in range(count) if first + i * size < until]


def zoom_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The explorer's parameters without the range and the page position."""
    return [(k, v) for k, v in pairs if k not in ("since", "until", "cursor")]


async def explorer_histogram(
    conn: asyncpg.Connection,
    project_id: int,
    flt: LogFilter,
    pairs: Sequence[tuple[str, str]],
    *,
    base: str,
    now: datetime,
) -> tuple[Markup, dict[str, str]] | None:
    """The histogram's markup and the data its drag-to-zoom needs; None when too costly."""
    until = min(flt.until or now, now)
    size = bucket_size(flt.since, until)
    points = await level_histogram(conn, project_id, flt, until=until, size=size)
    if points is None:
        return None
    starts = bucket_starts(flt.since, until, size)
    keep = zoom_pairs(pairs)

    def zoom(start: datetime, _index: int) -> str:
        return base + query_string(keep, since=start.isoformat(), until=(start + size).isoformat())

    chart = volume_chart(fill(points, starts), zoom=zoom)
    data = {
        "since": starts[0].isoformat() if starts else flt.since.isoformat(),
        "until": (starts[-1] + size).isoformat() if starts else until.isoformat(),
        "url": base + query_string(keep),
    }
    return chart, data
