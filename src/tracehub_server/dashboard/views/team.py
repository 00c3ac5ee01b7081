"""Team administration: project description and deletion, invitations, deactivating and
deleting users, and the audit trail (admins; everything recorded in ``storage.audit``)."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tracehub_server.alerts.mail import send_invitation
from tracehub_server.auth import sessions
from tracehub_server.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from tracehub_server.dashboard.context import (
    Page,
    PageContext,
    ProjectPage,
    forbidden,
    not_found,
    require_admin,
)
from tracehub_server.dashboard.forms import read_csrf_form, read_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import audit, team
from tracehub_server.storage import invitations as invites
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep, SettingsDep

router = APIRouter()


def _admin_of_project(page: PageContext) -> None:
    if not page.access.is_admin:
        raise forbidden("Only administrators change this.")


async def _log(
    conn: asyncpg.Connection, page: PageContext, action: str, target: str, **detail: object
) -> None:
    await audit.record(
        conn,
        actor_id=page.user.id,
        actor_email=page.user.email,
        action=action,
        target=target,
        detail=detail,
    )


@router.post("/projects/{project_id}/settings/description")
async def set_description(request: Request, page: ProjectPage, pool: PoolDep) -> Response:
    """Describe the project (admins); shown on the projects list and in settings."""
    _admin_of_project(page)
    form = await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        try:
            await team.set_description(conn, page.project.id, form.get("description"))
        except ValueError:
            return see_other(f"/projects/{page.project.id}/settings?done=description-too-long")
        await _log(conn, page, "project.described", page.project.name)
    return see_other(f"/projects/{page.project.id}/settings?done=description-saved")


@router.post("/projects/{project_id}/settings/delete")
async def delete_project(request: Request, page: ProjectPage, pool: PoolDep) -> Response:
    """Delete the project and all it holds, once its name has been typed (admins)."""
    _admin_of_project(page)
    form = await read_csrf_form(request, page)
    if form.get("confirm") != page.project.name:
        return see_other(f"/projects/{page.project.id}/settings?done=delete-not-confirmed")
    async with pool.acquire() as conn:
        await team.delete_project(conn, page.project.id)
        await _log(conn, page, "project.deleted", page.project.name, id=page.project.id)
    return see_other("/?done=project-deleted")


@router.post("/projects/{project_id}/settings/invitations")
async def invite(
    request: Request, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    """Make a one-time link for an email and a role, and show it once (admins)."""
    _admin_of_project(page)
    form = await read_csrf_form(request, page)
    page.nav = "settings"
    try:
        async with pool.acquire() as conn:
            invitation, token = await invites.create_invitation(
                conn, page.project.id, email=form.get("email"), role=form.get("role"),
                created_by=page.user.id,
            )  # fmt: skip
            await _log(conn, page, "invitation.created", invitation.email,
                       project=page.project.name, role=invitation.role)  # fmt: skip
    except (TypeError, ValueError) as exc:
        return render(request, "error.html", {"title": "Invitation not made",
                                              "message": str(exc)}, status_code=400)  # fmt: skip
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    link = f"{base}/invite/{token}"
    sent = await send_invitation(
        settings, to=invitation.email, project=page.project.name, role=invitation.role,
        link=link, expires_at=invitation.expires_at,
    )  # fmt: skip
    return render(
        request, "invitation_created.html", {"invitation": invitation, "link": link, "sent": sent}
    )


@router.post("/projects/{project_id}/settings/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    request: Request, invitation_id: int, page: ProjectPage, pool: PoolDep
) -> Response:
    """Revoke a pending invitation: its link stops working (admins)."""
    _admin_of_project(page)
    await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        if not await invites.revoke_invitation(conn, page.project.id, invitation_id):
            raise not_found()
        await _log(conn, page, "invitation.revoked", str(invitation_id),
                   project=page.project.name)  # fmt: skip
    return see_other(f"/projects/{page.project.id}/settings?done=invitation-revoked")


@router.get("/invite/{token}")
async def invitation_form(request: Request, token: str, pool: PoolDep) -> HTMLResponse:
    """The invitee's page: set a password (or log in, for an existing account) and join."""
    async with pool.acquire() as conn:
        invitation = await invites.find_usable(conn, token)
        if invitation is None:
            return render(request, "error.html", {"title": "Invitation not valid", "message":
                "This link was used, revoked or has expired. Ask for a new one."},
                status_code=404)  # fmt: skip
        exists = await user_store.get_user_by_email(conn, invitation.email) is not None
    return _invitation_page(request, invitation, token, exists=exists)


