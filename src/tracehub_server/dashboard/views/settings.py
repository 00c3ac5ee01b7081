"""Project settings: the name (admins rename), API keys (members and admins manage them),
members (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tracehub_server.dashboard.context import (
    ProjectPage,
    ProjectPageContext,
    forbidden,
    not_found,
    require_write,
)
from tracehub_server.dashboard.dsn import public_base, sentry_dsn
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import invitations as invite_store
from tracehub_server.storage import projects as project_store
from tracehub_server.storage import team
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep

router = APIRouter()


def sdk_snippet(*, key: str, endpoint: str, project_name: str) -> str:
    """Python that sends logs with the new key: pasted as is, it works."""
    service = "".join(ch if ch.isalnum() else "-" for ch in project_name.lower()).strip("-")
    return (
        "from tracehub import TraceHubLogger\n\n"
        "logger = TraceHubLogger(\n"
        f'    api_key="{key}",\n'
        f'    service="{service or "my-service"}",\n'
        '    environment="production",\n'
        f'    endpoint="{endpoint}",\n'
        ")\n"
        'logger.info("Hello from TraceHub", extra={"user_id": "usr_42"})\n'
    )


async def _settings_page(
    request: Request,
    page: ProjectPageContext,
    pool: PoolDep,
    *,
    error: str = "",
    new_key: str | None = None,
    status: int = 200,
    name: str | None = None,
) -> HTMLResponse:
    page.nav = "settings"
    async with pool.acquire() as conn:
        keys = await project_store.list_api_keys(conn, page.project.id)
        members = await user_store.list_members(conn, page.project.id)
        invitations = await invite_store.list_invitations(conn, page.project.id)
        description = (await team.project_descriptions(conn)).get(page.project.id, "")
    snippet = None
    base = public_base(request)
    if new_key:
        endpoint = str(request.base_url).rstrip("/")
        snippet = sdk_snippet(key=new_key, endpoint=endpoint, project_name=page.project.name)
    return render(
        request,
        "settings.html",
        {
            "flashes": flashes(request),
            "error": error,
            "keys": keys,
            "members": members,
            "invitations": invitations,
            "description": description,
            "roles": user_store.ROLES,
            "new_key": new_key,
            "snippet": snippet,
            "ingest_base": base,
            "dsn": sentry_dsn(base, page.project.id, *([new_key] if new_key else [])),
            # A rejected rename shows what was typed, so it can be corrected.
            "name_value": page.project.name if name is None else name,
        },
        status_code=status,
    )


@router.get("/projects/{project_id}/settings")
async def settings(request: Request, page: ProjectPage, pool: PoolDep) -> HTMLResponse:
    """Keys and members; viewers see the lists without any buttons."""
    return await _settings_page(request, page, pool)


@router.post("/projects/{project_id}/settings/name")
async def rename_project(request: Request, page: ProjectPage, pool: PoolDep) -> Response:
    """Rename the project (admins only); a taken or invalid name is shown on the form."""
    if not page.access.is_admin:
        raise forbidden("Only administrators rename projects.")
    form = await read_csrf_form(request, page)
    name = form.get("name")
    try:
        async with pool.acquire() as conn:
            renamed = await project_store.rename_project(conn, page.project.id, name)
    except project_store.DuplicateProjectError:
        error = "Another project already has that name; choose a different one."
        return await _settings_page(request, page, pool, error=error, status=409, name=name)
    except (ValueError, TypeError) as exc:
        error = f"The name was not changed: {exc}."
        return await _settings_page(request, page, pool, error=error, status=400, name=name)
    if renamed is None:
        raise not_found()
    return see_other(f"/projects/{page.project.id}/settings?done=project-renamed")


@router.post("/projects/{project_id}/settings/keys")
async def create_key(request: Request, page: ProjectPage, pool: PoolDep) -> HTMLResponse:
    """Create an API key and show it, once, with a ready-to-paste SDK snippet."""
    require_write(page)
    form = await read_csrf_form(request, page)
    try:
        async with pool.acquire() as conn:
            _key, plaintext = await project_store.create_api_key(
                conn, page.project.id, name=form.get("name")
            )
    except (ValueError, TypeError) as exc:
        return await _settings_page(request, page, pool, error=str(exc), status=400)
    return await _settings_page(request, page, pool, new_key=plaintext)


@router.post("/projects/{project_id}/settings/keys/{key_id}/revoke")
async def revoke_key(
    request: Request, key_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Revoke a key of this project (a key id of another project is a 404)."""
    require_write(page)
    await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        if not await project_store.revoke_api_key(conn, key_id, project_id=page.project.id):
            raise not_found()
    return see_other(f"/projects/{page.project.id}/settings?done=key-revoked")


@router.post("/projects/{project_id}/settings/members")
async def save_member(request: Request, page: ProjectPage, pool: PoolDep) -> Response:
    """Add a user to the project or change their role (admins only)."""
    if not page.access.is_admin:
        raise forbidden("Only administrators manage members.")
    form = await read_csrf_form(request, page)
    role = form.get("role")
    async with pool.acquire() as conn:
        user = await user_store.get_user_by_email(conn, form.get("email"))
        if user is None:
            return await _settings_page(
                request,
                page,
                pool,
                status=400,
                error="No user has that email; add them under Users first.",
            )
        try:
            await user_store.set_membership(conn, page.project.id, user.id, role)  # type: ignore[arg-type]
        except (ValueError, LookupError) as exc:
            return await _settings_page(request, page, pool, error=str(exc), status=400)
    return see_other(f"/projects/{page.project.id}/settings?done=member-saved")


@router.post("/projects/{project_id}/settings/members/{user_id}/remove")
async def remove_member(
    request: Request, user_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Remove a user from the project (admins only)."""
    if not page.access.is_admin:
        raise forbidden("Only administrators manage members.")
    await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        await user_store.remove_membership(conn, page.project.id, user_id)
    return see_other(f"/projects/{page.project.id}/settings?done=member-removed")
