"""Login and password forms: equal work for unknown emails, password policy, throttled
current-password checks, token revocation on request."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pages_support import PASSWORD, csrf_of, login

from tracehub_server.auth import passwords, tokens
from tracehub_server.auth.passwords import hash_password
from tracehub_server.storage import users as user_store


@pytest.fixture
async def fresh(
    app: FastAPI, pool: asyncpg.Pool
) -> AsyncIterator[tuple[httpx.AsyncClient, str, int, str]]:
    """A new user of its own (its password may change), logged in: (client, csrf, id, email)."""
    email = f"fresh-{secrets.token_hex(4)}@example.com"
    async with pool.acquire() as conn:
        user = await user_store.create_user(conn, email, hash_password(PASSWORD))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        csrf = await login(client, email)
        yield client, csrf, user.id, email


@pytest.mark.parametrize("known", [True, False])
async def test_unknown_and_known_emails_cost_one_argon2_check(
    anon: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, known: bool
) -> None:
    """A wrong login runs argon2 once whether or not the email exists (no timing oracle)."""
    calls: list[str] = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    page = await anon.get("/login")
    email = "admin@example.com" if known else f"nobody-{secrets.token_hex(4)}@example.com"
    r = await anon.post(
        "/login", data={"email": email, "password": "wrong!!", "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 400
    assert len(calls) == 1


@pytest.mark.parametrize("weak", ["password123", "EMAIL"])
async def test_weak_new_passwords_are_refused_without_echo(fresh, weak: str) -> None:
    """A common password or the email itself is refused (400), and not written back."""
    client, csrf, _, email = fresh
    weak = email.upper() if weak == "EMAIL" else weak
    r = await client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": weak, "confirm": weak},
    )
    assert r.status_code == 400
    assert f'value="{weak}"' not in r.text


async def test_wrong_current_passwords_are_throttled(fresh) -> None:
    """The sixth wrong current password in a row is answered 429 with Retry-After."""
    client, csrf, _, _ = fresh
    data = {"csrf_token": csrf, "current": "nope", "new": "a long new phrase", "confirm": ""}
    data["confirm"] = data["new"]
    codes = [(await client.post("/account/password", data=data)).status_code for _ in range(6)]
    assert codes == [400] * 5 + [429]


async def test_password_change_revokes_tokens_when_asked(fresh, pool: asyncpg.Pool) -> None:
    """With the box ticked, the user's tokens stop working after the change."""
    client, csrf, user_id, _ = fresh
    async with pool.acquire() as conn:
        _, plaintext = await tokens.create_token(conn, user_id, name="ci")
    new = "a long new phrase"
    r = await client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current": PASSWORD,
            "new": new,
            "confirm": new,
            "revoke_tokens": "on",
        },
    )
    assert r.status_code == 303
    async with pool.acquire() as conn:
        assert await tokens.authenticate_token(conn, plaintext) is None
