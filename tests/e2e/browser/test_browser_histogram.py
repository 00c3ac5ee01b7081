"""The logs explorer's volume histogram: stacked by level, drag or a bar to zoom, URL kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from browser_support import World, login
from playwright.sync_api import expect


def _range(url: str) -> tuple[datetime, datetime]:
    query = parse_qs(urlsplit(url).query)
    return datetime.fromisoformat(query["since"][0]), datetime.fromisoformat(query["until"][0])


def test_drag_across_the_histogram_zooms_and_the_url_keeps_it(context: Any, world: World) -> None:
    """Dragging over the middle of the chart narrows since/until in the URL; the filters stay."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs?since=24h&service=web"))
    chart = page.locator("#histogram svg.chart-wide")
    expect(chart).to_be_visible()
    assert chart.locator("rect.lv-info").count() > 0
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=5)
    page.mouse.up()
    page.wait_for_url(lambda url: "until=" in url)
    since, until = _range(page.url)
    assert 0 < (until - since).total_seconds() < 24 * 3600 * 0.6
    assert "service=web" in page.url
    expect(page.locator("#histogram svg.chart-wide")).to_be_visible()
    expect(page.get_by_label("Service")).to_have_value("web")


def test_a_bar_is_a_keyboard_reachable_zoom_link(context: Any, world: World) -> None:
    """Each non-empty bar links to its own bucket's range (for keyboards and without JS)."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs?since=24h"))
    bar = page.locator("#histogram svg.chart-wide a").first
    bar.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "until=" in url)
    since, until = _range(page.url)
    assert (until - since).total_seconds() == 30 * 60  # 24 h in 30-minute bars
