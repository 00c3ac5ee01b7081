"""/api/v1/stats/*: served from hourly_counts, scoped to readable projects, bounded ranges."""

from __future__ import annotations

import pytest
from query_api_support import World


async def test_overview_counts_logs_errors_and_open_issues(client, world: World) -> None:
    """Totals come from hourly_counts; open issues seen in the range are counted."""
    r = await client.get(
        "/api/v1/stats/overview", params={"project": str(world.a)}, headers=world.viewer.bearer
    )
    body = r.json()
    assert (body["logs"], body["errors"], body["open_issues"]) == (110, 7, 2)


async def test_severity_and_timeline(client, world: World) -> None:
    """Counts by level, and per hour/day buckets, match the rollup."""
    params = {"project": str(world.a), "since": "2d"}
    severity = await client.get(
        "/api/v1/stats/severity", params=params, headers=world.member.bearer
    )
    assert severity.json()["counts"] == {"ERROR": 7, "INFO": 100, "WARN": 3}
    for bucket in ("hour", "day"):
        r = await client.get(
            "/api/v1/stats/timeline", params={**params, "bucket": bucket},
            headers=world.member.bearer,
        )  # fmt: skip
        points = r.json()["points"]
        assert sum(sum(p["counts"].values()) for p in points) == 110


async def test_stats_never_include_other_projects(client, world: World) -> None:
    """Without project, a member's totals exclude B; asking for B is a 404."""
    r = await client.get("/api/v1/stats/overview", headers=world.member.bearer)
    assert r.json()["logs"] == 110
    r = await client.get(
        "/api/v1/stats/overview", params={"project": str(world.b)}, headers=world.member.bearer
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("overview", {"since": "soon"}, "since"),
        ("overview", {"since": "1h", "until": "2h"}, "until"),
        ("timeline", {"bucket": "minute"}, "bucket"),
        ("timeline", {"since": "60d", "bucket": "hour"}, "since"),
        ("severity", {"since": "3000d"}, "since"),
        ("severity", {"until": "x\x00"}, "until"),
    ],
)
async def test_bad_ranges_are_422(client, world: World, path, params, param) -> None:
    """Unparseable, inverted or too wide ranges give 422 naming the parameter."""
    r = await client.get(f"/api/v1/stats/{path}", params=params, headers=world.member.bearer)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", param]
