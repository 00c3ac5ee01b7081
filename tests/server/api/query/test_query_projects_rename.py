"""``PATCH /api/v1/projects/{id}`` and ``storage.projects.rename_project``."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from query_api_support import World

from tracehub_server.storage import projects as project_store


async def _fresh(client, world: World) -> tuple[int, str]:
    name = f"ren-{secrets.token_hex(4)}"
    r = await client.post("/api/v1/projects", json={"name": name}, headers=world.admin.bearer)
    return r.json()["id"], name


async def test_admin_renames_and_the_new_name_resolves(client, world: World) -> None:
    """The answer has the new name; ``project=<new name>`` finds it, the old name is 404."""
    pid, old = await _fresh(client, world)
    new = f"renamed-{secrets.token_hex(4)}"
    r = await client.patch(f"/api/v1/projects/{pid}", json={"name": f"  {new} "},
                           headers=world.admin.bearer)  # fmt: skip
    assert r.status_code == 200
    assert r.json()["name"] == new
    h = world.admin.bearer
    assert (await client.get("/api/v1/logs", params={"project": new}, headers=h)).status_code == 200
    assert (await client.get("/api/v1/logs", params={"project": old}, headers=h)).status_code == 404
    same = await client.patch(f"/api/v1/projects/{pid}", json={"name": new}, headers=h)
    assert same.status_code == 200  # renaming to its own name is a no-op


async def test_rename_is_admin_only_and_hides_other_projects(client, world: World) -> None:
    """A member gets 403 on their own project, and so does an outsider on A (admin route)."""
    for seat in (world.member, world.viewer, world.outsider):
        r = await client.patch(f"/api/v1/projects/{world.a}", json={"name": "mine now"},
                               headers=seat.bearer)  # fmt: skip
        assert r.status_code == 403


async def test_rename_refuses_duplicates_bad_names_and_unknown_ids(client, world: World) -> None:
    """Taken name 409; empty, too long, control characters or extra fields 422; no such id 404."""
    h = world.admin.bearer
    pid, _ = await _fresh(client, world)
    dup = await client.patch(f"/api/v1/projects/{pid}", json={"name": world.a_name}, headers=h)
    assert dup.status_code == 409
    assert "already exists" in dup.json()["detail"]
    for body in ({"name": ""}, {"name": "x" * 101}, {"name": "a\x00b"}, {"name": "tab\there"},
                 {"name": "ok", "id": 3}, {}, {"name": 5}):  # fmt: skip
        r = await client.patch(f"/api/v1/projects/{pid}", json=body, headers=h)
        assert r.status_code == 422, body
    for missing in ("999999999", str(2**63)):
        r = await client.patch(f"/api/v1/projects/{missing}", json={"name": "z"}, headers=h)
        assert r.status_code in (404, 422)
    huge = await client.patch(
        f"/api/v1/projects/{pid}", content=b'{"name": "' + b"x" * 70_000 + b'"}',
        headers={**h, "Content-Type": "application/json"},
    )  # fmt: skip
    assert huge.status_code == 413


async def test_rename_needs_csrf_with_a_cookie(client, world: World) -> None:
    """A cookie-authenticated PATCH without the CSRF header is refused."""
    client.cookies.set("tracehub_session", world.admin.session)
    try:
        r = await client.patch(f"/api/v1/projects/{world.a}", json={"name": "csrf-less"})
        assert r.status_code == 403
    finally:
        client.cookies.clear()


async def test_concurrent_renames_to_one_name_let_one_win(
    client, world: World, pool: asyncpg.Pool
) -> None:
    """Two projects renamed to the same name at once: one 200, one 409, never both."""
    (a, _), (b, _) = await _fresh(client, world), await _fresh(client, world)
    name = f"race-{secrets.token_hex(4)}"
    answers = await asyncio.gather(
        *(client.patch(f"/api/v1/projects/{p}", json={"name": name}, headers=world.admin.bearer)
          for p in (a, b))
    )  # fmt: skip
    assert sorted(r.status_code for r in answers) == [200, 409]
    async with pool.acquire() as conn:
        assert (await project_store.get_project_by_name(conn, name)) is not None


async def test_rename_project_storage_contract(pool: asyncpg.Pool) -> None:
    """None for a missing or invalid id; DuplicateProjectError names the taken name."""
    async with pool.acquire() as conn:
        taken = await project_store.create_project(conn, f"st-{secrets.token_hex(4)}")
        mine = await project_store.create_project(conn, f"st-{secrets.token_hex(4)}")
        assert await project_store.rename_project(conn, 0, "x") is None
        assert await project_store.rename_project(conn, 2**63, "x") is None
        with pytest.raises(project_store.DuplicateProjectError, match=taken.name):
            await project_store.rename_project(conn, mine.id, taken.name)
        with pytest.raises(ValueError, match="must not be empty"):
            await project_store.rename_project(conn, mine.id, "   ")
        renamed = await project_store.rename_project(conn, mine.id, "<b>bold</b>")
        assert renamed is not None
        assert renamed.name == "<b>bold</b>"
        await project_store.rename_project(conn, mine.id, f"st-{secrets.token_hex(4)}")
