"""Login, sessions, CSRF, tokens and throttling through the JSON API (real app, real DB)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from query_api_fixtures import PASSWORD
from query_api_support import Seat, World

from tracehub_server.auth.sessions import COOKIE_NAME, hash_token
from tracehub_server.auth.tokens import hash_token as hash_access_token


def _cookie(seat: Seat) -> dict[str, str]:
    return {"Cookie": f"{COOKIE_NAME}={seat.session}"}


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_sets_a_hardened_cookie_and_returns_csrf(client, world: World) -> None:
    """A good login answers the CSRF token and an HttpOnly, SameSite=Lax session cookie."""
    r = await _login(client, world.member.email.upper(), PASSWORD)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    me = await client.get("/api/v1/auth/me")
    assert me.json()["user"]["email"] == world.member.email
    assert me.json()["csrf_token"] == r.json()["csrf_token"]


async def test_cookie_is_secure_over_https(client, world: World) -> None:
    """Served over https, the session cookie carries Secure."""
    r = await client.post(
        "https://testserver/api/v1/auth/login",
        json={"email": world.viewer.email, "password": PASSWORD},
    )
    assert "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("nobody@example.com", PASSWORD),
        ("MEMBER", "wrong password"),
        ("x" * 900 + "@example.com", "p"),
        ("'; DROP TABLE users; --", "' OR '1'='1"),
        ("ünï@cödé.例", "😀" * 10),
        ("a\x00b@example.com", "p\x00"),
    ],
)
async def test_failed_logins_are_401_with_one_message(client, world: World, email, password):
    """Unknown emails, wrong passwords and hostile values all get the same 401."""
    email = world.member.email if email == "MEMBER" else email
    r = await _login(client, email, password)
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong email or password"


async def test_login_must_be_json(client, world: World) -> None:
    """A form-encoded login (what a cross-site form sends) is refused."""
    r = await client.post(
        "/api/v1/auth/login",
        content=f'{{"email": "{world.member.email}", "password": "{PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code in (415, 422)
    assert COOKIE_NAME not in r.headers.get("set-cookie", "")


async def test_state_change_with_cookie_needs_the_csrf_header(client, world: World) -> None:
    """Cookie-authenticated PATCH without or with a wrong X-CSRF-Token is 403; right one works."""
    url = f"/api/v1/issues/{world.issues['crash']}"
    body = {"status": "IN_PROGRESS"}
    r = await client.patch(url, json=body, headers=_cookie(world.member))
    assert r.status_code == 403
    r = await client.patch(url, json=body, headers={**_cookie(world.member), "X-CSRF-Token": "x"})
    assert r.status_code == 403
    other_csrf = {**_cookie(world.member), "X-CSRF-Token": world.viewer.csrf}
    assert (await client.patch(url, json=body, headers=other_csrf)).status_code == 403
    good = {**_cookie(world.member), "X-CSRF-Token": world.member.csrf}
    assert (await client.patch(url, json=body, headers=good)).status_code == 200
    for method, path in (("POST", "/api/v1/tokens"), ("POST", "/api/v1/auth/logout"),
                         ("DELETE", "/api/v1/tokens/1")):  # fmt: skip
        r = await client.request(method, path, json={}, headers=_cookie(world.member))
        assert r.status_code == 403, path


async def test_reads_with_cookie_need_no_csrf(client, world: World) -> None:
    """GET with the session cookie alone works."""
    assert (await client.get("/api/v1/logs", headers=_cookie(world.viewer))).status_code == 200


async def test_expired_session_is_refused(client, world: World, pool) -> None:
    """A session past expires_at gets 401."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
            hash_token(world.viewer.session),
        )
    assert (await client.get("/api/v1/logs", headers=_cookie(world.viewer))).status_code == 401


async def test_logout_ends_the_session(client, world: World) -> None:
    """After logout the same cookie is refused."""
    headers = {**_cookie(world.member), "X-CSRF-Token": world.member.csrf}
    r = await client.post("/api/v1/auth/logout", headers=headers)
    assert r.status_code == 204
    assert (await client.get("/api/v1/logs", headers=_cookie(world.member))).status_code == 401


