"""Accessibility: axe-core finds no WCAG 2.1 A/AA violation on any page, phone or desktop.

axe-core comes from npm into the ignored ``.axe/`` folder (``make axe``, part of ``make
test``); the test loads it into the page itself, the product never ships or loads it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from browser_support import World, login, run_async
from playwright.sync_api import expect

from tracehub_server.storage import projects as project_store

_REPO = Path(__file__).resolve().parents[3]
AXE = _REPO / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
#: The rules axe groups as WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = ((390, 844), (1400, 900))


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe.min.js, installed on first use when npm is there (CI: ``make test`` did already)."""
    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "install", "--silent", "--no-save", "--no-audit", "--no-fund",
             "--prefix", str(AXE.parents[2]), f"axe-core@{AXE_VERSION}"],
            check=False, timeout=300,
        )  # fmt: skip
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: run `make axe`")
        pytest.skip(f"{AXE} is missing: run `make axe`")
    return AXE.read_text(encoding="utf-8")


def _violations(page: Any, axe: str) -> list[str]:
    page.evaluate(axe)
    found = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})
            .then(r => r.violations.map(v => v.id + ' (' + v.impact + '): ' +
                v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' +
                    JSON.stringify((n.any[0] || n.all[0] || n.none[0] || {}).data || '')
                ).join(' | ')))""",
        WCAG_TAGS,
    )
    return list(found)


async def _empty_project(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return (await project_store.create_project(conn, f"a11y-{uuid.uuid4().hex[:6]}")).id
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def empty_project(world: World, migrated_database_url: str) -> int:
    """A project without events, whose overview is the onboarding page."""
    return run_async(_empty_project(migrated_database_url))


def _pages(world: World, empty_project: int) -> list[str]:
    pid = world.project_id
    return [
        f"/projects/{empty_project}",
        "/",
        f"/projects/{pid}",
        f"/projects/{pid}/logs",
        f"/projects/{pid}/logs?level=ERROR&q=payment",
        f"/projects/{pid}/logs/{world.error_event}",
        f"/projects/{pid}/issues",
        f"/projects/{pid}/issues?status=",
        f"/projects/{pid}/issues/{world.issue_id}",
        f"/projects/{pid}/settings",
        "/account",
        "/admin/users",
        "/admin/audit",
        "/logout",
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_wcag_violations_on_any_page(
    browser: Any, world: World, axe_source: str, scheme: str, empty_project: int
) -> None:
    """Every page at 390 px and 1,400 px, in light and dark mode, passes axe's WCAG 2.1 AA."""
    found: dict[str, list[str]] = {}
    for width, height in VIEWPORTS:
        ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
        try:
            page = login(ctx, world, world.admin)
            for path in _pages(world, empty_project):
                page.goto(world.url(path))
                if v := _violations(page, axe_source):
                    found[f"{width} {path}"] = v
            page.context.clear_cookies()
            page.goto(world.url("/login"))
            if v := _violations(page, axe_source):
                found[f"{width} /login"] = v
        finally:
            ctx.close()
    report = _REPO / "test-artifacts" / f"axe-{scheme}.json"
    report.unlink(missing_ok=True)
    if found:  # the whole list, for fixing (the assertion message is cut)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(found, indent=1), encoding="utf-8")
    assert found == {}, found


def test_filters_tabs_and_issue_actions_work_from_the_keyboard(context: Any, world: World) -> None:
    """Tab reaches the level filters, Space checks one, Enter applies; live tail toggles with
    Enter; an issue tab and a status button are reached and used with the keyboard alone."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/logs"))
    page.get_by_role("checkbox", name="WARN").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="WARN")).to_be_checked()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.get_by_role("button", name="Apply filters").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "level=WARN" in url)
    page.get_by_role("button", name="Live tail").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#live-tail")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#live-tail")).to_have_attribute("aria-pressed", "false")
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    page.get_by_role("link", name="All", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith("status="))
    page.goto(world.url(f"/projects/{world.project_id}/issues/{world.issue_id}"))
    button = page.get_by_role("button", name="Start progress")
    button.focus()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("#issue-status")).to_have_text("In Progress")
    page.get_by_role("button", name="Reopen").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#issue-status")).to_have_text("Open")
