"""Sessions, roles, CSRF and hostile input on the dashboard's HTML routes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pages_support import HOSTILE, PASSWORD, Seed, csrf_of, login

Client = tuple[httpx.AsyncClient, str]


async def test_pages_without_session_redirect_to_login(anon: httpx.AsyncClient, seed: Seed) -> None:
    """No cookie (or a forged one) sends the browser to /login, remembering the page."""
    resp = await anon.get(f"/projects/{seed.project_id}/logs?level=ERROR")
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login?next=/projects/")
    anon.cookies.set("tracehub_session", "forged-" + "x" * 40)
    assert (await anon.get("/")).status_code == 303
    anon.cookies.set("tracehub_session", "y" * 5000)
    assert (await anon.get("/")).status_code == 303


async def test_expired_session_is_refused(as_member: Client, pool: object, seed: Seed) -> None:
    """A session past its expiry no longer opens pages."""
    client, _ = as_member
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second'"
            " WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            seed.member,
        )
    assert (await client.get("/")).status_code == 303


async def test_login_refuses_wrong_password_and_foreign_next(
    anon: httpx.AsyncClient, seed: Seed
) -> None:
    """One message for wrong password or unknown email; ``next`` never leaves the site."""
    page = await anon.get("/login")
    token = csrf_of(page.text)
    for email, password in ((seed.member, "wrong-password"), ("nobody@example.com", PASSWORD)):
        resp = await anon.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert resp.status_code == 400
        assert "do not match an account" in resp.text
    resp = await anon.post(
        "/login",
        data={"email": seed.member, "password": PASSWORD, "csrf_token": token,
              "next": "//evil.example/x"},
    )  # fmt: skip
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/projects/{seed.project_id}"  # their one project
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()


async def test_login_without_csrf_token_is_refused(anon: httpx.AsyncClient, seed: Seed) -> None:
    """Login CSRF: a POST without the form's token (or the cookie) gets 403."""
    resp = await anon.post("/login", data={"email": seed.member, "password": PASSWORD})
    assert resp.status_code == 403


async def test_repeated_failed_logins_are_slowed_down(anon: httpx.AsyncClient, seed: Seed) -> None:
    """After a few failures for one email the form answers 429 with Retry-After."""
    token = csrf_of((await anon.get("/login")).text)
    statuses = []
    for _ in range(8):
        resp = await anon.post(
            "/login", data={"email": seed.outsider, "password": "bad-guess!", "csrf_token": token}
        )
        statuses.append(resp.status_code)
    assert statuses[:5] == [400] * 5
    assert 429 in statuses
    assert resp.headers.get("retry-after")


async def test_post_without_csrf_token_is_refused(as_member: Client, seed: Seed) -> None:
    """Every state-changing form refuses a POST without the session's CSRF token."""
    client, _ = as_member
    p = seed.project_id
    for url in (
        f"/projects/{p}/issues/{seed.issue_id}/status",
        f"/projects/{p}/settings/keys",
        f"/projects/{p}/settings/keys/{seed.key_id}/revoke",
        "/account/password",
        "/account/tokens",
        "/logout",
    ):
        resp = await client.post(url, data={"status": "RESOLVED", "csrf_token": "wrong"})
        assert resp.status_code == 403, url
        resp = await client.post(url, data={"status": "RESOLVED"})
        assert resp.status_code == 403, url


async def test_other_projects_are_404_by_url(as_member: Client, seed: Seed) -> None:
    """A member of one project cannot see another's pages, logs or issues, even by id."""
    client, csrf = as_member
    o, p = seed.other_project_id, seed.project_id
    for url in (
        f"/projects/{o}", f"/projects/{o}/logs", f"/projects/{o}/logs/{seed.other_event}",
        f"/projects/{o}/issues", f"/projects/{o}/issues/{seed.other_issue_id}",
        f"/projects/{o}/settings", f"/projects/{p}/logs/{seed.other_event}",
        f"/projects/{p}/issues/{seed.other_issue_id}", "/projects/999999999/logs",
        "/admin/users", f"/projects/{p}/logs/not-a-uuid", "/projects/99999999999999999999/logs",
    ):  # fmt: skip
        resp = await client.get(url)
        assert resp.status_code in (404, 422), url
        assert "secret entry" not in resp.text
        assert "SecretError" not in resp.text
    resp = await client.post(
        f"/projects/{p}/issues/{seed.other_issue_id}/status",
        data={"csrf_token": csrf, "status": "RESOLVED"},
    )
    assert resp.status_code == 404
    home = await client.get("/")
    assert "pages-secret" not in home.text