async def test_revoked_and_expired_tokens_are_refused(client, world: World, pool) -> None:
    """Revoking a token or passing its expiry makes it 401 immediately."""
    assert (await client.get("/api/v1/logs", headers=world.viewer.bearer)).status_code == 200
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE access_tokens SET revoked_at = now() WHERE token_hash = $1",
            hash_access_token(world.viewer.token),
        )
        await conn.execute(
            "UPDATE access_tokens SET expires_at = now() - interval '1 s' WHERE token_hash = $1",
            hash_access_token(world.member.token),
        )
    assert (await client.get("/api/v1/logs", headers=world.viewer.bearer)).status_code == 401
    assert (await client.get("/api/v1/logs", headers=world.member.bearer)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwdw==",
        "Bearer",
        "Bearer ",
        "Bearer th_notours",
        "Bearer thp_" + "a" * 500,
        "Bearer thp_forged",
        "Token thp_x",
    ],
)
async def test_malformed_authorization_is_401(client, world: World, header: str) -> None:
    """Other schemes, empty, foreign, oversized or forged tokens get 401 (even with a cookie)."""
    headers = {"Authorization": header, **_cookie(world.admin)}
    r = await client.get("/api/v1/logs", headers=headers)
    assert r.status_code == 401


async def test_repeated_failures_are_slowed_down(client, world: World) -> None:
    """After five failures, even the right password is refused with 429 and Retry-After."""
    for _ in range(5):
        assert (await _login(client, world.outsider.email, "wrong pw!")).status_code == 401
    r = await _login(client, world.outsider.email, PASSWORD)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    # Another email from the same address is not affected.
    assert (await _login(client, world.viewer.email, PASSWORD)).status_code == 200


async def test_concurrent_guesses_cannot_outrun_the_throttle(client, world: World) -> None:
    """Twenty parallel wrong guesses: at most five are checked, the rest get 429."""
    results = await asyncio.gather(
        *(_login(client, world.admin.email, f"guess {i}") for i in range(20))
    )
    codes = [r.status_code for r in results]
    assert codes.count(401) <= 5
    assert codes.count(429) >= 15


async def test_password_change_ends_other_sessions(client, world: World) -> None:
    """Wrong current or short new password: 422; success keeps this session, ends the others."""
    login = await _login(client, world.member.email, PASSWORD)
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    url = "/api/v1/auth/password"
    r = await client.post(
        url, json={"current_password": "nope", "new_password": "a new long one"}, headers=csrf
    )
    assert r.json()["detail"][0]["loc"] == ["body", "current_password"]
    r = await client.post(
        url, json={"current_password": PASSWORD, "new_password": "short"}, headers=csrf
    )
    assert r.json()["detail"][0]["loc"] == ["body", "new_password"]
    r = await client.post(
        url, json={"current_password": PASSWORD, "new_password": "a new long one"}, headers=csrf
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    assert (await client.get("/api/v1/logs", headers=_cookie(world.member))).status_code == 401
    assert (await _login(client, world.member.email, "a new long one")).status_code == 200


async def test_only_a_session_creates_tokens_and_they_expire(client, world: World) -> None:
    """A token cannot mint another (403); a session's new token expires in 90 days by default."""
    r = await client.post("/api/v1/tokens", json={"name": "x"}, headers=world.member.bearer)
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/tokens",
        json={"name": "y"},
        headers={**_cookie(world.member), "X-CSRF-Token": world.member.csrf},
    )
    assert r.status_code == 201
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(timezone.utc) <= timedelta(days=90)


async def test_password_change_can_revoke_tokens_and_refuses_weak_passwords(
    client, world: World
) -> None:
    """A common password or the email is 422 without echoing it; revoke_tokens ends tokens."""
    headers = {**_cookie(world.viewer), "X-CSRF-Token": world.viewer.csrf}
    for weak in ("password123", world.viewer.email.upper()):
        r = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": weak},
            headers=headers,
        )
        assert r.status_code == 422
        assert weak not in r.text
        assert weak.lower() not in r.text
    r = await client.post(
        "/api/v1/auth/password",
        json={
            "current_password": PASSWORD,
            "new_password": "a fresh long phrase",
            "revoke_tokens": True,
        },
        headers=headers,
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/projects", headers=world.viewer.bearer)).status_code == 401


async def test_wrong_current_passwords_are_throttled(client, world: World) -> None:
    """After five wrong current passwords, even the right one waits (429, Retry-After)."""
    headers = {**_cookie(world.outsider), "X-CSRF-Token": world.outsider.csrf}
    body = {"current_password": "wrong!", "new_password": "another long phrase"}
    codes = [
        (await client.post("/api/v1/auth/password", json=body, headers=headers)).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [422] * 5
    assert codes[5] == 429


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "password": "s3cr3t-" + "x" * 5000},
        {"email": "a@example.com", "password": "s3cr3t-pw", "token": "thp_s3cr3t"},
        {"email": "a@example.com", "password": ["s3cr3t-pw"]},
    ],
)
async def test_422_never_echoes_submitted_values(client, body) -> None:
    """A malformed login is 422 naming the field, without the submitted secret."""
    r = await client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 422
    assert "s3cr3t" not in r.text
    assert r.json()["detail"][0]["loc"]