def _invitation_page(
    request: Request,
    invitation: invites.Invitation,
    token: str,
    *,
    exists: bool,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    context = {"invitation": invitation, "token": token, "exists": exists, "error": error,
               "min_password": MIN_PASSWORD_LENGTH}  # fmt: skip
    return render(request, "invitation.html", context, status_code=status)


@router.post("/invite/{token}")
async def accept_invitation(request: Request, token: str, pool: PoolDep) -> Response:
    """Use the link: create the account (new email) or add the role, then open the project.

    The unguessable token in the path is the proof; an existing account must still log in.
    """
    form = await read_form(request)
    async with pool.acquire() as conn:
        invitation = await invites.find_usable(conn, token)
        if invitation is None:
            raise not_found()
        existing = await user_store.get_user_by_email(conn, invitation.email)
        if existing is None:
            try:
                password_hash = hash_password(form.raw("password"))
            except ValueError as exc:
                return _invitation_page(
                    request, invitation, token, exists=False, error=str(exc), status=400
                )
        async with conn.transaction():
            if not await invites.mark_accepted(conn, invitation.id):
                raise not_found()
            user = existing or await user_store.create_user(conn, invitation.email, password_hash)
            await user_store.set_membership(conn, invitation.project_id, user.id, invitation.role)
            await audit.record(conn, actor_id=user.id, actor_email=user.email,
                               action="invitation.accepted", target=user.email,
                               detail={"project_id": invitation.project_id,
                                       "role": invitation.role})  # fmt: skip
        if existing is not None:
            return see_other(f"/login?next=/projects/{invitation.project_id}")
        session_token, _csrf = await sessions.create_session(conn, user.id)
    response = see_other(f"/projects/{invitation.project_id}")
    sessions.set_session_cookie(response, request, session_token)
    return response


@router.post("/admin/users/{user_id}/{change}")
async def change_user(
    request: Request, user_id: int, change: str, page: Page, pool: PoolDep
) -> Response:
    """Deactivate, reactivate, approve or delete a user (admins; never themselves)."""
    require_admin(page)
    form = await read_csrf_form(request, page)
    actions = {"deactivate": team.deactivate_user, "reactivate": team.reactivate_user,
               "delete": team.delete_user, "approve": team.approve_user}  # fmt: skip
    if change not in actions:
        raise not_found()
    if user_id == page.user.id:
        return see_other("/admin/users?done=not-yourself")
    async with pool.acquire() as conn:
        user = await user_store.get_user(conn, user_id)
        if user is None:
            raise not_found()
        if change == "delete" and form.get("confirm") != user.email:
            return see_other("/admin/users?done=delete-not-confirmed")
        if await actions[change](conn, user_id):
            await _log(conn, page, f"user.{change}d", user.email, id=user.id)
    return see_other(f"/admin/users?done=user-{change}d")


@router.get("/admin/audit")
async def audit_page(request: Request, page: Page, pool: PoolDep) -> HTMLResponse:
    """The newest audit entries (admins)."""
    require_admin(page)
    page.nav = "audit"
    async with pool.acquire() as conn:
        entries = await audit.recent(conn)
    return render(request, "admin_audit.html", {"entries": entries})
