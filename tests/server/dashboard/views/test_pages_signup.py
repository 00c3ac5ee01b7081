"""Self-service sign-up: off by default; on, new accounts wait for an admin's approval."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from pages_support import PASSWORD, Seed, csrf_of


async def _login(client: httpx.AsyncClient, email: str) -> int:
    token = csrf_of((await client.get("/login")).text)
    resp = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    return resp.status_code


async def test_signup_is_off_by_default(anon: httpx.AsyncClient) -> None:
    """Without TRACEHUB_SIGNUP the form is a 404 and the login page offers nothing."""
    assert (await anon.get("/signup")).status_code == 404
    assert (await anon.post("/signup", data={"email": "x@example.com"})).status_code == 404
    assert "Sign up" not in (await anon.get("/login")).text


async def test_signed_up_account_waits_for_approval(
    app: FastAPI, anon: httpx.AsyncClient, as_admin: tuple[httpx.AsyncClient, str], seed: Seed
) -> None:
    """A new account cannot log in until an admin approves it on the Users page."""
    app.state.settings = app.state.settings.model_copy(update={"signup": True})
    assert "/signup" in (await anon.get("/login")).text
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    resp = await anon.post("/signup", data={"email": email, "password": PASSWORD})
    assert "has to approve" in resp.text
    again = await anon.post("/signup", data={"email": email, "password": PASSWORD})
    assert "has to approve" in again.text  # a taken email gets the same answer
    assert await _login(anon, email) == 400

    admin, csrf = as_admin
    users = (await admin.get("/admin/users")).text
    assert "awaiting approval" in users
    user_id = users.split(f"Approve {email}")[0].rsplit("/admin/users/", 1)[1].split("/")[0]
    resp = await admin.post(f"/admin/users/{user_id}/approve", data={"csrf_token": csrf})
    assert resp.headers["location"] == "/admin/users?done=user-approved"
    assert await _login(anon, email) == 303
