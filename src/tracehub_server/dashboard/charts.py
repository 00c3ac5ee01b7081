"""Server-rendered SVG charts: log volume by level, and an issue's hourly sparkline.

Drawn in Python so the page needs no chart library and no script. Colours come from CSS
classes (``lv-error`` …), which the stylesheet sets for light and dark mode. Every label
that could carry input is escaped by :class:`~markupsafe.Markup` formatting.

An SVG scaled to its box stretches its text unless it keeps its aspect ratio, and one that
keeps it shrinks its text on a phone to nothing. So the volume chart is drawn once per
:class:`Layout` (a wide, a medium and a narrow one, each with as many axis labels as its
width holds) and the stylesheet shows the one that fits the window; each scales uniformly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from tracehub.entry import LEVELS

#: Gives a bar's link from its start and index (the explorer's zoom into that bucket).
ZoomLinks = Callable[[datetime, int], str]
#: Bottom-to-top stacking order of the volume chart.
STACK_ORDER = LEVELS


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bar: its start time and the count per level."""

    start: datetime
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Layout:
    """One drawing of a chart: its viewBox, and how many axis labels fit across it."""

    name: str
    width: int
    height: int
    max_labels: int


#: The drawings of the volume chart, widest first; ``chart-<name>`` classes pick one per
#: window width in the stylesheet, so axis text (12 user units) renders at about 10-16 px.
LAYOUTS = (
    Layout("wide", 1100, 240, 10),
    Layout("medium", 720, 220, 7),
    Layout("narrow", 360, 220, 4),
)
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 46, 8, 10, 24
#: Label spacings of series up to a day and a half, in minutes.
_LABEL_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)
_MINUTE = timedelta(minutes=1)
#: Multipliers of a power of ten that make a round tick step (1, 2, 5, 10, 20, 50 …).
_NICE_STEPS = (1, 2, 5)


def nice_ticks(peak: int, *, max_ticks: int = 4) -> list[int]:
    """Round-number ticks from 0 to the first one at or above ``peak`` (0, 1, 2, 3 / 0, 50, 100).

    At most ``max_ticks`` steps, each a 1, 2 or 5 times a power of ten (never below 1:
    counts are whole numbers).
    """
    peak = max(peak, 1)
    raw = peak / max_ticks
    power = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next((m * power for m in (*_NICE_STEPS, 10) if m * power >= raw), 10 * power)
    top = math.ceil(peak / step) * step
    return list(range(0, top + 1, step))


def time_labels(starts: Sequence[datetime], *, max_labels: int) -> list[tuple[int, str]]:
    """(bucket index, text) of the x-axis labels: round times, each text once, the last
    bucket's day always included.

    Daily buckets are labelled with their date, thinned from the newest backwards. Series
    over more than a day and a half are labelled at midnights with the date; shorter ones
    every 1, 2, 5 … 720 minutes (a multiple of the bucket), midnight showing the date.
    """
    n = len(starts)
    if n == 0:
        return []
    daily = n > 1 and starts[1] - starts[0] >= timedelta(days=1)
    if daily:
        stride = math.ceil(n / max_labels)
        picked = [i for i in range(n) if (n - 1 - i) % stride == 0]
        return [(i, f"{starts[i]:%b %d}") for i in picked]
    if starts[-1] - starts[0] > timedelta(hours=36):
        midnights = [i for i in range(n) if starts[i].hour == 0]
        stride = math.ceil(len(midnights) / max_labels) if midnights else 1
        keep = midnights[::-1][::stride][::-1]
        return [(i, f"{starts[i]:%b %d}") for i in keep]
    step = int((starts[1] - starts[0] if n > 1 else timedelta(hours=1)) / _MINUTE)
    every = next((m for m in _LABEL_MINUTES if m % step == 0 and n * step / m <= max_labels), 1440)
    out: dict[str, int] = {}
    for i, start in enumerate(starts):
        minute_of_day = start.hour * 60 + start.minute
        if minute_of_day % every == 0:
            # A later bucket with the same text (the hour of a day ago) replaces the earlier.
            text = f"{start:%b %d}" if minute_of_day == 0 else f"{start:%H:%M}"
            out.pop(text, None)
            out[text] = i
    return sorted((i, text) for text, i in out.items())


def _level_css(level: str) -> str:
    return f"lv-{level.lower()}" if level in STACK_ORDER else "lv-other"


def _levels(bucket: Bucket) -> list[str]:
    known = [lv for lv in STACK_ORDER if lv in bucket.counts]
    return known + sorted(lv for lv in bucket.counts if lv not in STACK_ORDER)


