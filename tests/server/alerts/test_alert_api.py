"""The alerts JSON API: rights by role, validation, the test button, history, mutes."""

from __future__ import annotations

import asyncpg
import httpx
from alerts_support import Clock, Receiver, error, ingest, service, webhook_receiver
from query_api_support import World

BASE = "/api/v1/projects/{}/alerts"


async def _channel(client: httpx.AsyncClient, world: World, url: str, **extra: object) -> dict:
    response = await client.post(
        BASE.format(world.a) + "/channels",
        json={"name": "ops hook", "kind": "webhook", "target": url, **extra},
        headers=world.member.bearer,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_member_creates_channel_and_rule_viewer_only_reads(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    """Members create; viewers list but get 403 on a change; outsiders get 404."""
    channel = await _channel(client, world, receiver.url, secret="k")
    assert channel["has_secret"] is True
    assert "secret" not in channel
    rule = {
        "name": "checkout errors", "kind": "volume", "threshold": 100, "window_minutes": 5,
        "min_level": "ERROR", "services": ["checkout"], "query": "extra.tenant=acme&q=timeout",
        "channel_ids": [channel["id"]],
    }  # fmt: skip
    created = await client.post(
        BASE.format(world.a) + "/rules", json=rule, headers=world.member.bearer
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["levels"] == ["ERROR", "FATAL"]
    assert body["query"] == "extra.tenant=acme&q=timeout"
    listed = await client.get(BASE.format(world.a) + "/rules", headers=world.viewer.bearer)
    assert [r["id"] for r in listed.json()] == [body["id"]]
    refused = await client.post(
        BASE.format(world.a) + "/rules", json=rule, headers=world.viewer.bearer
    )
    assert refused.status_code == 403
    refused = await client.delete(
        BASE.format(world.a) + f"/rules/{body['id']}", headers=world.viewer.bearer
    )
    assert refused.status_code == 403
    hidden = await client.get(BASE.format(world.a) + "/rules", headers=world.outsider.bearer)
    assert hidden.status_code == 404


async def test_invalid_rules_are_refused_naming_the_field(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    """A frequency rule without a threshold, a bad explorer query, a foreign channel: 422."""
    url = BASE.format(world.a) + "/rules"
    cases = [
        ({"name": "f", "kind": "frequency", "window_minutes": 5}, "threshold"),
        ({"name": "v", "kind": "volume", "threshold": 1, "window_minutes": 5,
          "query": "level=LOUD"}, "query"),
        ({"name": "n", "kind": "new_issue", "channel_ids": [999999]}, "channel_ids"),
    ]  # fmt: skip
    for body, field in cases:
        response = await client.post(url, json=body, headers=world.member.bearer)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == ["body", field]
    bad = await client.post(
        BASE.format(world.a) + "/channels",
        json={"name": "x", "kind": "webhook", "target": "ftp://nope"},
        headers=world.member.bearer,
    )
    assert bad.status_code == 422


async def test_send_test_shows_the_receivers_answer(
    client: httpx.AsyncClient, world: World
) -> None:
    """The test button reports success, or the server's error, at once."""
    with webhook_receiver(["fail"]) as receiver:
        channel = await _channel(client, world, receiver.url)
        url = BASE.format(world.a) + f"/channels/{channel['id']}/test"
        failed = await client.post(url, headers=world.member.bearer)
        assert failed.json() == {"ok": False, "answer": "HTTP 503: receiver is down"}
        worked = await client.post(url, headers=world.member.bearer)
        assert worked.json() == {"ok": True, "answer": "HTTP 200: accepted"}
        assert receiver.received[-1].json()["kind"] == "test"
        assert (await client.post(url, headers=world.viewer.bearer)).status_code == 403


async def test_history_lists_attempts_and_answers(
    client: httpx.AsyncClient, world: World, pool: asyncpg.Pool
) -> None:
    """After a failed then a successful attempt, history shows both answers."""
    with webhook_receiver(["fail"]) as receiver:
        channel = await _channel(client, world, receiver.url)
        await client.post(
            BASE.format(world.a) + "/rules",
            json={"name": "new", "kind": "new_issue", "channel_ids": [channel["id"]]},
            headers=world.member.bearer,
        )
        await ingest(pool, world.a, [error("hist")])
        clock = Clock()
        alerts = service(pool, clock)
        await alerts.run_once()
        clock.advance(seconds=5)
        await alerts.run_once()
    response = await client.get(BASE.format(world.a) + "/history", headers=world.viewer.bearer)
    (item,) = response.json()
    assert item["status"] == "sent"
    assert item["title"].startswith("New issue in")
    assert [a["answer"] for a in item["attempts"]] == [
        "HTTP 503: receiver is down",
        "HTTP 200: accepted",
    ]


async def test_mute_and_unmute_an_issue(
    client: httpx.AsyncClient, world: World, pool: asyncpg.Pool
) -> None:
    """PUT mutes (or snoozes), GET reports it, DELETE unmutes; viewers cannot."""
    await ingest(pool, world.a, [error("mute-me")])
    async with pool.acquire() as conn:
        issue_id = await conn.fetchval(
            "SELECT id FROM issues WHERE project_id = $1 ORDER BY id DESC LIMIT 1", world.a
        )
    url = BASE.format(world.a) + f"/mutes/{issue_id}"
    assert (await client.put(url, json={}, headers=world.viewer.bearer)).status_code == 403
    muted = await client.put(
        url, json={"until": "2099-01-01T00:00:00Z"}, headers=world.member.bearer
    )
    assert muted.json()["until"].startswith("2099-01-01")
    assert (await client.get(url, headers=world.viewer.bearer)).json()["muted"] is True
    assert (await client.delete(url, headers=world.member.bearer)).status_code == 204
    assert (await client.get(url, headers=world.viewer.bearer)).json()["muted"] is False
