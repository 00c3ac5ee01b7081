"""Hostile query input on the JSON API: Unicode digits and forged cursors are 4xx, never 500."""

from __future__ import annotations

import base64

import pytest
from query_api_support import World

EXTREME_TIMES = ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59.999999+00:00")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/api/v1/logs", "/api/v1/issues"])
@pytest.mark.parametrize("param", ["limit", "project"])
async def test_unicode_digits_are_refused(client, world: World, path: str, param: str) -> None:
    """``²`` passes str.isdigit() but not int(): 422 for a limit, 404 for a project name."""
    r = await client.get(path, params={param: "²"}, headers=world.admin.bearer)
    assert r.status_code == (422 if param == "limit" else 404), r.text


@pytest.mark.parametrize("when", EXTREME_TIMES)
async def test_forged_log_cursors_with_extreme_dates_are_refused(
    client, world: World, when: str
) -> None:
    """A logs cursor holding an extreme date is a 4xx naming the cursor, never a 500."""
    cursor = _b64(f"{when}|00000000-0000-0000-0000-000000000000")
    r = await client.get("/api/v1/logs", params={"cursor": cursor}, headers=world.admin.bearer)
    assert 400 <= r.status_code < 500, r.text
    assert "cursor" in r.text


@pytest.mark.parametrize("when", EXTREME_TIMES)
async def test_forged_issue_cursors_with_extreme_dates_are_refused(
    client, world: World, when: str
) -> None:
    """An issues cursor holding an extreme date is a 4xx naming the cursor, never a 500."""
    cursor = _b64(f"last_seen|{when}|1")
    r = await client.get("/api/v1/issues", params={"cursor": cursor}, headers=world.admin.bearer)
    assert 400 <= r.status_code < 500, r.text
    assert "cursor" in r.text


@pytest.mark.parametrize("path", ["/api/v1/logs", "/api/v1/issues"])
async def test_cursors_this_server_did_not_sign_are_refused(
    client, world: World, path: str
) -> None:
    """A well-formed but unsigned, or altered, cursor is a 422 naming the cursor, never read."""
    unsigned = (
        _b64("2025-01-01T00:00:00+00:00|00000000-0000-0000-0000-000000000000")
        if path.endswith("logs")
        else _b64("last_seen|2025-01-01T00:00:00+00:00|1")
    )
    # Scoped to one project: the run's database holds other tests' projects too, and an
    # admin who can read more than 50 must name one.
    scope = {"project": str(world.a)}
    r = await client.get(path, params={**scope, "cursor": unsigned}, headers=world.admin.bearer)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", "cursor"]
    first = await client.get(path, params={**scope, "limit": "1"}, headers=world.admin.bearer)
    signed = first.json()["next_cursor"]
    assert signed, first.text
    body, _, mac = signed.rpartition(".")
    altered = _b64(base64.urlsafe_b64decode(body + "==").decode().replace("2", "1", 1))
    for forged in (f"{altered}.{mac}", f"{body}.{mac[::-1]}"):
        r = await client.get(path, params={**scope, "cursor": forged}, headers=world.admin.bearer)
        assert r.status_code == 422, r.text


async def test_a_logs_cursor_is_not_an_issues_cursor(client, world: World) -> None:
    """A signed logs cursor replayed on /issues is refused: the MAC binds its purpose."""
    scope = {"project": str(world.a)}
    first = await client.get(
        "/api/v1/logs", params={**scope, "limit": "1"}, headers=world.admin.bearer
    )
    cursor = first.json()["next_cursor"]
    assert cursor, first.text
    r = await client.get(
        "/api/v1/issues", params={**scope, "cursor": cursor}, headers=world.admin.bearer
    )
    assert r.status_code == 422, r.text
