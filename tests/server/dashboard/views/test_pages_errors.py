"""The scrubbing rules page and the issue page's actions, by role (rendered HTML, real app)."""

from __future__ import annotations

import httpx
from pages_support import Seed

Client = tuple[httpx.AsyncClient, str]


async def test_member_changes_scrubbing_rules_viewer_reads_them(
    as_member: Client, as_viewer: Client, seed: Seed
) -> None:
    """A member saves rules (recorded with their email); a viewer sees them, may not post."""
    client, csrf = as_member
    url = f"/projects/{seed.project_id}/settings/scrubbing"
    page = await client.get(url)
    assert page.status_code == 200
    assert "Never changed" in page.text
    saved = await client.post(
        url,
        data={
            "csrf_token": csrf,
            "defaults": "on",
            "extra_keys": "iban\nbic, vat_id",
            "safe_keys": "",
        },
    )
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert "Scrubbing rules saved" in page.text
    assert "iban, bic, vat_id" in page.text
    assert seed.member in page.text
    viewer, viewer_csrf = as_viewer
    shown = await viewer.get(url)
    assert "iban" in shown.text
    assert "Save rules" not in shown.text
    refused = await viewer.post(url, data={"csrf_token": viewer_csrf, "extra_keys": ""})
    assert refused.status_code == 403


async def test_frame_order_is_remembered_and_viewers_cannot_merge(
    as_viewer: Client, seed: Seed
) -> None:
    """Any reader may choose the frame order; merging is for members."""
    client, csrf = as_viewer
    base = f"/projects/{seed.project_id}/issues/{seed.issue_id}"
    resp = await client.post(f"{base}/frame-order", data={"csrf_token": csrf, "order": "oldest"})
    assert resp.status_code == 303
    page = await client.get(base)
    assert page.status_code == 200
    assert "Merge selected" not in page.text
    merge = await client.post(f"{base}/merge", data={"csrf_token": csrf, "issue": "1"})
    assert merge.status_code == 403
