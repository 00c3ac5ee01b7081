"""/api/v1/issues/{id}/event, /merge and /unmerge: structure, grouping, rights, routing."""

from __future__ import annotations

import asyncpg
from query_api_fixtures import NOW, insert_log
from query_api_support import World

JAVA = (
    "com.acme.Boom: it broke\n\tat com.acme.Svc.run(Svc.java:12)\n"
    "\tat java.lang.Thread.run(Thread.java:833)\n"
)


async def test_event_parses_a_text_trace_and_explains_grouping(
    client, world: World, pool: asyncpg.Pool
) -> None:
    """A text-only event comes back with its parsed chain, the grouping inputs and neighbours."""
    crash = world.issues["crash"]
    async with pool.acquire() as conn:
        await insert_log(
            conn, world.a, level="ERROR", message="boom", error_type="Boom",
            error_message="it broke", stack_trace=JAVA, issue_id=crash, timestamp=NOW,
        )  # fmt: skip
    r = await client.get(f"/api/v1/issues/{crash}/event", headers=world.viewer.bearer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["event"]["exception_source"] == "parsed"
    [value] = body["event"]["exception"]["values"]
    assert value["type"] == "Boom"
    assert value["stacktrace"]["frames"][-1]["function"] == "run"
    assert body["grouping"]["kind"] == "frames"
    assert body["grouping"]["frames"] == ["com.acme.Svc:run"]
    assert body["older_event_id"] == str(world.logs["error"])
    assert body["newer_event_id"] is None
    older = await client.get(
        f"/api/v1/issues/{crash}/event",
        params={"event_id": body["older_event_id"]},
        headers=world.viewer.bearer,
    )
    assert older.json()["event"]["message"] == "payment failed for order 42"


async def test_merge_and_unmerge_rights_and_counts(client, world: World) -> None:
    """A viewer may not merge; a member merges (counts add up, the source is hidden from the
    list and points at its target), then unmerges."""
    crash, old = world.issues["crash"], world.issues["old"]
    url = f"/api/v1/issues/{crash}/merge"
    denied = await client.post(url, json={"issue_ids": [old]}, headers=world.viewer.bearer)
    assert denied.status_code == 403
    r = await client.post(url, json={"issue_ids": [old]}, headers=world.member.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["event_count"] == 940
    listed = await client.get(
        "/api/v1/issues", params={"project": str(world.a)}, headers=world.member.bearer
    )
    assert [i["id"] for i in listed.json()["issues"]] == [crash]
    source = await client.get(f"/api/v1/issues/{old}", headers=world.member.bearer)
    assert source.json()["issue"]["merged_into"] == crash
    again = await client.post(url, json={"issue_ids": [old]}, headers=world.member.bearer)
    assert again.status_code == 422
    r = await client.post(f"/api/v1/issues/{old}/unmerge", headers=world.member.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["merged_into"] is None


async def test_merge_refuses_another_projects_issue(client, world: World) -> None:
    """An issue of another project cannot be merged in."""
    r = await client.post(
        f"/api/v1/issues/{world.issues['crash']}/merge",
        json={"issue_ids": [world.issues["other"]]},
        headers=world.admin.bearer,
    )
    assert r.status_code == 422


async def test_scrubbing_rules_read_by_all_changed_by_members(client, world: World) -> None:
    """Viewers read the rules, may not change them; a member's change is recorded with them."""
    url = f"/api/v1/projects/{world.a}/scrubbing"
    r = await client.get(url, headers=world.viewer.bearer)
    assert r.status_code == 200
    assert r.json()["rules"]["defaults_enabled"] is True
    assert "password" in r.json()["default_keys"]
    body = {"defaults_enabled": True, "extra_keys": ["iban", " iban "], "safe_keys": ["session"]}
    assert (await client.put(url, json=body, headers=world.viewer.bearer)).status_code == 403
    r = await client.put(url, json=body, headers=world.member.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["rules"]["extra_keys"] == ["iban"]
    [change] = r.json()["changes"]
    assert change["changed_by_email"] == world.member.email
    assert change["before"]["extra_keys"] == []
    outsider = await client.get(url, headers=world.outsider.bearer)
    assert outsider.status_code == 404
