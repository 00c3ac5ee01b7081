"""The first five minutes: an empty project shows how to send the first event, then the overview."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import asyncpg
from browser_support import World, login, run_async, screenshot
from playwright.sync_api import expect

from tracehub_server.storage import projects as project_store


async def _empty_project(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        project = await project_store.create_project(conn, f"first-{uuid.uuid4().hex[:6]}")
        return project.id, project.name
    finally:
        await conn.close()


def test_empty_project_onboards_the_first_event(
    context: Any, world: World, migrated_database_url: str
) -> None:
    """The snippets carry this server and a new key; the curl command's entry turns the
    waiting page into the overview without a reload by the user."""
    project_id, name = run_async(_empty_project(migrated_database_url))
    page = login(context, world, world.admin)
    page.goto(world.url(f"/projects/{project_id}"))
    expect(page.get_by_role("status").first).to_contain_text("Waiting for the first event")
    expect(page.locator("#endpoint")).to_have_text(world.base_url)
    page.get_by_role("button", name="Create an API key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("th_")
    expect(page.locator("#python-snippet")).to_contain_text(f'api_key="{key}"')
    expect(page.locator("#otel-snippet")).to_contain_text(f"{world.base_url}/v1/logs")
    expect(page.locator("#otel-snippet")).to_contain_text(f"x-api-key={key}")
    host = world.base_url.removeprefix("http://")
    expect(page.locator("#sentry-snippet")).to_contain_text(f"http://{key}@{host}/{project_id}")
    screenshot(page, "onboarding")
    curl = page.locator("#curl-snippet").inner_text()
    assert world.base_url in curl
    sent = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
    assert '"accepted":1' in sent.stdout.replace(" ", ""), sent.stdout + sent.stderr
    expect(page.get_by_role("heading", name="Log volume by level")).to_be_visible(timeout=20_000)
    assert page.url == world.url(f"/projects/{project_id}")
    assert name in page.title()
