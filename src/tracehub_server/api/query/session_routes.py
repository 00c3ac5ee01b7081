"""``/api/v1/auth``: JSON login, logout, password change and "who am I".

Login answers one message for an unknown email and a wrong password alike, and spends the
same argon2 work on both, so it does not reveal which emails have accounts. Failed attempts
are slowed down per (email, address) by :mod:`tracehub_server.auth.throttle` (429 with
``Retry-After``). A login must be sent as ``application/json``: a cross-site HTML form
cannot send that without a CORS preflight, which closes login CSRF.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import CurrentUser, unprocessable
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import ErrorOut, LoginOut, MeOut
from tracehub_server.api.query.users import user_dict
from tracehub_server.auth import sessions
from tracehub_server.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    check_new_password,
    hash_password_off_loop,
    rehash_if_needed,
    verify_password_off_loop,
)
from tracehub_server.auth.throttle import client_ip, get_throttle, password_change_key
from tracehub_server.storage import tokens as token_store
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep

router = APIRouter(prefix="/auth", tags=["auth"], route_class=LimitedBodyRoute)

_BAD_LOGIN = "wrong email or password"


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=1000)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH * 4)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH * 4)
    new_password: str = Field(max_length=MAX_PASSWORD_LENGTH * 4)
    #: Also revoke every personal access token (a password change alone leaves them valid).
    revoke_tokens: bool = False


def _me(principal: Any) -> dict[str, Any]:
    access = principal.access
    return {
        "user": user_dict(principal.user),
        "roles": {str(pid): role for pid, role in sorted(access.roles.items())},
        "csrf_token": principal.session.csrf_token if principal.session else None,
    }


@router.post(
    "/login",
    response_model=LoginOut,
    responses={
        401: {"model": ErrorOut, "description": "Wrong email or password"},
        415: {"model": ErrorOut, "description": "Not sent as application/json"},
        429: {"model": ErrorOut, "description": "Too many failed logins; see Retry-After"},
    },
    summary="Log in: sets the session cookie, returns the CSRF token.",
)
async def login(request: Request, body: Login, pool: PoolDep, response: Response) -> dict:
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        raise HTTPException(415, detail="send the login as application/json")
    throttle, client = get_throttle(request), client_ip(request)
    async with pool.acquire() as conn:
        wait = await throttle.attempt(conn, body.email, client)
        if wait > 0:
            raise HTTPException(
                429,
                detail=f"too many failed logins; try again in {math.ceil(wait)} s",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        found = await user_store.get_credentials(conn, body.email)
        ok = await verify_password_off_loop(found[1] if found else None, body.password)
        if not ok or found is None:
            raise HTTPException(401, detail=_BAD_LOGIN)
        user = found[0]
        await rehash_if_needed(conn, user.id, found[1], body.password)
        await throttle.succeeded(conn, body.email, client)
        token, csrf = await sessions.create_session(conn, user.id)
        await user_store.record_login(conn, user.id)
    sessions.set_session_cookie(response, request, token)
    return {"user": user_dict(user), "csrf_token": csrf}


@router.post("/logout", status_code=204, summary="End this session.")
async def logout(request: Request, principal: CurrentUser, pool: PoolDep) -> Response:
    out = Response(status_code=204)
    if principal.session_token:
        async with pool.acquire() as conn:
            await sessions.revoke_session(conn, principal.session_token)
        sessions.clear_session_cookie(out, request)
    return out


@router.get(
    "/me", response_model=MeOut, summary="Who you are, your roles, and this session's CSRF token."
)
async def me(principal: CurrentUser) -> dict[str, Any]:
    return _me(principal)


@router.post(
    "/password", status_code=204, summary="Change your password; ends your other sessions."
)
async def change_password(
    request: Request, body: PasswordChange, principal: CurrentUser, pool: PoolDep
) -> Response:
    throttle, client = get_throttle(request), client_ip(request)
    key = password_change_key(principal.user.id)
    try:
        check_new_password(body.new_password, email=principal.user.email)
    except ValueError as error:
        raise unprocessable("new_password", str(error), where="body") from None
    async with pool.acquire() as conn:
        wait = await throttle.attempt(conn, key, client)
        if wait > 0:
            raise HTTPException(
                429,
                detail=f"too many wrong current passwords; try again in {math.ceil(wait)} s",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        stored = await user_store.get_password_hash(conn, principal.user.id)
        if not await verify_password_off_loop(stored, body.current_password):
            raise unprocessable("current_password", "is not your current password", where="body")
        await throttle.succeeded(conn, key, client)
        new_hash = await hash_password_off_loop(body.new_password)
        async with conn.transaction():
            await user_store.set_password(conn, principal.user.id, new_hash)
            await sessions.revoke_other_sessions(
                conn, principal.user.id, keep_token=principal.session_token
            )
            if body.revoke_tokens:
                await token_store.revoke_user_tokens(conn, principal.user.id)
    return Response(status_code=204)
