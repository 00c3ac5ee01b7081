"""Saved searches: a member names the current filters, others pick them, the member deletes."""

from __future__ import annotations

import uuid
from typing import Any

from browser_support import World, login
from playwright.sync_api import expect


def test_save_pick_share_and_delete_a_search(browser: Any, world: World) -> None:
    """The saved filters come back when picked, a viewer sees them read-only, delete removes."""
    name = f"Errors {uuid.uuid4().hex[:6]}"
    member = browser.new_context(viewport={"width": 1280, "height": 800})
    viewer = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = login(member, world, world.member)
        page.goto(world.url(f"/projects/{world.project_id}/logs?level=ERROR&service=checkout"))
        page.get_by_label("Name these filters").fill(name)
        page.get_by_role("button", name="Save search").click()
        expect(page.get_by_role("status").first).to_contain_text("Search saved")
        page.goto(world.url(f"/projects/{world.project_id}/logs"))
        page.get_by_role("link", name=name).click()
        page.wait_for_url(lambda url: "level=ERROR" in url and "service=checkout" in url)
        expect(page.get_by_role("checkbox", name="ERROR")).to_be_checked()

        other = login(viewer, world, world.viewer)
        other.goto(world.url(f"/projects/{world.project_id}/logs"))
        expect(other.get_by_role("link", name=name)).to_be_visible()
        expect(other.get_by_role("button", name=f"Delete saved search {name}")).to_have_count(0)
        expect(other.get_by_role("button", name="Save search")).to_have_count(0)

        page.get_by_role("button", name=f"Delete saved search {name}").click()
        expect(page.get_by_role("status").first).to_contain_text("Saved search deleted")
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    finally:
        member.close()
        viewer.close()
