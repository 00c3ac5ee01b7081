"""The Alerts page in a real Chromium: create, edit, disable, test-send, history, viewer."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

import httpx
from alerts_support import webhook_receiver
from browser_support import World, entry, ingest, login, screenshot
from playwright.sync_api import expect


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alerts(world: World) -> str:
    return world.url(f"/projects/{world.project_id}/settings/alerts")


def test_member_sets_up_alerts_and_sees_the_history(context: Any, world: World) -> None:
    """Add a channel, test it (ok and failing), add/edit/disable a rule, see a delivery."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/settings"))
    page.locator("#alerts-link").click()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    tag = uuid.uuid4().hex[:6]
    with webhook_receiver() as receiver:
        page.get_by_label("Name", exact=True).first.fill(f"hook-{tag}")
        page.get_by_label("URL or email addresses").fill(receiver.url)
        page.get_by_role("button", name="Add channel").click()
        expect(page.get_by_role("status").first).to_contain_text("Channel added")
        page.get_by_role("button", name=f"Send test notification to hook-{tag}").click()
        expect(page.locator("#test-result")).to_contain_text("delivered")
        expect(page.locator("#test-result")).to_contain_text("HTTP 200: accepted")
        assert receiver.received[-1].json()["kind"] == "test"

        page.locator("#channel-form #channel-name").fill(f"broken-{tag}")
        page.get_by_label("URL or email addresses").fill(f"http://127.0.0.1:{_closed_port()}/x")
        page.get_by_role("button", name="Add channel").click()
        page.get_by_role("button", name=f"Send test notification to broken-{tag}").click()
        expect(page.locator("#test-result")).to_contain_text("failed")
        expect(page.locator("#test-result")).to_contain_text("ConnectError")

        form = page.locator("#rule-form")
        form.get_by_label("Name").fill(f"new issues {tag}")
        form.get_by_label("When").select_option("new_issue")
        form.get_by_label(f"hook-{tag}").check()
        form.get_by_role("button", name="Add rule").click()
        row = page.locator("#rule-table tr", has_text=f"new issues {tag}")
        expect(row).to_contain_text("enabled")

        row.get_by_role("link", name=f"Edit rule new issues {tag}").click()
        form.get_by_label("Name").fill(f"every new issue {tag}")
        form.get_by_label("Level at or above").select_option("ERROR")
        form.get_by_role("button", name="Save rule").click()
        row = page.locator("#rule-table tr", has_text=f"every new issue {tag}")
        expect(row).to_contain_text("level ERROR, FATAL")

        ingest(world, world.api_key, [entry(
            level="ERROR", message=f"boom {tag}", error_type=f"Boom{tag}Error",
            error_message="exploded", stack_trace=(
                "Traceback (most recent call last):\n"
                f'  File "/srv/app/shop/alerts_{tag}.py", line 3, in run\n'
                f"Boom{tag}Error: exploded\n"),
        )])  # fmt: skip
        history = page.locator("#history-table tr", has_text=f"Boom{tag}Error")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and history.filter(has_text="sent").count() == 0:
            time.sleep(0.5)
            page.reload()
        expect(history.first).to_contain_text("sent")
        expect(history.first).to_contain_text("HTTP 200: accepted")
        assert any(r.json().get("kind") == "new_issue" for r in receiver.received)
        screenshot(page, "alerts")

        row.get_by_role("button", name=f"Disable rule every new issue {tag}").click()
        expect(page.locator("#rule-table tr", has_text=f"every new issue {tag}")).to_contain_text(
            "disabled"
        )


def test_invalid_rule_shows_the_error_and_keeps_the_input(context: Any, world: World) -> None:
    """A frequency rule without a threshold is refused with the field named."""
    page = login(context, world, world.member)
    page.goto(_alerts(world))
    form = page.locator("#rule-form")
    form.get_by_label("Name").fill("too vague")
    form.get_by_label("When").select_option("frequency")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator("#alerts-error")).to_contain_text("threshold")
    expect(form.get_by_label("Name")).to_have_value("too vague")


def test_viewer_sees_alerts_but_cannot_change_them(context: Any, world: World) -> None:
    """No forms or buttons for a viewer, and a forged POST is refused with 403."""
    page = login(context, world, world.viewer)
    page.goto(_alerts(world))
    expect(page.get_by_role("heading", name="Rules")).to_be_visible()
    expect(page.locator("#rule-form")).to_have_count(0)
    expect(page.locator("#channel-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Disable")).to_have_count(0)
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    response = httpx.post(
        _alerts(world) + "/channels",
        data={"name": "x", "kind": "webhook", "target": "http://127.0.0.1:9/", "csrf_token": "x"},
        cookies=cookies,
    )
    assert response.status_code == 403


def test_member_mutes_and_unmutes_an_issue(context: Any, world: World) -> None:
    """Snooze an issue for 24 h from the page: it is listed with its time, then unmuted."""
    page = login(context, world, world.member)
    page.goto(_alerts(world))
    page.get_by_label("Issue number").fill(str(world.issue_id))
    page.get_by_label("For", exact=True).select_option("24h")
    page.get_by_role("button", name="Mute", exact=True).click()
    row = page.locator(f"#mute-table tr[data-issue-id='{world.issue_id}']")
    expect(row).to_be_visible()
    row.get_by_role("button", name=f"Unmute issue {world.issue_id}").click()
    expect(page.locator(f"#mute-table tr[data-issue-id='{world.issue_id}']")).to_have_count(0)
    page.get_by_label("Issue number").fill("999999999")
    page.get_by_role("button", name="Mute", exact=True).click()
    expect(page.locator("#alerts-error")).to_contain_text("not an issue of this project")
