"""The dashboard's main flows in a real Chromium against a real server and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from browser_support import PASSWORD, World, entry, ingest, login
from playwright.sync_api import expect


def test_login_refuses_a_wrong_password_then_logs_in(context: Any, world: World) -> None:
    """A wrong password shows an error on the form; the right one opens the projects page."""
    page = context.new_page()
    page.goto(world.url(f"/projects/{world.project_id}/logs"))
    assert "/login" in page.url
    page.get_by_label("Email").fill(world.member)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Back to the page asked for before logging in.
    page.wait_for_url(world.url(f"/projects/{world.project_id}/logs"))
    expect(page.get_by_role("heading", name="Logs")).to_be_visible()


def test_filter_and_search_logs_keep_state_in_the_url(context: Any, world: World) -> None:
    """Level and search filters narrow the table, live in the URL and survive Back."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs"))
    page.get_by_role("checkbox", name="ERROR").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(lambda url: "level=ERROR" in url)
    rows = page.locator("#log-rows tr")
    assert rows.count() >= 2
    for level in rows.locator(".level").all_inner_texts():
        assert level == "ERROR"
    page.get_by_label("Search message").fill('"payment failed"')
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(lambda url: "q=%22payment" in url)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Payment failed for order 1042")
    page.go_back()
    page.wait_for_url(lambda url: "q=%22payment" not in url and "level=ERROR" in url)
    expect(page.get_by_label("Search message")).to_have_value("")
    expect(page.get_by_role("checkbox", name="ERROR")).to_be_checked()
    page.goto(world.url(f"/projects/{world.project_id}/logs?extra=user_id%3Dusr_42"))
    expect(rows).to_have_count(1)


def test_load_more_appends_older_entries(context: Any, world: World) -> None:
    """ "Load more" appends the next page (keyset cursor) below the first one."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs"))
    rows = page.locator("#log-rows tr")
    first = rows.count()
    page.get_by_role("link", name="Load more").click()
    expect(rows).not_to_have_count(first)
    ids = page.locator("#log-rows tr").evaluate_all("rs => rs.map(r => r.dataset.eventId)")
    assert len(ids) == len(set(ids)) > first


def test_open_a_log_then_its_trace_and_its_issue(context: Any, world: World) -> None:
    """A row opens the detail; "Same trace id" lists the trace; "Its issue" opens the issue."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs"))
    page.get_by_role("link", name="Payment failed for order 1042").click()
    page.wait_for_url(lambda url: world.error_event in url)
    expect(page.locator("#stack-trace")).to_contain_text("CardDeclinedError(reason)")
    expect(page.locator("#log-extra")).to_contain_text("usr_42")
    page.get_by_role("link", name="Same trace id").click()
    page.wait_for_url(lambda url: "trace_id=" in url)
    rows = page.locator("#log-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("checkout started")
    page.go_back()
    page.get_by_role("link", name="Its issue").click()
    page.wait_for_url(lambda url: f"/issues/{world.issue_id}" in url)
    expect(page.locator("#issue-title")).to_contain_text("CardDeclinedError")


def test_live_tail_shows_a_newly_sent_entry(context: Any, world: World) -> None:
    """With live tail on, an entry sent through ingest appears at the top without reload."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs"))
    page.get_by_role("button", name="Live tail").click()
    expect(page.locator("#live-tail")).to_have_attribute("aria-pressed", "true")
    message = f"tail probe {uuid.uuid4().hex}"
    ingest(world, world.api_key, [entry(message=message, service="tail-test")])
    fresh = page.locator("#log-rows tr").first
    expect(fresh).to_contain_text(message, timeout=20_000)
    page.get_by_role("button", name="Live tail").click()
    expect(page.locator("#live-tail")).to_have_attribute("aria-pressed", "false")


def test_open_an_issue_and_resolve_it(context: Any, world: World) -> None:
    """A member opens an issue from the list and resolves it; it moves to the Resolved tab."""
    kind = f"ResolveMe{uuid.uuid4().hex[:8]}Error"
    ingest(world, world.api_key, [entry(
        level="ERROR", message="to be resolved", error_type=kind, error_message="boom",
        stack_trace=f"Traceback (most recent call last):\n  File \"x.py\", line 1\n{kind}: boom",
    )])  # fmt: skip
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    page.get_by_role("link", name=kind).click()
    expect(page.locator("#issue-status")).to_have_text("Open")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#issue-status")).to_have_text("Resolved")
    expect(page.get_by_role("status")).to_contain_text("Issue updated")
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    expect(page.get_by_role("link", name=kind)).to_have_count(0)
    page.get_by_role("link", name="Resolved").click()
    expect(page.get_by_role("link", name=kind)).to_be_visible()


def _ingest_status(world: World, key: str) -> int:
    resp = httpx.post(
        world.url("/api/v1/ingest"), json=[entry(message="key check")],
        headers={"X-API-Key": key}, timeout=30,
    )  # fmt: skip
    return resp.status_code


def test_create_and_revoke_an_api_key(context: Any, world: World) -> None:
    """A new key is shown once with an SDK snippet, works for ingest, and stops when revoked."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/settings"))
    name = f"ci-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Key name").fill(name)
    page.get_by_role("button", name="Create API key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("th_")
    expect(page.locator("#sdk-snippet")).to_contain_text(f'api_key="{key}"')
    assert _ingest_status(world, key) == 202
    page.goto(world.url(f"/projects/{world.project_id}/settings"))
    assert key not in page.content(), "the key is shown only once"
    row = page.locator("#keys tr", has_text=name)
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("#keys tr", has_text=name)).to_contain_text("revoked")
    deadline = time.monotonic() + 20  # the ingest API caches keys for a few seconds
    while _ingest_status(world, key) == 202 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ingest_status(world, key) in (401, 403)


def test_viewer_sees_everything_read_only(context: Any, world: World) -> None:
    """A viewer reads logs, issues and settings but gets no buttons, and a forced POST is 403."""
    page = login(context, world, world.viewer)
    page.goto(world.url(f"/projects/{world.project_id}/issues/{world.issue_id}"))
    expect(page.locator("#issue-title")).to_be_visible()
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    expect(page.locator("#assignee")).to_have_count(0)
    page.goto(world.url(f"/projects/{world.project_id}/settings"))
    expect(page.get_by_role("button", name="Create API key")).to_have_count(0)
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    expect(page.locator("#keys")).to_contain_text("harness")
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    resp = page.request.post(
        world.url(f"/projects/{world.project_id}/issues/{world.issue_id}/status"),
        form={"csrf_token": csrf or "", "status": "RESOLVED"},
        max_redirects=0,
    )
    assert resp.status == 403
    page.goto(world.url(f"/projects/{world.project_id}/issues/{world.issue_id}"))
    expect(page.locator("#issue-status")).not_to_have_text("Resolved")


def test_dark_mode_follows_the_system_preference(browser: Any, world: World) -> None:
    """With prefers-color-scheme: dark the pages switch to the dark palette."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    try:
        page = login(ctx, world, world.admin)
        page.goto(world.url(f"/projects/{world.project_id}"))
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 18, 24)"
    finally:
        ctx.close()


def test_keyboard_focus_is_visible(context: Any, world: World) -> None:
    """Tabbing from the top reaches the skip link first, drawn with a visible outline."""
    page = login(context, world, world.admin)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.textContent, getComputedStyle(document.activeElement)"
        ".outlineStyle]"
    )
    assert focused == ["Skip to content", "solid"]