def _bar(
    bucket: Bucket, x: float, bar_w: float, base: float, scale: float, href: str | None
) -> Markup:
    detail = ", ".join(f"{lv} {bucket.counts.get(lv, 0):,}" for lv in _levels(bucket))
    title = f"{bucket.start:%Y-%m-%d %H:%M} UTC: {bucket.total:,} ({detail})"
    rects: list[Markup] = []
    y = base
    for level in _levels(bucket):
        count = bucket.counts.get(level, 0)
        if count <= 0:
            continue
        h = count * scale
        y -= h
        rects.append(
            Markup(
                '<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>'
            ).format(_level_css(level), x, y, bar_w, h)
        )
    bar = Markup("<g><title>{}</title>{}</g>").format(title, Markup("").join(rects))
    if href is None or bucket.total == 0:
        return bar
    return Markup('<a href="{}" aria-label="{}">{}</a>').format(href, f"Zoom to {title}", bar)


def volume_svg(
    buckets: Sequence[Bucket], layout: Layout = LAYOUTS[0], *, zoom: ZoomLinks | None = None
) -> Markup:
    """One drawing of the stacked bar chart of counts per level, for ``layout``; with
    ``zoom``, each bar links to its own time range."""
    width, height = layout.width, layout.height
    plot_w = width - _PAD_LEFT - _PAD_RIGHT
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    base = float(_PAD_TOP + plot_h)
    ticks = nice_ticks(max(b.total for b in buckets))
    scale = plot_h / ticks[-1]
    slot = plot_w / len(buckets)
    bar_w = max(slot * 0.8, 1.0)
    parts: list[Markup] = []
    for tick in ticks:
        y = base - tick * scale
        parts.append(
            Markup(
                '<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>'
                '<text class="axis" x="{}" y="{:.1f}" text-anchor="end">{}</text>'
            ).format(_PAD_LEFT, width - _PAD_RIGHT, y, y, _PAD_LEFT - 6, y + 4, f"{tick:,}")
        )
    for i, bucket in enumerate(buckets):
        x = _PAD_LEFT + i * slot + (slot - bar_w) / 2
        href = zoom(bucket.start, i) if zoom else None
        parts.append(_bar(bucket, x, bar_w, base, scale, href))
    for i, text in time_labels([b.start for b in buckets], max_labels=layout.max_labels):
        x = _PAD_LEFT + (i + 0.5) * slot
        # Keep the first and last labels inside the drawing.
        anchor = "start" if x < _PAD_LEFT + 30 else "end" if x > width - 30 else "middle"
        x = min(max(x, _PAD_LEFT), width - _PAD_RIGHT) if anchor != "middle" else x
        parts.append(
            Markup('<text class="axis x" x="{:.1f}" y="{}" text-anchor="{}">{}</text>').format(
                x, height - 6, anchor, text
            )
        )
    peak = max(b.total for b in buckets)
    return Markup(
        '<svg class="chart chart-{name}" viewBox="0 0 {w} {h}" role="{role}" aria-label="{aria}"'
        ' data-plot-left="{left}" data-plot-right="{right}">{body}</svg>'
    ).format(
        left=_PAD_LEFT,
        right=width - _PAD_RIGHT,
        # A chart of links is a group of them (an "img" may hold nothing interactive).
        role="group" if zoom else "img",
        name=layout.name,
        w=width,
        h=height,
        aria=f"Log volume by level, {len(buckets)} bars, peak {peak:,}",
        body=Markup("").join(parts),
    )


def volume_chart(buckets: Sequence[Bucket], *, zoom: ZoomLinks | None = None) -> Markup:
    """The volume chart in every layout (CSS shows one); an empty series says so instead."""
    if not buckets or all(b.total == 0 for b in buckets):
        return Markup('<p class="chart-empty">No logs in this range.</p>')
    return Markup('<div class="chart-box">{}</div>').format(
        Markup("").join(volume_svg(buckets, layout, zoom=zoom) for layout in LAYOUTS)
    )


def sparkline(counts: Sequence[int], *, width: int = 120, height: int = 24) -> Markup:
    """Tiny bars of an issue's hourly event counts (oldest first)."""
    if not counts or max(counts) <= 0:
        return Markup('<svg class="spark" viewBox="0 0 {} {}" aria-hidden="true"></svg>').format(
            width, height
        )
    peak = max(counts)
    slot = width / len(counts)
    bars = Markup("").join(
        Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>').format(
            i * slot,
            height - max(1.0, height * c / peak),
            max(slot - 1, 0.5),
            max(1.0, height * c / peak),
        )
        for i, c in enumerate(counts)
        if c > 0
    )
    return Markup(
        '<svg class="spark" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>'
    ).format(width, height, f"{sum(counts):,} events, peak {peak:,} per hour", bars)
