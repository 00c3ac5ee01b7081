"""Optional self-service sign-up (``TRACEHUB_SIGNUP``, off by default).

A new account is created deactivated and awaiting approval: it cannot log in, and so sees
nothing, until an admin approves it on the Users page. The page answers 404 when sign-up
is off, and says the same thing whether or not the email already had an account.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tracehub_server.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from tracehub_server.dashboard.context import not_found
from tracehub_server.dashboard.forms import read_form
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import audit, team
from tracehub_server.storage.users import DuplicateUserError
from tracehub_server.web_deps import PoolDep, SettingsDep

router = APIRouter()


def _form(
    request: Request, *, error: str = "", done: bool = False, status: int = 200
) -> HTMLResponse:
    context = {"error": error, "done": done, "min_password": MIN_PASSWORD_LENGTH}
    return render(request, "signup.html", context, status_code=status)


@router.get("/signup")
async def signup_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The sign-up form, when enabled."""
    if not settings.signup:
        raise not_found()
    return _form(request)


@router.post("/signup")
async def signup(request: Request, pool: PoolDep, settings: SettingsDep) -> HTMLResponse:
    """Create an account awaiting approval."""
    if not settings.signup:
        raise not_found()
    form = await read_form(request)
    try:
        password_hash = hash_password(form.raw("password"))
        async with pool.acquire() as conn:
            user_id = await team.sign_up(conn, form.get("email"), password_hash)
            email = form.get("email").strip().lower()
            await audit.record(
                conn, actor_id=user_id, actor_email=email, action="user.signed_up", target=email
            )
    except DuplicateUserError:
        return _form(request, done=True)  # the same answer: no account discovery
    except (TypeError, ValueError) as exc:
        return _form(request, error=str(exc), status=400)
    return _form(request, done=True)
