"""Team administration over JSON (admins): describe or delete a project, deactivate,
reactivate or delete a user, and read the audit trail. Each change is audited, as in the
dashboard (``dashboard.views.team``)."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import AdminUser, Principal, not_found, unprocessable
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS
from tracehub_server.storage import audit, team
from tracehub_server.storage import projects as project_store
from tracehub_server.storage import users as user_store
from tracehub_server.web_deps import PoolDep

router = APIRouter(tags=["administration"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS)


class Description(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=team.MAX_DESCRIPTION * 2)


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor_email: str
    action: str
    target: str
    detail: dict[str, Any]


async def _log(conn: asyncpg.Connection, who: Principal, action: str, target: str) -> None:
    await audit.record(
        conn, actor_id=who.user.id, actor_email=who.user.email, action=action, target=target
    )


@router.put(
    "/projects/{project_id}/description",
    status_code=204,
    summary="Set a project's description (admins).",
)
async def put_description(
    project_id: int, body: Description, principal: AdminUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        project = await project_store.get_project(conn, project_id)
        if project is None:
            raise not_found("project")
        try:
            await team.set_description(conn, project_id, body.description)
        except ValueError as error:
            raise unprocessable("description", str(error), where="body") from None
        await _log(conn, principal, "project.described", project.name)
    return Response(status_code=204)


@router.delete(
    "/projects/{project_id}",
    status_code=204,
    summary="Delete a project with its logs, issues, keys and rollups (admins).",
)
async def delete_project(
    project_id: int,
    principal: AdminUser,
    pool: PoolDep,
    confirm: str = Query(description="The project's name, typed again."),
) -> Response:
    async with pool.acquire() as conn:
        project = await project_store.get_project(conn, project_id)
        if project is None:
            raise not_found("project")
        if confirm != project.name:
            raise unprocessable("confirm", "must be the project's name")
        await team.delete_project(conn, project_id)
        await _log(conn, principal, "project.deleted", project.name)
    return Response(status_code=204)


async def _change_user(
    user_id: int, principal: Principal, pool: asyncpg.Pool, change: str
) -> Response:
    if user_id == principal.user.id:
        raise HTTPException(409, detail="you cannot do that to your own account")
    actions = {
        "deactivate": team.deactivate_user,
        "reactivate": team.reactivate_user,
        "delete": team.delete_user,
    }
    async with pool.acquire() as conn:
        user = await user_store.get_user(conn, user_id)
        if user is None:
            raise not_found("user")
        if await actions[change](conn, user_id):
            await _log(conn, principal, f"user.{change}d", user.email)
    return Response(status_code=204)


@router.post(
    "/users/{user_id}/deactivate",
    status_code=204,
    summary="Deactivate a user: their sessions and tokens stop at once (admins).",
)
async def deactivate(user_id: int, principal: AdminUser, pool: PoolDep) -> Response:
    return await _change_user(user_id, principal, pool, "deactivate")


@router.post(
    "/users/{user_id}/reactivate",
    status_code=204,
    summary="Let a deactivated user log in again; tokens stay revoked (admins).",
)
async def reactivate(user_id: int, principal: AdminUser, pool: PoolDep) -> Response:
    return await _change_user(user_id, principal, pool, "reactivate")


@router.delete(
    "/users/{user_id}",
    status_code=204,
    summary="Delete a user; the audit trail keeps their name (admins).",
)
async def delete_user(user_id: int, principal: AdminUser, pool: PoolDep) -> Response:
    return await _change_user(user_id, principal, pool, "delete")


@router.get(
    "/audit", response_model=list[AuditEntryOut], summary="The newest audit entries (admins)."
)
async def audit_trail(principal: AdminUser, pool: PoolDep) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        entries = await audit.recent(conn)
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor_email": e.actor_email,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        }
        for e in entries
    ]
