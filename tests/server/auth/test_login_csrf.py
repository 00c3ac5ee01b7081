"""Login CSRF and cookie tossing: signed login tokens, Origin checks, __Host- cookies, the key."""

from __future__ import annotations

import re
import secrets
import stat
from pathlib import Path

import httpx
import pytest
from query_api_fixtures import PASSWORD
from query_api_support import World

from tracehub_server.auth.secret import load_secret_key, sign, verify
from tracehub_server.settings import Settings

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _form_login(client: httpx.AsyncClient, email: str, token: str) -> httpx.Response:
    client.cookies.set("tracehub_login_csrf", token)
    return await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )


async def test_the_login_form_works_with_the_servers_token(client, world: World) -> None:
    """The token the server put in the form logs in (303)."""
    page = await client.get("/login")
    token = _CSRF.search(page.text).group(1)
    assert (await _form_login(client, world.member.email, token)).status_code == 303


async def test_a_tossed_unsigned_token_is_refused(client, world: World) -> None:
    """A random value planted as cookie and field (another port's page can) is a 403."""
    r = await _form_login(client, world.member.email, secrets.token_urlsafe(24))
    assert r.status_code == 403


async def test_a_token_signed_with_another_key_is_refused(client, world: World) -> None:
    """A token signed by another server's key is a 403."""
    r = await _form_login(client, world.member.email, sign(b"another key", "login-csrf"))
    assert r.status_code == 403


def test_tokens_expire_and_are_bound_to_their_purpose() -> None:
    """verify() refuses an old token, another purpose's token and garbage."""
    token = sign(b"k", "login-csrf", now=1000)
    assert verify(b"k", "login-csrf", token, max_age=60, now=1030)
    assert not verify(b"k", "login-csrf", token, max_age=60, now=1100)
    assert not verify(b"k", "other", token, max_age=60, now=1030)
    assert not verify(b"k", "login-csrf", "²." + token, max_age=60, now=1030)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver:8001"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_cross_origin_logins_are_refused(client, world: World, headers: dict) -> None:
    """A login posted from another origin (even another port of this host) is a 403."""
    r = await client.post(
        "/api/v1/auth/login",
        json={"email": world.member.email, "password": PASSWORD},
        headers=headers,
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"}],
)
async def test_same_origin_and_non_browser_logins_pass(client, world: World, headers) -> None:
    """Same-origin browsers and clients that send neither header log in."""
    r = await client.post(
        "/api/v1/auth/login",
        json={"email": world.member.email, "password": PASSWORD},
        headers=headers,
    )
    assert r.status_code == 200


async def test_bearer_requests_are_not_origin_checked(client, world: World) -> None:
    """A token request with a foreign Origin is not refused by the origin check."""
    r = await client.post(
        "/api/v1/tokens",
        json={"name": "ci"},
        headers={**world.member.bearer, "Origin": "http://elsewhere.example"},
    )
    assert r.status_code != 403 or "Origin" not in r.text


async def test_cookies_are_host_prefixed_over_https(client, world: World) -> None:
    """Over https the session and login cookies are __Host- prefixed, Secure, path=/."""
    r = await client.post(
        "https://testserver/api/v1/auth/login",
        json={"email": world.viewer.email, "password": PASSWORD},
    )
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-tracehub_session=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie
    client.cookies.clear()
    page = await client.get("https://testserver/login")
    assert page.headers["set-cookie"].startswith("__Host-tracehub_login_csrf=")


def test_a_generated_key_is_kept_and_shared(tmp_path: Path) -> None:
    """Without TRACEHUB_SECRET_KEY a key is generated once (0600) and read back after."""
    settings = Settings(data_dir=tmp_path)
    first = load_secret_key(settings)
    assert load_secret_key(settings) == first
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert load_secret_key(Settings(data_dir=tmp_path, secret_key="configured")) == b"configured"
