"""Every page renders for an admin."""

from __future__ import annotations

import httpx
import pytest
from pages_support import Seed


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/account",
        "/admin/users",
        "/projects/{p}",
        "/projects/{p}?range=7d",
        "/projects/{p}?range=30d",
        "/projects/{p}/logs",
        "/projects/{p}/logs/{e}",
        "/projects/{p}/issues",
        "/projects/{p}/issues?status=",
        "/projects/{p}/issues/{i}",
        "/projects/{p}/settings",
        "/logout",
    ],
)
async def test_page_renders_for_admin(
    as_admin: tuple[httpx.AsyncClient, str], seed: Seed, path: str
) -> None:
    """The page answers 200 with the layout and a strict Content-Security-Policy."""
    client, _ = as_admin
    url = path.format(p=seed.project_id, e=seed.error_event, i=seed.issue_id)
    resp = await client.get(url)
    assert resp.status_code == 200, resp.text[:2000]
    assert '<header class="topbar">' in resp.text
    assert "script-src 'self'" in resp.headers["content-security-policy"]
