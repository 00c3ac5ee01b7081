"""``tracehub demo`` fills a project that tells a story; the README's screenshots show it.

``make screenshots`` (``TRACEHUB_SCREENSHOTS=1``) writes them to ``docs/screenshots/``; an
ordinary run writes them to the ignored ``test-artifacts/`` and checks the demo's story.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from browser_support import World, login, screenshot
from playwright.sync_api import expect

DEMO = "demo-shop"


@pytest.fixture(scope="module")
def demo_project(world: World, migrated_database_url: str) -> int:
    """The demo's project, filled by the real ``tracehub demo`` command."""
    done = _tracehub(migrated_database_url, "demo", "--project", DEMO)
    assert done.returncode == 0, done.stderr
    assert "regression" in done.stdout
    return int(done.stdout.split("(id ")[1].split(")")[0])


def _tracehub(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``tracehub`` command on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHUB_")}
    env["TRACEHUB_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-c", "from tracehub_server.cli import main; main()", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def _shots(page: Any, world: World, pid: int, suffix: str = "") -> None:
    base = f"/projects/{pid}"
    whole = not suffix  # a phone's screenshots show its screen, not a 4,000-pixel strip
    page.goto(world.url("/"))
    screenshot(page, "projects" + suffix, full_page=whole)
    page.goto(world.url(f"{base}?range=7d"))
    expect(page.get_by_role("heading", name="Log volume by level")).to_be_visible()
    screenshot(page, "overview" + suffix, full_page=whole)
    page.goto(world.url(f"{base}/logs?since=7d&level=WARN&level=ERROR&level=FATAL"))
    screenshot(page, "logs-explorer" + suffix, full_page=whole)
    page.goto(world.url(f"{base}/issues"))
    regression = page.locator("tr", has_text="ZeroDivisionError")
    expect(regression.locator(".badge.regression")).to_be_visible()
    screenshot(page, "issues" + suffix, full_page=whole)
    page.locator("a.issue-title", has_text="TimeoutError").click()
    expect(page.locator("#issue-title")).to_contain_text("payment gateway")
    screenshot(page, "issue-detail" + suffix, full_page=whole)
    page.get_by_role("link", name="TimeoutError: payment gateway").first.click()
    expect(page.get_by_role("link", name="Same trace id")).to_be_visible()
    screenshot(page, "log-detail" + suffix, full_page=whole)
    page.get_by_role("link", name="Same trace id").click()
    services = set(page.locator("#log-rows td.service").all_inner_texts())
    assert {"web", "payments"} <= services, services  # one trace spans the services
    page.goto(world.url(f"{base}/settings"))
    screenshot(page, "project-settings" + suffix, full_page=whole)
    if not suffix:
        page.get_by_label("Key name").fill("checkout-api production")
        page.get_by_role("button", name="Create API key").click()
        expect(page.locator("#sdk-snippet")).to_be_visible()
        screenshot(page, "api-key-created")
        page.context.clear_cookies()
        page.goto(world.url("/login"))
        screenshot(page, "login")


def test_onboarding_screenshot(context: Any, world: World, migrated_database_url: str) -> None:
    """A project made with the CLI and no events yet shows the onboarding page."""
    made = _tracehub(migrated_database_url, "project", "create", "checkout-api")
    assert made.returncode == 0, made.stderr
    pid = made.stdout.split("project id: ")[1].split()[0]
    page = login(context, world, world.admin)
    page.goto(world.url(f"/projects/{pid}"))
    expect(page.get_by_text("Waiting for the first event")).to_be_visible()
    screenshot(page, "onboarding")


def test_demo_week_tells_its_story(browser: Any, world: World, demo_project: int) -> None:
    """The demo has several error types, a regression and traces across services; the
    screenshots are taken from it at desktop and phone widths, light and dark."""
    for width, height, scheme, suffix in (
        (1280, 800, "light", ""),
        (1280, 800, "dark", "-dark"),
        (390, 844, "light", "-phone"),
    ):
        ctx = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=scheme)  # fmt: skip
        try:
            page = login(ctx, world, world.admin)
            if suffix == "-dark":
                page.goto(world.url(f"/projects/{demo_project}?range=7d"))
                screenshot(page, "overview-dark")
            else:
                _shots(page, world, demo_project, suffix)
        finally:
            ctx.close()
