"""The user's own account: change password, personal access tokens."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tracehub_server.auth import sessions, tokens
from tracehub_server.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_new_password,
    hash_password_off_loop,
    verify_password_off_loop,
)
from tracehub_server.auth.throttle import client_ip, get_throttle, password_change_key
from tracehub_server.dashboard.context import Page, PageContext
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import tokens as token_store
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep

router = APIRouter()


async def _account_page(
    request: Request,
    page: PageContext,
    pool: PoolDep,
    *,
    error: str = "",
    new_token: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    page.nav = "account"
    async with pool.acquire() as conn:
        user_tokens = await token_store.list_tokens(conn, page.user.id)
    return render(
        request,
        "account.html",
        {
            "flashes": flashes(request),
            "error": error,
            "tokens": user_tokens,
            "new_token": new_token,
            "min_password": MIN_PASSWORD_LENGTH,
            "max_password": MAX_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.get("/account")
async def account(request: Request, page: Page, pool: PoolDep) -> HTMLResponse:
    """Password form and the list of personal access tokens."""
    return await _account_page(request, page, pool)


@router.post("/account/password")
async def change_password(request: Request, page: Page, pool: PoolDep) -> Response:
    """Check the current password (throttled like logins), store the new one, end every other
    session, and revoke the user's tokens when asked."""
    form = await read_csrf_form(request, page)
    current, new, confirm = form.raw("current"), form.raw("new"), form.raw("confirm")
    error = ""
    if new != confirm:
        error = "The new password and its confirmation differ."
    else:
        try:
            check_new_password(new, email=page.user.email)
        except ValueError as exc:
            error = f"The new {exc}."
    if error:
        return await _account_page(request, page, pool, error=error, status=400)
    throttle, client, key = (
        get_throttle(request),
        client_ip(request),
        password_change_key(page.user.id),
    )
    async with pool.acquire() as conn:
        wait = await throttle.attempt(conn, key, client)
        if wait > 0:
            response = await _account_page(
                request,
                page,
                pool,
                error=f"Too many wrong passwords. Try again in {math.ceil(wait)} seconds.",
                status=429,
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        stored = await user_store.get_password_hash(conn, page.user.id)
        if not await verify_password_off_loop(stored, current):
            return await _account_page(
                request, page, pool, error="The current password is wrong.", status=400
            )
        await throttle.succeeded(conn, key, client)
        new_hash = await hash_password_off_loop(new)
        async with conn.transaction():
            await user_store.set_password(conn, page.user.id, new_hash)
            await sessions.revoke_other_sessions(conn, page.user.id, keep_token=page.session_token)
            if form.get("revoke_tokens") == "on":
                await token_store.revoke_user_tokens(conn, page.user.id)
    return see_other("/account?done=password-changed")


@router.post("/account/tokens")
async def create_token(request: Request, page: Page, pool: PoolDep) -> HTMLResponse:
    """Create a personal access token; its value is shown on this response only."""
    form = await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        try:
            _token, plaintext = await tokens.create_token(conn, page.user.id, name=form.get("name"))
        except (ValueError, TypeError) as exc:
            return await _account_page(request, page, pool, error=str(exc), status=400)
    return await _account_page(request, page, pool, new_token=plaintext)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: int, page: Page, pool: PoolDep
) -> RedirectResponse:
    """Revoke one of the user's own tokens (another user's id changes nothing)."""
    await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        await token_store.revoke_token(conn, token_id, user_id=page.user.id)
    return see_other("/account?done=token-revoked")
