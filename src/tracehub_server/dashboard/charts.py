"""Server-rendered SVG charts: log volume by level, and an issue's hourly sparkline.

Drawn in Python so the page needs no chart library and no script. Colours come from CSS
classes (``lv-error`` …), which the stylesheet sets for light and dark mode. Every label
that could carry input is escaped by :class:`~markupsafe.Markup` formatting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

#: Bottom-to-top stacking order of the volume chart.
STACK_ORDER = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bar: its start time and the count per level."""

    start: datetime
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _level_css(level: str) -> str:
    return f"lv-{level.lower()}" if level in STACK_ORDER else "lv-other"


def _label(start: datetime, hourly: bool) -> str:
    return start.strftime("%H:%M" if hourly else "%b %d")


def volume_chart(
    buckets: Sequence[Bucket], *, hourly: bool = True, width: int = 720, height: int = 180
) -> Markup:
    """A stacked bar chart of counts per level; an empty series says so instead of drawing."""
    if not buckets or all(b.total == 0 for b in buckets):
        return Markup('<p class="chart-empty">No logs in this range.</p>')
    pad_left, pad_bottom, pad_top = 44, 22, 8
    plot_w, plot_h = width - pad_left - 4, height - pad_bottom - pad_top
    peak = max(b.total for b in buckets)
    slot = plot_w / len(buckets)
    bar_w = max(slot * 0.8, 1.0)
    parts: list[Markup] = []
    for tick in (0, peak // 2, peak):
        y = pad_top + plot_h - plot_h * tick / peak
        parts.append(
            Markup(
                '<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>'
                '<text class="axis" x="{}" y="{:.1f}" text-anchor="end">{}</text>'
            ).format(pad_left, width - 4, y, y, pad_left - 6, y + 4, f"{tick:,}")
        )
    label_every = max(1, len(buckets) // 8)
    for i, bucket in enumerate(buckets):
        x = pad_left + i * slot + (slot - bar_w) / 2
        y_base = float(pad_top + plot_h)
        detail = ", ".join(f"{lv} {bucket.counts.get(lv, 0):,}" for lv in _levels(bucket))
        title = f"{bucket.start:%Y-%m-%d %H:%M} UTC: {bucket.total:,} ({detail})"
        rects: list[Markup] = []
        for level in _levels(bucket):
            count = bucket.counts.get(level, 0)
            if count <= 0:
                continue
            h = plot_h * count / peak
            y_base -= h
            rects.append(
                Markup(
                    '<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>'
                ).format(_level_css(level), x, y_base, bar_w, h)
            )
        parts.append(Markup("<g><title>{}</title>{}</g>").format(title, Markup("").join(rects)))
        if i % label_every == 0:
            parts.append(
                Markup(
                    '<text class="axis" x="{:.1f}" y="{}" text-anchor="middle">{}</text>'
                ).format(x + bar_w / 2, height - 6, _label(bucket.start, hourly))
            )
    return Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{aria}"'
        ' preserveAspectRatio="none">{body}</svg>'
    ).format(
        w=width,
        h=height,
        aria=f"Log volume by level, {len(buckets)} bars, peak {peak:,}",
        body=Markup("").join(parts),
    )


def _levels(bucket: Bucket) -> list[str]:
    known = [lv for lv in STACK_ORDER if lv in bucket.counts]
    return known + sorted(lv for lv in bucket.counts if lv not in STACK_ORDER)


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