async def test_viewer_gets_no_buttons_and_403_on_post(as_viewer: Client, seed: Seed) -> None:
    """Viewers read everything of their project, see no state-changing forms, and POST is 403."""
    client, csrf = as_viewer
    p = seed.project_id
    issue = await client.get(f"/projects/{p}/issues/{seed.issue_id}")
    assert issue.status_code == 200
    assert "/status" not in issue.text
    assert 'name="assignee"' not in issue.text
    settings = await client.get(f"/projects/{p}/settings")
    assert "Create API key" not in settings.text
    assert "/revoke" not in settings.text
    for url, data in (
        (f"/projects/{p}/issues/{seed.issue_id}/status", {"status": "RESOLVED"}),
        (f"/projects/{p}/issues/{seed.issue_id}/assignee", {"assignee": ""}),
        (f"/projects/{p}/settings/keys", {"name": "x"}),
        (f"/projects/{p}/settings/keys/{seed.key_id}/revoke", {}),
        (f"/projects/{p}/settings/members", {"email": seed.viewer, "role": "member"}),
        ("/admin/users", {"email": "new@example.com", "password": "long enough!"}),
        ("/projects", {"name": "viewer-made"}),
    ):
        resp = await client.post(url, data={**data, "csrf_token": csrf})
        assert resp.status_code in (403, 404), url


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"a=" + b"x" * 70_000, {"content-type": "application/x-www-form-urlencoded"}, 413),
        (b"&".join(b"f%d=1" % i for i in range(500)),
         {"content-type": "application/x-www-form-urlencoded"}, 400),
        (b'{"csrf_token": "x"}', {"content-type": "application/json"}, 415),
        (b"--b\r\n", {"content-type": "multipart/form-data; boundary=b"}, 415),
    ],
)  # fmt: skip
async def test_hostile_form_bodies_are_refused(
    as_member: Client, seed: Seed, body: bytes, headers: dict[str, str], status: int
) -> None:
    """Oversized, many-field and non-form bodies are refused before any work is done."""
    client, _ = as_member
    resp = await client.post(f"/projects/{seed.project_id}/settings/keys", content=body,
                             headers=headers)  # fmt: skip
    assert resp.status_code == status


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "until=2020-01-01&since=2021-01-01",
        "level=LOUD",
        "cursor=%00garbage",
        "q=" + "x" * 500,
        "limit=100000",
        "&".join(["level=INFO"] * 30),
        "extra=novalue",
        "extra.=1",
    ],
)
async def test_bad_explorer_filters_say_which_parameter(
    as_member: Client, seed: Seed, query: str
) -> None:
    """A bad filter gives 422 with a message naming the parameter, never a 500."""
    client, _ = as_member
    resp = await client.get(f"/projects/{seed.project_id}/logs?{query}")
    assert resp.status_code == 422, resp.text[:500]
    assert 'role="alert"' in resp.text


async def test_hostile_values_are_escaped_everywhere(as_admin: Client, seed: Seed) -> None:
    """Raw markup from log fields never reaches the HTML; its escaped text does."""
    client, _ = as_admin
    p = seed.project_id
    pages = [f"/projects/{p}", f"/projects/{p}/logs", f"/projects/{p}/logs/{seed.hostile_event}",
             f"/projects/{p}/issues", "/"]  # fmt: skip
    for url in pages:
        resp = await client.get(url)
        assert resp.status_code == 200
        for value in HOSTILE.values():
            if value.startswith("javascript:"):
                assert 'href="javascript:' not in resp.text
            else:
                assert value not in resp.text, (url, value)
    detail = await client.get(f"/projects/{p}/logs/{seed.hostile_event}")
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in detail.text


async def test_concurrent_page_loads_all_succeed(as_member: Client, seed: Seed) -> None:
    """Twenty simultaneous explorer and issue loads answer 200 (the pool is shared fairly)."""
    client, _ = as_member
    urls = [f"/projects/{seed.project_id}/logs", f"/projects/{seed.project_id}/issues"] * 10
    responses = await asyncio.wait_for(asyncio.gather(*(client.get(u) for u in urls)), 60)
    assert [r.status_code for r in responses] == [200] * 20


async def test_logout_ends_the_session(app: object, seed: Seed) -> None:
    """After logging out, the old cookie opens nothing."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        csrf = await login(client, seed.viewer)
        cookie = client.cookies.get("tracehub_session")
        resp = await client.post("/logout", data={"csrf_token": csrf})
        assert resp.status_code == 303
        client.cookies.set("tracehub_session", cookie or "")
        assert (await client.get("/")).status_code == 303
