"""Log in and log out.

The login form is protected against login CSRF with a signed double-submit token: a value
in a short-lived HttpOnly cookie, signed with the server's secret key, must come back in the
form (a session's own CSRF token does not exist yet), and the request's ``Origin`` must be
this site's (``auth.origin``). Failed logins show one message whatever was wrong, and cost
the same argon2 work for unknown emails, so the form does not reveal which emails have
accounts; they are slowed down per email and address by ``auth.throttle`` (the same
throttle as the JSON login).

While the database has no users at all, the page says how to create the first administrator
with the CLI. There is deliberately no web form for it: whoever reached the page first would
own the instance.
"""

from __future__ import annotations

import hmac
import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tracehub_server.auth import sessions
from tracehub_server.auth.passwords import rehash_if_needed, verify_password_off_loop
from tracehub_server.auth.secret import secret_key, sign, verify
from tracehub_server.auth.throttle import client_ip, get_throttle
from tracehub_server.dashboard.context import Page, forbidden
from tracehub_server.dashboard.forms import read_csrf_form, read_form
from tracehub_server.dashboard.redirects import landing, safe_next, see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep

router = APIRouter()

LOGIN_CSRF_COOKIE = "tracehub_login_csrf"
#: The login form's token is signed with the server's key (``auth.secret``) for this purpose,
#: so a token planted by another site (cookie tossing) is refused; it lasts this many seconds.
LOGIN_CSRF_PURPOSE = "login-csrf"
LOGIN_CSRF_MAX_AGE = 3600
_BAD_LOGIN = "That email and password do not match an account."


def _login_page(
    request: Request,
    *,
    next_url: str,
    email: str = "",
    error: str = "",
    status: int = 200,
    first_run: bool = False,
) -> HTMLResponse:
    key = secret_key(request)
    token = request.cookies.get(sessions.cookie_name(request, LOGIN_CSRF_COOKIE)) or ""
    if not verify(key, LOGIN_CSRF_PURPOSE, token, max_age=LOGIN_CSRF_MAX_AGE / 2):
        token = sign(key, LOGIN_CSRF_PURPOSE)
    response = render(
        request,
        "login.html",
        {
            "csrf": token,
            "next": next_url,
            "email": email,
            "error": error,
            "first_run": first_run,
        },
        status_code=status,
    )
    response.set_cookie(
        sessions.cookie_name(request, LOGIN_CSRF_COOKIE),
        token,
        max_age=LOGIN_CSRF_MAX_AGE,
        path="/",  # what the __Host- prefix requires
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
async def login_form(request: Request, pool: PoolDep, next: str = "/") -> HTMLResponse:
    """The login form; a logged-in user goes straight on."""
    async with pool.acquire() as conn:
        if await sessions.load_session(conn, sessions.session_token(request)):
            return see_other(safe_next(next))  # type: ignore[return-value]
        first_run = not await user_store.has_users(conn)
    return _login_page(request, next_url=safe_next(next), first_run=first_run)


@router.post("/login")
async def login(request: Request, pool: PoolDep) -> Response:
    """Check the credentials and start a session (303 to ``next``)."""
    form = await read_form(request)
    cookie = request.cookies.get(sessions.cookie_name(request, LOGIN_CSRF_COOKIE), "")
    presented = form.raw(sessions.CSRF_FORM_FIELD)
    if (
        not cookie
        or not presented
        or not hmac.compare_digest(cookie.encode(), presented.encode("utf-8", "replace"))
        or not verify(secret_key(request), LOGIN_CSRF_PURPOSE, cookie, max_age=LOGIN_CSRF_MAX_AGE)
    ):
        raise forbidden("The login form expired; reload the page and log in again.")
    email, password = form.get("email")[:300], form.raw("password")[:2000]
    next_url = safe_next(form.get("next"))
    throttle, client = get_throttle(request), client_ip(request)
    async with pool.acquire() as conn:
        wait = await throttle.attempt(conn, email, client)
    if wait > 0:
        response = _login_page(
            request,
            next_url=next_url,
            email=email,
            status=429,
            error=f"Too many failed attempts. Try again in {math.ceil(wait)} seconds.",
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    async with pool.acquire() as conn:
        found = await user_store.get_credentials(conn, email)
        ok = await verify_password_off_loop(found[1] if found else None, password)
        if not ok or found is None:
            return _login_page(
                request,
                next_url=next_url,
                email=email,
                error=_BAD_LOGIN,
                status=400,
                first_run=not await user_store.has_users(conn),  # same work either way
            )
        user = found[0]
        await rehash_if_needed(conn, user.id, found[1], password)
        await throttle.succeeded(conn, email, client)
        token, _csrf = await sessions.create_session(conn, user.id)
        await user_store.record_login(conn, user.id)
        next_url = await landing(conn, user, next_url)
    redirect = see_other(next_url)
    sessions.set_session_cookie(redirect, request, token)
    redirect.delete_cookie(sessions.cookie_name(request, LOGIN_CSRF_COOKIE), path="/")
    return redirect


@router.get("/logout")
async def logout_form(request: Request, page: Page) -> HTMLResponse:
    """A confirmation page: logging out is a POST so other sites cannot trigger it."""
    page.nav = "account"
    return render(request, "logout.html", {})


@router.post("/logout")
async def logout(request: Request, page: Page, pool: PoolDep) -> RedirectResponse:
    """End this session and forget the cookie."""
    await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        await sessions.revoke_session(conn, page.session_token)
    response = see_other("/login")
    sessions.clear_session_cookie(response, request)
    return response
