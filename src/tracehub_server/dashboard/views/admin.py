"""Administration: users and the admin flag (admins only; others get a 404)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tracehub_server.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    check_new_password,
    hash_password_off_loop,
)
from tracehub_server.dashboard.context import Page, PageContext, require_admin
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import team
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep

router = APIRouter()


async def _users_page(
    request: Request, page: PageContext, pool: PoolDep, *, error: str = "", status: int = 200
) -> HTMLResponse:
    page.nav = "admin"
    async with pool.acquire() as conn:
        users = await user_store.list_users(conn)
        roles = {u.id: await user_store.memberships(conn, u.id) for u in users}
        deactivated = await team.deactivated_ids(conn)
        waiting = await team.awaiting_approval_ids(conn)
    names = {p.id: p.name for p in page.projects}
    return render(
        request,
        "admin_users.html",
        {
            "flashes": flashes(request),
            "error": error,
            "users": users,
            "roles": roles,
            "deactivated": deactivated - waiting,
            "waiting": waiting,
            "names": names,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.get("/admin/users")
async def users(request: Request, page: Page, pool: PoolDep) -> HTMLResponse:
    """Every user with their project roles, and the form to add one."""
    require_admin(page)
    return await _users_page(request, page, pool)


@router.post("/admin/users")
async def create_user(request: Request, page: Page, pool: PoolDep) -> Response:
    """Add a user (optionally an admin); project roles are given in each project's settings."""
    require_admin(page)
    form = await read_csrf_form(request, page)
    try:
        check_new_password(form.raw("password"), email=form.get("email"))
        password_hash = await hash_password_off_loop(form.raw("password"))
        async with pool.acquire() as conn:
            await user_store.create_user(
                conn, form.get("email"), password_hash, is_admin=form.get("is_admin") == "on"
            )
    except ValueError as exc:  # bad email or password, or DuplicateUserError
        return await _users_page(request, page, pool, error=str(exc), status=400)
    return see_other("/admin/users?done=user-created")


@router.post("/admin/users/{user_id}/admin")
async def set_admin(request: Request, user_id: int, page: Page, pool: PoolDep) -> Response:
    """Grant or withdraw the admin flag; an admin cannot demote themselves (no lock-out)."""
    require_admin(page)
    form = await read_csrf_form(request, page)
    if user_id == page.user.id:
        return await _users_page(
            request, page, pool, error="You cannot remove your own admin rights.", status=400
        )
    async with pool.acquire() as conn:
        await user_store.set_admin(conn, user_id, form.get("is_admin") == "on")
    return see_other("/admin/users?done=user-updated")
