"""/api/v1/projects, keys, members, users and tokens: each role's rights."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from query_api_support import World


async def test_projects_list_shows_only_readable_with_role(client, world: World) -> None:
    """A member lists A with role member and never B; an admin sees both."""
    mine = (await client.get("/api/v1/projects", headers=world.member.bearer)).json()
    assert {(p["id"], p["role"]) for p in mine} == {(world.a, "member")}
    every = (await client.get("/api/v1/projects", headers=world.admin.bearer)).json()
    assert {world.a, world.b} <= {p["id"] for p in every}


async def test_only_admins_create_projects(client, world: World) -> None:
    """POST /projects: admin 201, duplicate 409, bad name 422, member 403."""
    name = f"new-{secrets.token_hex(4)}"
    r = await client.post("/api/v1/projects", json={"name": name}, headers=world.admin.bearer)
    assert r.status_code == 201
    r = await client.post("/api/v1/projects", json={"name": name}, headers=world.admin.bearer)
    assert r.status_code == 409
    for bad in ("", "x" * 101, "tab\there"):
        r = await client.post("/api/v1/projects", json={"name": bad}, headers=world.admin.bearer)
        assert r.status_code == 422
    r = await client.post("/api/v1/projects", json={"name": "m"}, headers=world.member.bearer)
    assert r.status_code == 403


async def test_member_manages_keys_and_key_is_shown_once(client, world: World) -> None:
    """A member creates a key (plaintext once), sees only its prefix after, and revokes it."""
    url = f"/api/v1/projects/{world.a}/keys"
    r = await client.post(url, json={"name": "ci"}, headers=world.member.bearer)
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("th_")
    listed = (await client.get(url, headers=world.viewer.bearer)).json()
    assert all("key" not in k for k in listed)
    assert created["prefix"] in {k["prefix"] for k in listed}
    r = await client.delete(f"{url}/{created['id']}", headers=world.member.bearer)
    assert r.status_code == 204
    listed = (await client.get(url, headers=world.member.bearer)).json()
    assert next(k for k in listed if k["id"] == created["id"])["revoked_at"]


async def test_viewer_and_outsider_cannot_manage_keys(client, world: World) -> None:
    """Viewer: 403 on create and revoke; outsider: 404 on list and create."""
    url = f"/api/v1/projects/{world.a}/keys"
    assert (await client.post(url, json={}, headers=world.viewer.bearer)).status_code == 403
    assert (await client.delete(f"{url}/1", headers=world.viewer.bearer)).status_code == 403
    assert (await client.get(url, headers=world.outsider.bearer)).status_code == 404
    assert (await client.post(url, json={}, headers=world.outsider.bearer)).status_code == 404


async def test_revoking_a_key_of_another_project_by_url_is_404(client, world: World) -> None:
    """B's key id under A's URL is not found, and stays valid."""
    r = await client.post(
        f"/api/v1/projects/{world.b}/keys", json={}, headers=world.outsider.bearer
    )
    key_id = r.json()["id"]
    r = await client.delete(
        f"/api/v1/projects/{world.a}/keys/{key_id}", headers=world.member.bearer
    )
    assert r.status_code == 404
    keys = (await client.get(f"/api/v1/projects/{world.b}/keys", headers=world.admin.bearer)).json()
    assert next(k for k in keys if k["id"] == key_id)["revoked_at"] is None


async def test_members_endpoints(client, world: World) -> None:
    """Readers list members; only admins put and delete them."""
    url = f"/api/v1/projects/{world.a}/members"
    listed = (await client.get(url, headers=world.viewer.bearer)).json()
    assert {m["email"]: m["role"] for m in listed} == {
        world.member.email: "member",
        world.viewer.email: "viewer",
    }
    r = await client.put(
        f"{url}/{world.outsider.id}", json={"role": "viewer"}, headers=world.member.bearer
    )
    assert r.status_code == 403
    r = await client.put(
        f"{url}/{world.outsider.id}", json={"role": "owner"}, headers=world.admin.bearer
    )
    assert r.status_code == 422
    r = await client.put(
        f"{url}/{world.outsider.id}", json={"role": "viewer"}, headers=world.admin.bearer
    )
    assert r.status_code == 200
    r = await client.get(f"/api/v1/projects/{world.a}", headers=world.outsider.bearer)
    assert r.json()["role"] == "viewer"
    assert (
        await client.delete(f"{url}/{world.outsider.id}", headers=world.admin.bearer)
    ).status_code == 204
    assert (
        await client.delete(f"{url}/{world.outsider.id}", headers=world.admin.bearer)
    ).status_code == 404
    r = await client.get(f"/api/v1/projects/{world.a}", headers=world.outsider.bearer)
    assert r.status_code == 404


async def test_users_are_admin_only(client, world: World) -> None:
    """Admins list and create users; duplicates 409, bad email/password 422; others 403."""
    email = f"New-{secrets.token_hex(4)}@Example.com"
    body = {"email": email, "password": "long enough pw"}
    assert (await client.get("/api/v1/users", headers=world.member.bearer)).status_code == 403
    assert (
        await client.post("/api/v1/users", json=body, headers=world.member.bearer)
    ).status_code == 403
    r = await client.post("/api/v1/users", json=body, headers=world.admin.bearer)
    assert r.status_code == 201
    assert r.json()["email"] == email.lower()
    assert (
        await client.post("/api/v1/users", json=body, headers=world.admin.bearer)
    ).status_code == 409
    for bad, param in (({"email": "nope", "password": "long enough"}, "email"),
                       ({"email": "a@b.c", "password": "short"}, "password")):  # fmt: skip
        r = await client.post("/api/v1/users", json=bad, headers=world.admin.bearer)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"][-1] == param
    listed = (await client.get("/api/v1/users", headers=world.admin.bearer)).json()
    assert email.lower() in {u["email"] for u in listed}


async def test_tokens_lifecycle_and_revocation(client, world: World) -> None:
    """A token created via the API works, is listed by prefix, and stops working once revoked."""
    session = {
        "Cookie": f"tracehub_session={world.viewer.session}",
        "X-CSRF-Token": world.viewer.csrf,
    }
    r = await client.post("/api/v1/tokens", json={"name": "cli"}, headers=session)
    assert r.status_code == 201
    token = r.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/projects", headers=headers)).status_code == 200
    listed = (await client.get("/api/v1/tokens", headers=headers)).json()
    assert r.json()["prefix"] in {t["prefix"] for t in listed}
    r2 = await client.delete(f"/api/v1/tokens/{r.json()['id']}", headers=world.member.bearer)
    assert r2.status_code == 404  # someone else's token
    assert (
        await client.delete(f"/api/v1/tokens/{r.json()['id']}", headers=headers)
    ).status_code == 204
    assert (await client.get("/api/v1/projects", headers=headers)).status_code == 401


@pytest.mark.parametrize("body", [{"name": "x" * 300}, {"expires_in_days": 0}, {"name": "a\x00"}])
async def test_bad_token_requests_are_422(client, world: World, body) -> None:
    """Over-long or control-character names and bad expiries give 422."""
    session = {
        "Cookie": f"tracehub_session={world.member.session}",
        "X-CSRF-Token": world.member.csrf,
    }
    r = await client.post("/api/v1/tokens", json=body, headers=session)
    assert r.status_code == 422


async def test_concurrent_key_creation(client, world: World) -> None:
    """Ten parallel key creations give ten distinct keys."""
    url = f"/api/v1/projects/{world.a}/keys"
    results = await asyncio.gather(
        *(client.post(url, json={"name": f"k{i}"}, headers=world.member.bearer) for i in range(10))
    )
    assert len({r.json()["key"] for r in results}) == 10
