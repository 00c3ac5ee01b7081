"""/api/v1/issues: list filters and sorts, detail, and triage rights per role."""

from __future__ import annotations

import asyncio

import pytest
from query_api_support import World


async def _titles(client, world: World, params) -> list[str]:
    params = {"project": str(world.a), **params}
    r = await client.get("/api/v1/issues", params=params, headers=world.viewer.bearer)
    assert r.status_code == 200, r.text
    return [i["title"] for i in r.json()["issues"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["ValueError: bad input", "KeyError: 'x'"]),
        ({"sort": "event_count"}, ["KeyError: 'x'", "ValueError: bad input"]),
        ({"sort": "first_seen"}, ["ValueError: bad input", "KeyError: 'x'"]),
        ({"status": "open"}, ["ValueError: bad input", "KeyError: 'x'"]),
        ({"status": "RESOLVED,IGNORED"}, []),
        ({"level": "FATAL"}, []),
    ],
)
async def test_list_filters_and_sorts(client, world: World, params, expected) -> None:
    """status, level and sort select and order the project's issues."""
    assert await _titles(client, world, params) == expected


async def test_list_cursor_walks_pages(client, world: World) -> None:
    """limit=1 pages through both issues with the cursor for each sort."""
    for sort in ("last_seen", "first_seen", "event_count"):
        seen, cursor = [], None
        for _ in range(5):
            params = {"project": str(world.a), "limit": "1", "sort": sort}
            if cursor:
                params["cursor"] = cursor
            body = (
                await client.get("/api/v1/issues", params=params, headers=world.member.bearer)
            ).json()
            seen += [i["id"] for i in body["issues"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted([world.issues["crash"], world.issues["old"]])


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"sort": "title"}, "sort"),
        ({"status": "DONE"}, "status"),
        ({"level": "'; --"}, "level"),
        ({"limit": "-1"}, "limit"),
        ({"cursor": "bm9wZQ"}, "cursor"),
    ],
)
async def test_bad_list_parameters_are_422(client, world: World, params, param) -> None:
    """Unknown sort/status/level, bad limit or cursor: 422 naming the parameter."""
    r = await client.get("/api/v1/issues", params=params, headers=world.member.bearer)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", param]


async def test_cursor_of_another_sort_is_refused(client, world: World) -> None:
    """A last_seen cursor replayed with sort=event_count is a 422, not a wrong page."""
    params = {"project": str(world.a), "limit": "1"}
    body = (await client.get("/api/v1/issues", params=params, headers=world.member.bearer)).json()
    params.update(cursor=body["next_cursor"], sort="event_count")
    r = await client.get("/api/v1/issues", params=params, headers=world.member.bearer)
    assert r.status_code == 422


async def test_detail_has_events_and_hourly_counts(client, world: World) -> None:
    """The detail lists the issue's recent events and its hourly counts."""
    r = await client.get(f"/api/v1/issues/{world.issues['crash']}", headers=world.viewer.bearer)
    assert r.status_code == 200
    body = r.json()
    assert [e["id"] for e in body["events"]] == [str(world.logs["error"])]
    assert [h["count"] for h in body["hourly_counts"]] == [40]


@pytest.mark.parametrize("issue", ["other", "missing", "huge", "negative"])
async def test_other_projects_issues_are_404(client, world: World, issue: str) -> None:
    """Another project's issue, a missing one and out-of-range ids all answer 404."""
    ident = {
        "other": world.issues.get("other"),
        "missing": 2**62,
        "huge": 10**30,
        "negative": -5,
    }[issue]
    for method in ("GET", "PATCH"):
        r = await client.request(
            method,
            f"/api/v1/issues/{ident}",
            json={"status": "RESOLVED"},
            headers=world.member.bearer,
        )
        assert r.status_code == 404, (method, r.text)


async def test_member_resolves_and_reopens(client, world: World) -> None:
    """RESOLVED sets resolved_at; reopening clears it."""
    url = f"/api/v1/issues/{world.issues['crash']}"
    r = await client.patch(url, json={"status": "resolved"}, headers=world.member.bearer)
    assert r.status_code == 200
    assert r.json()["status"] == "RESOLVED"
    assert r.json()["resolved_at"]
    r = await client.patch(url, json={"status": "IN_PROGRESS"}, headers=world.member.bearer)
    assert r.json()["resolved_at"] is None


async def test_assignee_must_be_able_to_read_the_project(client, world: World) -> None:
    """A viewer of the project can be assigned; an outsider cannot (422); null unassigns."""
    url = f"/api/v1/issues/{world.issues['crash']}"
    r = await client.patch(url, json={"assignee_id": world.viewer.id}, headers=world.member.bearer)
    assert r.json()["assignee_email"] == world.viewer.email
    r = await client.patch(
        url, json={"assignee_id": world.outsider.id}, headers=world.member.bearer
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "assignee_id"]
    r = await client.patch(url, json={"assignee_id": None}, headers=world.member.bearer)
    assert r.json()["assignee_id"] is None


async def test_viewer_cannot_patch_an_issue(client, world: World) -> None:
    """A viewer's PATCH is a 403 and changes nothing."""
    url = f"/api/v1/issues/{world.issues['crash']}"
    r = await client.patch(url, json={"status": "IGNORED"}, headers=world.viewer.bearer)
    assert r.status_code == 403
    assert (await client.get(url, headers=world.viewer.bearer)).json()["issue"]["status"] == "OPEN"


@pytest.mark.parametrize(
    "body",
    [{"status": "DONE"}, {"status": 5}, {"assignee_id": "x"}, {"bogus": 1}, {"status": "x" * 10}],
)
async def test_bad_patch_bodies_are_422(client, world: World, body) -> None:
    """Unknown status, wrong types and unknown fields give 422."""
    url = f"/api/v1/issues/{world.issues['crash']}"
    r = await client.patch(url, json=body, headers=world.member.bearer)
    assert r.status_code == 422


async def test_oversized_body_is_413(client, world: World) -> None:
    """A body over the JSON cap is refused before it is parsed."""
    url = f"/api/v1/issues/{world.issues['crash']}"
    r = await client.patch(url, json={"status": "x" * 100_000}, headers=world.member.bearer)
    assert r.status_code == 413


async def test_concurrent_patches_leave_a_valid_state(client, world: World) -> None:
    """Parallel status changes all succeed and the final status is one of them."""
    url = f"/api/v1/issues/{world.issues['old']}"
    statuses = ["OPEN", "IN_PROGRESS", "RESOLVED", "IGNORED"] * 4
    results = await asyncio.gather(
        *(client.patch(url, json={"status": s}, headers=world.member.bearer) for s in statuses)
    )
    assert {r.status_code for r in results} == {200}
    final = (await client.get(url, headers=world.member.bearer)).json()["issue"]
    assert final["status"] in statuses
    assert (final["resolved_at"] is not None) == (final["status"] == "RESOLVED")
