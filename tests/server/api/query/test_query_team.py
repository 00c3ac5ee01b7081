"""Team administration over JSON: delete a project, (de)activate and delete users, audit."""

from __future__ import annotations

import secrets

from query_api_support import World


async def test_admin_deletes_a_project_only_with_its_name(client, world: World) -> None:
    """Without the right confirm 422; with it 204 and the project is gone; members get 403."""
    name = f"gone-{secrets.token_hex(4)}"
    created = await client.post("/api/v1/projects", json={"name": name}, headers=world.admin.bearer)
    pid = created.json()["id"]
    url = f"/api/v1/projects/{pid}"
    r = await client.put(f"{url}/description", json={"description": "short lived"},
                         headers=world.admin.bearer)  # fmt: skip
    assert r.status_code == 204
    assert (await client.delete(url, params={"confirm": name}, headers=world.member.bearer)
            ).status_code == 403  # fmt: skip
    r = await client.delete(url, params={"confirm": "nope"}, headers=world.admin.bearer)
    assert r.status_code == 422
    r = await client.delete(url, params={"confirm": name}, headers=world.admin.bearer)
    assert r.status_code == 204
    assert (await client.get(url, headers=world.admin.bearer)).status_code == 404
    trail = (await client.get("/api/v1/audit", headers=world.admin.bearer)).json()
    assert ("project.deleted", name) in {(e["action"], e["target"]) for e in trail}


async def test_deactivated_users_token_stops_at_once(client, world: World) -> None:
    """After deactivation the outsider's token is refused; reactivating keeps it revoked;
    an admin cannot deactivate themselves."""
    me = await client.get("/api/v1/projects", headers=world.outsider.bearer)
    assert me.status_code == 200
    url = f"/api/v1/users/{world.outsider.id}"
    r = await client.post(f"{url}/deactivate", headers=world.admin.bearer)
    assert r.status_code == 204
    assert (await client.get("/api/v1/projects", headers=world.outsider.bearer)).status_code == 401
    assert (await client.post(f"{url}/reactivate", headers=world.admin.bearer)).status_code == 204
    assert (await client.get("/api/v1/projects", headers=world.outsider.bearer)).status_code == 401
    r = await client.post(f"/api/v1/users/{world.admin.id}/deactivate", headers=world.admin.bearer)
    assert r.status_code == 409
    assert (await client.get("/api/v1/audit", headers=world.member.bearer)).status_code == 403
    assert (await client.delete(url, headers=world.admin.bearer)).status_code == 204
    assert (await client.delete(url, headers=world.admin.bearer)).status_code == 404
