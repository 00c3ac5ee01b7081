"""Team features: invitations, deactivating a user, descriptions, deleting a project, audit."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
from browser_support import World, login, run_async
from playwright.sync_api import expect

from tracehub_server.storage import projects as project_store


def test_invite_join_deactivate_and_audit(browser: Any, world: World) -> None:
    """An admin's one-time link lets a new person join as viewer and land in the project;
    the link works once; deactivating them ends their session at once; the audit shows it."""
    email = f"invitee-{uuid.uuid4().hex[:6]}@example.com"
    admin_ctx = browser.new_context()
    guest_ctx = browser.new_context()
    try:
        admin = login(admin_ctx, world, world.admin)
        admin.goto(world.url(f"/projects/{world.project_id}/settings"))
        admin.get_by_label("Email to invite").fill(email)
        admin.get_by_label("Invited role").select_option("viewer")
        admin.get_by_role("button", name="Make invitation link").click()
        link = admin.locator("#invite-link").inner_text()
        assert "/invite/thi_" in link

        guest = guest_ctx.new_page()
        guest.goto(link)
        guest.get_by_label("Choose a password").fill("a-long-invitee-password")
        guest.get_by_role("button", name="Set password and join").click()
        guest.wait_for_url(world.url(f"/projects/{world.project_id}"))
        assert httpx.get(link, timeout=10).status_code == 404  # used up

        admin.goto(world.url(f"/projects/{world.project_id}/settings"))
        expect(admin.locator("#invitation-list tr", has_text=email)).to_contain_text("accepted")
        admin.goto(world.url("/admin/users"))
        admin.get_by_role("button", name=f"Deactivate {email}").click()
        expect(admin.get_by_role("status").first).to_contain_text("sessions and tokens")
        guest.goto(world.url(f"/projects/{world.project_id}/logs"))
        assert "/login" in guest.url

        admin.goto(world.url("/admin/audit"))
        audit = admin.locator("#audit")
        expect(audit).to_contain_text("invitation.created")
        expect(audit).to_contain_text("invitation.accepted")
        # Other tests of the session share this audit trail: find this invitee's row.
        expect(
            audit.locator("tr", has_text="user.deactivated").filter(has_text=email)
        ).to_have_count(1)
    finally:
        admin_ctx.close()
        guest_ctx.close()


def test_revoked_invitation_link_stops_working(context: Any, world: World) -> None:
    """A revoked invitation's link answers 404."""
    admin = login(context, world, world.admin)
    admin.goto(world.url(f"/projects/{world.project_id}/settings"))
    email = f"never-{uuid.uuid4().hex[:6]}@example.com"
    admin.get_by_label("Email to invite").fill(email)
    admin.get_by_role("button", name="Make invitation link").click()
    link = admin.locator("#invite-link").inner_text()
    admin.goto(world.url(f"/projects/{world.project_id}/settings"))
    admin.get_by_role("button", name=f"Revoke invitation for {email}").click()
    expect(admin.get_by_role("status").first).to_contain_text("Invitation revoked")
    assert httpx.get(link, timeout=10).status_code == 404


async def _project(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        project = await project_store.create_project(conn, f"doomed-{uuid.uuid4().hex[:6]}")
        return project.id, project.name
    finally:
        await conn.close()


def test_describe_then_delete_a_project_by_typing_its_name(
    context: Any, world: World, migrated_database_url: str
) -> None:
    """The description shows on the projects list; a wrong name deletes nothing, the right
    one deletes the project."""
    pid, name = run_async(_project(migrated_database_url))
    admin = login(context, world, world.admin)
    admin.goto(world.url(f"/projects/{pid}/settings"))
    admin.get_by_label("Description", exact=True).fill("Checkout service, owned by team Pay")
    admin.get_by_role("button", name="Save description").click()
    expect(admin.locator("#project-description")).to_have_text(
        "Checkout service, owned by team Pay"
    )
    admin.goto(world.url("/"))
    expect(admin.locator("a.project-card", has_text=name)).to_contain_text("owned by team Pay")
    admin.goto(world.url(f"/projects/{pid}/settings"))
    admin.get_by_label(f"Type {name} to confirm").fill(name + "x")
    admin.get_by_role("button", name="Delete project").click()
    expect(admin.get_by_role("status").first).to_contain_text("Nothing deleted")
    admin.get_by_label(f"Type {name} to confirm").fill(name)
    admin.get_by_role("button", name="Delete project").click()
    admin.wait_for_url(lambda url: url.endswith("/?done=project-deleted"))
    expect(admin.locator("a.project-card", has_text=name)).to_have_count(0)
    assert admin.goto(world.url(f"/projects/{pid}")).status == 404
