"""What the pages do: explorer filters and paging, live tail, issues, keys, members, account."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
from pages_support import Seed, insert_issue, insert_log, login

from tracehub_server.dashboard import tail
from tracehub_server.dashboard.explorer import parse_explorer_query

Client = tuple[httpx.AsyncClient, str]


async def test_explorer_filters_by_level_text_and_extra(as_member: Client, seed: Seed) -> None:
    """Level, full-text and the form's extra field narrow the results."""
    client, _ = as_member
    base = f"/projects/{seed.project_id}/logs"
    errors = await client.get(base + "?level=ERROR")
    assert "payment failed for order 42" in errors.text
    assert "routine entry" not in errors.text
    text = await client.get(base + "?q=%22order+42%22")
    assert text.text.count("data-event-id=") == 1
    extra = await client.get(base + "?extra=user_id%3Dusr_42")
    assert seed.error_event in extra.text
    assert extra.text.count("data-event-id=") == 1


async def test_load_more_returns_the_next_rows(as_member: Client, seed: Seed) -> None:
    """The "load more" link carries a keyset cursor; its fragment holds only older rows."""
    client, _ = as_member
    first = await client.get(f"/projects/{seed.project_id}/logs?limit=20")
    link = re.search(r'id="load-more" href="([^"]+)"', first.text)
    assert link
    more = await client.get(link.group(1).replace("&amp;", "&"), headers={"X-Fragment": "rows"})
    assert more.status_code == 200
    assert more.text.lstrip().startswith("<tr")
    first_ids = set(re.findall(r'data-event-id="([^"]+)"', first.text))
    more_ids = set(re.findall(r'data-event-id="([^"]+)"', more.text))
    assert len(more_ids) == 20
    assert not first_ids & more_ids
    assert "cursor=" in more.headers["x-next-url"]


async def test_log_detail_links_to_trace_and_issue(as_member: Client, seed: Seed) -> None:
    """The detail shows the stack trace and links to the same trace id and its issue."""
    client, _ = as_member
    resp = await client.get(f"/projects/{seed.project_id}/logs/{seed.error_event}")
    assert "File &#34;pay.py&#34;, line 9" in resp.text
    assert f"trace_id={seed.trace_id}" in resp.text
    assert f"/projects/{seed.project_id}/issues/{seed.issue_id}" in resp.text
    trace = await client.get(f"/projects/{seed.project_id}/logs?trace_id={seed.trace_id}&since=30d")
    assert trace.text.count("data-event-id=") == 2


async def test_live_tail_streams_only_new_matching_entries(pool: asyncpg.Pool, seed: Seed) -> None:
    """The tail stream sends an entry inserted after it started, and not one before."""
    query = parse_explorer_query([("level", "WARN")], retention_days=30)
    assert query.filter is not None
    start = datetime.now(timezone.utc)
    async with pool.acquire() as conn:
        await insert_log(conn, seed.project_id, level="WARN", message="before tail",
                         received_at=start - timedelta(seconds=5))  # fmt: skip
    stream = tail.stream(
        pool, seed.project_id, query.filter, start=start,
        render_rows=lambda entries: "|".join(e.message for e in entries),
    )  # fmt: skip
    try:
        assert (await asyncio.wait_for(anext(stream), 10)).startswith(b"retry:")
        async with pool.acquire() as conn:
            await insert_log(conn, seed.project_id, level="WARN", message="tail new warn")
            await insert_log(conn, seed.project_id, level="INFO", message="tail new info")
        received = b""
        for _ in range(10):
            received += await asyncio.wait_for(anext(stream), 10)
            if b"event: rows" in received:
                break
        assert b"tail new warn" in received
        assert b"before tail" not in received
        assert b"tail new info" not in received
    finally:
        await stream.aclose()
    assert tail.can_open()


async def test_member_resolves_and_assigns_an_issue(
    as_member: Client, pool: asyncpg.Pool, seed: Seed
) -> None:
    """Status buttons and the assignee form change the issue; bad values change nothing."""
    client, csrf = as_member
    async with pool.acquire() as conn:
        issue_id = await insert_issue(conn, seed.project_id, title="KeyError: 'sku'")
        member_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", seed.member)
    url = f"/projects/{seed.project_id}/issues/{issue_id}"
    resp = await client.post(url + "/status", data={"csrf_token": csrf, "status": "RESOLVED"})
    assert resp.status_code == 303
    page = await client.get(url)
    assert 'id="issue-status">Resolved' in page.text
    resolved = await client.get(f"/projects/{seed.project_id}/issues?status=RESOLVED")
    assert "KeyError: &#39;sku&#39;" in resolved.text
    resp = await client.post(url + "/assignee", data={"csrf_token": csrf, "assignee": member_id})
    assert resp.status_code == 303
    page = await client.get(url)
    assert f'value="{member_id}" selected' in page.text
    for data in ({"status": "DONE"}, {"assignee": "999999"}):
        action = "/status" if "status" in data else "/assignee"
        resp = await client.post(url + action, data={"csrf_token": csrf, **data})
        assert resp.status_code == 404


