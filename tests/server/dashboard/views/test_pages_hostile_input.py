"""Hostile page input: Unicode digits and forged cursors are 4xx, never 500."""

from __future__ import annotations

import base64

import asyncpg
import httpx
import pytest
from pages_support import Seed, insert_issue

Client = tuple[httpx.AsyncClient, str]


async def test_go_with_unicode_digits_is_a_400(as_member: Client) -> None:
    """``/go?project=²`` is a 400 (not int()'s 500); no project at all goes home."""
    client, _ = as_member
    assert (await client.get("/go", params={"project": "²"})).status_code == 400
    assert (await client.get("/go", params={"project": ""})).status_code == 303


async def test_assignee_with_unicode_digits_is_refused(
    as_member: Client, pool: asyncpg.Pool, seed: Seed
) -> None:
    """An assignee of ``²`` is a 404 like any unknown user, never a 500."""
    client, csrf = as_member
    async with pool.acquire() as conn:
        issue_id = await insert_issue(conn, seed.project_id, title="ZeroDivisionError")
    url = f"/projects/{seed.project_id}/issues/{issue_id}/assignee"
    r = await client.post(url, data={"csrf_token": csrf, "assignee": "²"})
    assert r.status_code == 404


@pytest.mark.parametrize("page", ["logs", "issues"])
@pytest.mark.parametrize(
    "params",
    [
        {"limit": "²"},
        {"cursor": base64.urlsafe_b64encode(b"0001-01-01T00:00:00+23:59|x").decode()},
        {"cursor": base64.urlsafe_b64encode(b"last_seen|9999-12-31T23:59:59+00:00|1").decode()},
    ],
)
async def test_list_pages_refuse_bad_limits_and_forged_cursors(
    as_member: Client, seed: Seed, page: str, params: dict[str, str]
) -> None:
    """A Unicode-digit limit or a forged cursor on a list page answers 4xx, never 500."""
    client, _ = as_member
    r = await client.get(f"/projects/{seed.project_id}/{page}", params=params)
    assert r.status_code < 500


@pytest.mark.parametrize("page", ["logs", "issues"])
async def test_list_pages_refuse_unsigned_cursors(as_member: Client, seed: Seed, page: str) -> None:
    """A well-formed cursor without this server's MAC is a 422 page naming it, rows unread."""
    client, _ = as_member
    body = (
        b"2025-01-01T00:00:00+00:00|00000000-0000-0000-0000-000000000000"
        if page == "logs"
        else b"last_seen|2025-01-01T00:00:00+00:00|1"
    )
    cursor = base64.urlsafe_b64encode(body).decode().rstrip("=")
    r = await client.get(f"/projects/{seed.project_id}/{page}", params={"cursor": cursor})
    assert r.status_code == 422
    assert "cursor" in r.text
    assert "data-event-id=" not in r.text


#: Larger than any bigint: storage must treat it as "no such row", not hand it to the driver.
HUGE_ID = "2332648175762458279936"


@pytest.mark.parametrize(
    "path",
    [
        "settings/alerts/channels/{id}/delete",
        "settings/alerts/rules/{id}/delete",
        "settings/alerts/rules/{id}/toggle",
        "settings/alerts/mutes/{id}/delete",
        "issues/{id}/merge",
        "issues/{id}/unmerge",
        "logs/saved/{id}/delete",
        "settings/invitations/{id}/revoke",
    ],
)
async def test_row_ids_beyond_bigint_are_4xx(as_admin: Client, seed: Seed, path: str) -> None:
    """A forged id too large for the database is a 4xx or a redirect on every form, never 500."""
    client, csrf = as_admin
    url = f"/projects/{seed.project_id}/" + path.format(id=HUGE_ID)
    r = await client.post(url, data={"csrf_token": csrf, "issue": HUGE_ID})
    assert r.status_code < 500
