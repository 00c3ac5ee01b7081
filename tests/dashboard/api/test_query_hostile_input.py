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
