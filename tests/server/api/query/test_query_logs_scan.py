"""``GET /api/v1/logs``: a budgeted search answers partial pages that continue, and several
projects are merged without sorting the range."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from query_api_fixtures import NOW, insert_log
from query_api_support import World

from tracehub_server.app import create_app
from tracehub_server.settings import Settings
from tracehub_server.storage import log_queries
from tracehub_server.storage.scan_budget import ScanBudget
from tracehub_server.storage.users import set_membership


@pytest.fixture
async def tight(migrated_database_url: str, amqp_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with a scan budget of one hour-long slice per request."""
    settings = Settings(
        database_url=migrated_database_url,
        amqp_url=amqp_url,
        queue_name=f"query_scan_{secrets.token_hex(6)}",
    )
    app = create_app(settings)
    app.state.search_budget = ScanBudget(time_ms=0, first_slice=timedelta(hours=1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_rare_term_page_is_partial_with_cursor_and_scanned_until(
    tight: httpx.AsyncClient, world: World, pool: asyncpg.Pool
) -> None:
    """A search that stops on its budget says how far back it looked and how to go on."""
    async with pool.acquire() as conn:
        old = await insert_log(
            conn, world.a, message="zebra crossing", timestamp=NOW - timedelta(hours=5)
        )
    params: dict[str, str] = {"project": str(world.a), "q": "zebra", "since": "12h"}
    first = await tight.get("/api/v1/logs", params=params, headers=world.member.bearer)
    assert first.status_code == 200
    body = first.json()
    assert body["logs"] == []
    assert body["next_cursor"]
    assert body["scanned_until"] is not None
    found = []
    for _ in range(40):
        params["cursor"] = body["next_cursor"]
        body = (await tight.get("/api/v1/logs", params=params, headers=world.member.bearer)).json()
        found += [log["id"] for log in body["logs"]]
        if body["next_cursor"] is None:
            break
    assert found == [str(old)]
    assert body["scanned_until"] is None


async def test_hostile_cursor_and_oversized_q_are_refused(
    tight: httpx.AsyncClient, world: World
) -> None:
    """A forged cursor or a 201-character q answers 422 naming it, never 500."""
    h = world.member.bearer
    forged = await tight.get("/api/v1/logs?q=x&cursor=%00%ff" + "A" * 150, headers=h)
    assert forged.status_code == 422
    assert forged.json()["detail"][0]["loc"] == ["query", "cursor"]
    big = await tight.get("/api/v1/logs", params={"q": "x" * 201}, headers=h)
    assert big.status_code == 422
    assert big.json()["detail"][0]["loc"] == ["query", "q"]


async def test_reader_of_two_projects_gets_a_merged_list(
    tight: httpx.AsyncClient, world: World, pool: asyncpg.Pool
) -> None:
    """Without ``project``, a reader of A and B gets both projects' logs, newest first."""
    async with pool.acquire() as conn:
        await set_membership(conn, world.a, world.outsider.id, "viewer")
    resp = await tight.get("/api/v1/logs", params={"trace_id": "trace-abc"},
                           headers=world.outsider.bearer)  # fmt: skip
    ids = [log["id"] for log in resp.json()["logs"]]
    assert sorted(ids) == sorted(str(world.logs[k]) for k in ("b", "error", "info"))
    stamps = [log["timestamp"] for log in resp.json()["logs"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_too_many_readable_projects_require_project(
    tight: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the merge cap, omitting ``project`` is a 422 naming it; naming one works."""
    monkeypatch.setattr(log_queries, "MAX_MERGED_PROJECTS", 1)
    h = world.admin.bearer
    refused = await tight.get("/api/v1/logs", headers=h)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "project"]
    named = await tight.get("/api/v1/logs", params={"project": str(world.a)}, headers=h)
    assert named.status_code == 200
