"""The settings page's rename form: admins only, CSRF, escaping, duplicates explained."""

from __future__ import annotations

import secrets

import asyncpg
import httpx
import pytest
from pages_support import Seed

from tracehub_server.storage import projects as project_store

Client = tuple[httpx.AsyncClient, str]


@pytest.fixture
async def project_id(pool: asyncpg.Pool) -> int:
    """A project of this test only (the seeded ones keep their names for other tests)."""
    async with pool.acquire() as conn:
        return (await project_store.create_project(conn, f"pg-{secrets.token_hex(4)}")).id


async def test_admin_renames_and_the_name_shows_escaped(as_admin: Client, project_id: int) -> None:
    """A hostile name is stored as typed and shown as text on the settings page."""
    client, csrf = as_admin
    base = f"/projects/{project_id}/settings"
    hostile = f'<img src=x onerror=alert(1)> "{secrets.token_hex(3)}'
    resp = await client.post(base + "/name", data={"csrf_token": csrf, "name": hostile})
    assert resp.status_code == 303
    page = await client.get(resp.headers["location"])
    assert "Project renamed." in page.text
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text


async def test_duplicate_and_invalid_names_are_explained(
    as_admin: Client, project_id: int, seed: Seed
) -> None:
    """A taken name answers 409 with a clear message and keeps what was typed."""
    client, csrf = as_admin
    base = f"/projects/{project_id}/settings/name"
    dup = await client.post(base, data={"csrf_token": csrf, "name": "pages-shop"})
    assert dup.status_code == 409
    assert "Another project already has that name" in dup.text
    assert 'value="pages-shop"' in dup.text
    for bad in ("", "x" * 101, "a\tb"):
        resp = await client.post(base, data={"csrf_token": csrf, "name": bad})
        assert resp.status_code == 400
        assert "The name was not changed" in resp.text


async def test_rename_needs_csrf_and_admin(
    as_admin: Client, as_member: Client, seed: Seed, project_id: int
) -> None:
    """No token, a wrong token, or a member's valid token: refused, name unchanged."""
    admin, _ = as_admin
    member, member_csrf = as_member
    base = f"/projects/{project_id}/settings/name"
    assert (await admin.post(base, data={"name": "no-token"})).status_code == 403
    assert (await admin.post(base, data={"csrf_token": "x", "name": "bad"})).status_code == 403
    own = f"/projects/{seed.project_id}/settings"
    refused = await member.post(own + "/name", data={"csrf_token": member_csrf, "name": "m"})
    assert refused.status_code == 403
    page = await member.get(own)
    assert 'id="rename-form"' not in page.text
    assert (await admin.get(f"/projects/{project_id}/settings")).text.count("rename-form") == 1


async def test_oversized_rename_form_is_refused(as_admin: Client, project_id: int) -> None:
    """A form body over the cap is refused with 413 before it is parsed."""
    client, csrf = as_admin
    resp = await client.post(
        f"/projects/{project_id}/settings/name",
        data={"csrf_token": csrf, "name": "x" * 70_000},
    )
    assert resp.status_code == 413