async def test_api_key_is_shown_once_and_revoked(as_member: Client, seed: Seed) -> None:
    """Creating a key shows it with an SDK snippet once; the list shows its prefix only."""
    client, csrf = as_member
    base = f"/projects/{seed.project_id}/settings"
    created = await client.post(base + "/keys", data={"csrf_token": csrf, "name": "deploy"})
    key = re.search(r'id="new-key">(th_[^<]+)<', created.text)
    assert key
    assert f"api_key=&#34;{key.group(1)}&#34;" in created.text
    listing = await client.get(base)
    assert key.group(1) not in listing.text
    key_id = re.findall(r'data-key-id="(\d+)"', listing.text)[-1]
    resp = await client.post(f"{base}/keys/{key_id}/revoke", data={"csrf_token": csrf})
    assert resp.status_code == 303
    assert "revoked" in (await client.get(base)).text
    bad = await client.post(base + "/keys", data={"csrf_token": csrf, "name": "x" * 500})
    assert bad.status_code == 400


async def test_revoking_another_projects_key_is_404(as_member: Client, seed: Seed) -> None:
    """A key id of another project cannot be revoked through this project's URL."""
    client, csrf = as_member
    resp = await client.post(
        f"/projects/{seed.project_id}/settings/keys/999999/revoke", data={"csrf_token": csrf}
    )
    assert resp.status_code == 404


async def test_admin_adds_a_user_and_a_member(as_admin: Client, app: object, seed: Seed) -> None:
    """An admin creates a user, makes them a viewer of a project, and they can log in."""
    client, csrf = as_admin
    resp = await client.post(
        "/admin/users",
        data={"csrf_token": csrf, "email": "New.Person@Example.com", "password": "long enough 1"},
    )
    assert resp.status_code == 303
    dup = await client.post(
        "/admin/users",
        data={"csrf_token": csrf, "email": "new.person@example.com", "password": "long enough 1"},
    )
    assert dup.status_code == 400
    resp = await client.post(
        f"/projects/{seed.project_id}/settings/members",
        data={"csrf_token": csrf, "email": "new.person@example.com", "role": "viewer"},
    )
    assert resp.status_code == 303
    bad_role = await client.post(
        f"/projects/{seed.project_id}/settings/members",
        data={"csrf_token": csrf, "email": "new.person@example.com", "role": "owner"},
    )
    assert bad_role.status_code == 400
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as newcomer:
        await login(newcomer, "new.person@example.com", "long enough 1")
        home = await newcomer.get("/")
        assert "pages-shop" in home.text
        assert "pages-secret" not in home.text


async def test_change_password_and_personal_tokens(app: object, seed: Seed) -> None:
    """Changing the password needs the current one; tokens are shown once and revocable."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        email = "pw-changer@example.com"
        admin_client = httpx.AsyncClient(transport=transport, base_url="http://t")
        async with admin_client:
            admin_csrf = await login(admin_client, seed.admin)
            await admin_client.post(
                "/admin/users",
                data={"csrf_token": admin_csrf, "email": email, "password": "first password"},
            )
        csrf = await login(client, email, "first password")
        wrong = await client.post(
            "/account/password",
            data={"csrf_token": csrf, "current": "nope", "new": "second password",
                  "confirm": "second password"},
        )  # fmt: skip
        assert wrong.status_code == 400
        ok = await client.post(
            "/account/password",
            data={"csrf_token": csrf, "current": "first password", "new": "second password",
                  "confirm": "second password"},
        )  # fmt: skip
        assert ok.status_code == 303
        token_page = await client.post("/account/tokens", data={"csrf_token": csrf, "name": "ci"})
        assert re.search(r'id="new-token">thp_', token_page.text)
        token_id = re.search(r"/account/tokens/(\d+)/revoke", token_page.text)
        assert token_id
        resp = await client.post(
            f"/account/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf}
        )
        assert resp.status_code == 303
        assert "revoked" in (await client.get("/account")).text
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as again:
        await login(again, email, "second password")
