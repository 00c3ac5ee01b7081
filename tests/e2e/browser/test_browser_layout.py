"""Layout at a phone's and a desktop's width: no page is ever wider than the window.

The data is what broke the pages before (issue 16): an ordinary ``int("x" * 300)`` error, a
200-character module name, an ``extra`` of 100 keys, and a token with a long name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from browser_support import World, entry, ingest, issue_of, login, run_async
from playwright.sync_api import expect

from tracehub_server.storage import projects as project_store

#: (width, height) of a phone (iPhone 12-15) and of a desktop window.
VIEWPORTS = ((390, 844), (1400, 900))
LONG_MESSAGE = "invalid literal for int() with base 10: '" + "x" * 300 + "'"
LONG_MODULE = "shop." + ".".join(["deeply_nested_package_name"] * 8)[:195]


@dataclass
class LongWorld:
    """A project whose data is all long: its id, an entry and the issue it made."""

    project_id: int
    event_id: str
    issue_id: int
    empty_project_id: int


async def _make_project(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        project = await project_store.create_project(conn, f"layout-{uuid.uuid4().hex[:6]}")
        _key, plaintext = await project_store.create_api_key(conn, project.id, name="layout")
        return project.id, plaintext
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def long_world(world: World, migrated_database_url: str) -> LongWorld:
    """A project (admins only, so the member's one-project landing is unchanged) of long data."""
    project_id, key = run_async(_make_project(migrated_database_url))
    now = datetime.now(timezone.utc)
    extra = {f"field_{i:03d}": f"value number {i} " * 3 for i in range(100)}
    error = entry(
        timestamp=(now - timedelta(minutes=1)).isoformat(), level="ERROR", module=LONG_MODULE,
        message=f"ValueError: {LONG_MESSAGE}", error_type="ValueError",
        error_message=LONG_MESSAGE, extra=extra,
        stack_trace='Traceback (most recent call last):\n  File "shop/cart.py", line 3, in parse'
        f"\n    int(value)\nValueError: {LONG_MESSAGE}",
    )  # fmt: skip
    others = [
        entry(
            timestamp=(now - timedelta(hours=i, minutes=5)).isoformat(),
            level=("INFO", "WARN", "DEBUG")[i % 3],
            module=LONG_MODULE,
            message=f"request {i} " + "y" * 250,
            extra=extra,
        )
        for i in range(30)
    ]
    ingest(world, key, [error, *others])
    issue_id = run_async(issue_of(migrated_database_url, error["event_id"]))
    empty_id, _key = run_async(_make_project(migrated_database_url))
    return LongWorld(
        project_id=project_id,
        event_id=error["event_id"],
        issue_id=issue_id,
        empty_project_id=empty_id,
    )


def _pages(world: World, lw: LongWorld) -> list[str]:
    base = f"/projects/{lw.project_id}"
    return [
        "/",
        base,
        f"{base}?range=7d",
        f"{base}/logs",
        f"{base}/logs/{lw.event_id}",
        f"{base}/issues",
        f"{base}/issues?status=",
        f"{base}/issues/{lw.issue_id}",
        f"{base}/settings",
        f"/projects/{lw.empty_project_id}",
        f"/projects/{world.project_id}/logs",
        f"/projects/{world.project_id}/issues/{world.issue_id}",
        "/account",
        "/admin/users",
        "/admin/audit",
        "/logout",
    ]


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def test_no_page_is_wider_than_the_window(
    browser: Any, world: World, long_world: LongWorld
) -> None:
    """Every page at 390 px and 1,400 px fits its window, whatever the length of the data."""
    too_wide: list[tuple[int, str, int]] = []
    for width, height in VIEWPORTS:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = login(ctx, world, world.admin)
            page.goto(world.url("/account"))
            page.get_by_label("Name").fill("ci-export-" + "z" * 150)
            page.get_by_role("button", name="Create token").click()
            expect(page.locator("#new-token")).to_be_visible()
            for path in _pages(world, long_world):
                page.goto(world.url(path))
                if excess := _overflow(page):
                    too_wide.append((width, path, excess))
            page.context.clear_cookies()
            page.goto(world.url("/login"))
            if excess := _overflow(page):
                too_wide.append((width, "/login", excess))
        finally:
            ctx.close()
    assert too_wide == [], too_wide


def test_long_text_is_cut_and_shown_whole_on_demand(
    browser: Any, world: World, long_world: LongWorld
) -> None:
    """The issues list keeps every column in view and the whole message is one click away."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = login(ctx, world, world.admin)
        page.goto(world.url(f"/projects/{long_world.project_id}/issues"))
        last_seen = page.locator("table[aria-label=Issues] tbody tr").first.locator("td").last
        box = last_seen.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 1400
        page.goto(world.url(f"/projects/{long_world.project_id}/issues/{long_world.issue_id}"))
        message = page.locator("#error-message")
        expect(message).to_contain_text("x" * 300)
        assert _overflow(page) == 0
    finally:
        ctx.close()


def test_phone_menu_and_folded_filters(browser: Any, world: World) -> None:
    """At 390 px the top bar's links sit behind "Menu" and the log filters start folded."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = login(ctx, world, world.member)
        page.goto(world.url(f"/projects/{world.project_id}/logs"))
        issues_link = page.get_by_role("link", name="Issues", exact=True)
        expect(issues_link).to_be_hidden()
        menu = page.get_by_role("button", name="Menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_label("Search message")).to_be_hidden()
        page.get_by_text("Filters", exact=True).click()
        expect(page.get_by_label("Search message")).to_be_visible()
        issues_link.click()
        page.wait_for_url(world.url(f"/projects/{world.project_id}/issues"))
    finally:
        ctx.close()
