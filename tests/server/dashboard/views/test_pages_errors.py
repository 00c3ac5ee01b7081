"""The scrubbing rules page and the issue page's actions, by role (rendered HTML, real app)."""

from __future__ import annotations

import asyncpg
import httpx
from pages_support import Seed, insert_issue

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


async def test_an_exception_group_shows_its_members_escaped(
    as_viewer: Client, pool: asyncpg.Pool, seed: Seed
) -> None:
    """Why grouped names each distinct member of a group by type and frames; a hostile
    function name in a member's frame is text."""
    trace = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/srv/app/checkout.py", line 40, in place_order\n'
        "  |     async with asyncio.TaskGroup() as tg:\n"
        "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Traceback (most recent call last):\n"
        '    |   File "/srv/app/users.py", line 8, in <img src=x onerror=alert(1)>\n'
        "    |     raise KeyError(uid)\n"
        "    | KeyError: 'u1'\n"
        "    +------------------------------------\n"
    )
    async with pool.acquire() as conn:
        issue_id = await insert_issue(
            conn, seed.project_id, title="ExceptionGroup: unhandled errors",
            error_type="ExceptionGroup", sample_stack_trace=trace, grouping_version="th2",
        )  # fmt: skip
    client, _ = as_viewer
    page = await client.get(f"/projects/{seed.project_id}/issues/{issue_id}")
    assert page.status_code == 200
    assert "Group members" in page.text
    assert "KeyError at app/users:&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<img src=x" not in page.text
    assert "app/checkout:place_order" in page.text
