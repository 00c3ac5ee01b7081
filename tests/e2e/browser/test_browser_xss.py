"""Attacker-controlled values (message, extra, service, module...) never execute in the UI."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import XSS_VALUES, Dialogs, World, login
from playwright.sync_api import expect

PAGES = [
    "/",
    "/projects/{p}",
    "/projects/{p}/logs",
    "/projects/{p}/logs?q=window",
    "/projects/{p}/logs/{hostile}",
    "/projects/{p}/issues",
]


def _assert_inert(page: Any, dialogs: Dialogs) -> None:
    assert page.evaluate("() => window.__xss") is None
    assert dialogs.seen == []
    assert page.locator("img[src='x']").count() == 0


@pytest.mark.parametrize("path", PAGES)
def test_hostile_values_show_literally_and_never_run(
    context: Any, world: World, dialogs: Dialogs, path: str
) -> None:
    """Pages listing the hostile entry show its text as text; no script or handler runs."""
    page = login(context, world, world.admin)
    page.goto(world.url(path.format(p=world.project_id, hostile=world.hostile_event)))
    page.wait_for_load_state("load")
    _assert_inert(page, dialogs)
    if path == "/projects/{p}/logs":
        expect(page.locator("#log-rows")).to_contain_text(XSS_VALUES["script"])
        expect(page.locator("#log-rows")).to_contain_text(XSS_VALUES["img"])


def test_hostile_log_detail_shows_every_field_as_text(
    context: Any, world: World, dialogs: Dialogs
) -> None:
    """Message, service, module, extra keys and values and the trace link stay inert text."""
    page = login(context, world, world.admin)
    page.goto(world.url(f"/projects/{world.project_id}/logs/{world.hostile_event}"))
    expect(page.locator("#log-message")).to_contain_text(XSS_VALUES["script"])
    expect(page.locator("#log-message")).to_contain_text(XSS_VALUES["js_link"])
    expect(page.locator("#log-service")).to_have_text(XSS_VALUES["img"])
    expect(page.locator("#log-module")).to_have_text(XSS_VALUES["script"])
    expect(page.locator("#log-extra")).to_contain_text(XSS_VALUES["img"])
    expect(page.locator("#log-extra")).to_contain_text(XSS_VALUES["js_link"])
    expect(page.locator("#stack-trace")).to_have_text(XSS_VALUES["script"])
    for href in page.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
        assert not (href or "").lower().startswith("javascript:"), href
    _assert_inert(page, dialogs)
    # Following the trace link (a javascript: trace id) only filters the explorer.
    page.get_by_role("link", name="Same trace id").click()
    page.wait_for_url(lambda url: url.startswith(world.base_url) and "trace_id=" in url)
    expect(page.get_by_label("Trace id")).to_have_value(XSS_VALUES["js_link"])
    _assert_inert(page, dialogs)


def test_hostile_issue_detail_is_inert(context: Any, world: World, dialogs: Dialogs) -> None:
    """The issue grouped from the hostile entry shows its title and trace as plain text."""
    page = login(context, world, world.admin)
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    page.get_by_role("link", name="XssProbe").first.click()
    expect(page.locator("#issue-title")).to_contain_text("XssProbe")
    expect(page.locator("pre.stack")).to_have_text(XSS_VALUES["script"])
    _assert_inert(page, dialogs)
