"""``/api/v1/projects``: projects, their API keys and their members.

Rights: anyone lists the projects they can read; admins create projects and manage members;
members (and admins) create and revoke the project's API keys; viewers only read.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import (
    AdminUser,
    CurrentUser,
    not_found,
    readable_project,
    unprocessable,
    writable_project,
)
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import (
    AUTH_ERRORS,
    ApiKeyOut,
    ErrorOut,
    MemberOut,
    NewApiKeyOut,
    ProjectOut,
)
from tracehub_server.storage import projects as project_store
from tracehub_server.storage import users as user_store
from tracehub_server.storage.projects import ApiKey, Project
from tracehub_server.web_deps import PoolDep

router = APIRouter(
    prefix="/projects", tags=["projects"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS
)

_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The name is already taken"}
}


class NewProject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=400)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=800)


class MemberRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["member", "viewer"]


def _project(project: Project, role: str | None) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "created_at": project.created_at.isoformat(),
        "role": role,
    }


def _key(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "project_id": key.project_id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@router.get(
    "", response_model=list[ProjectOut], summary="Projects you can read, with your role in each."
)
async def list_projects(principal: CurrentUser, pool: PoolDep) -> list[dict[str, Any]]:
    access = principal.access
    async with pool.acquire() as conn:
        projects = await project_store.list_projects(conn)
    return [_project(p, access.role(p.id)) for p in projects if access.can_read(p.id)]


@router.post(
    "",
    response_model=ProjectOut,
    status_code=201,
    responses=_TAKEN,
    summary="Create a project (admins).",
)
async def create_project(body: NewProject, principal: AdminUser, pool: PoolDep) -> dict[str, Any]:
    async with pool.acquire() as conn:
        try:
            project = await project_store.create_project(conn, body.name)
        except project_store.DuplicateProjectError as error:
            raise HTTPException(409, detail=str(error)) from None
        except ValueError as error:
            raise unprocessable("name", str(error), where="body") from None
    return _project(project, "admin")


@router.get("/{project_id}", response_model=ProjectOut, summary="One project.")
async def get_project(project_id: int, principal: CurrentUser, pool: PoolDep) -> dict[str, Any]:
    async with pool.acquire() as conn:
        project = await readable_project(conn, principal.access, project_id)
    return _project(project, principal.access.role(project.id))


@router.patch(
    "/{project_id}",
    response_model=ProjectOut,
    responses=_TAKEN,
    summary="Rename a project (admins); 409 if the name is taken.",
)
async def rename_project(
    project_id: int, body: NewProject, principal: AdminUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        try:
            project = await project_store.rename_project(conn, project_id, body.name)
        except project_store.DuplicateProjectError as error:
            raise HTTPException(409, detail=str(error)) from None
        except ValueError as error:
            raise unprocessable("name", str(error), where="body") from None
    if project is None:
        raise not_found("project")
    return _project(project, "admin")


@router.get(
    "/{project_id}/keys",
    response_model=list[ApiKeyOut],
    summary="The project's API keys (prefixes only).",
)
async def list_keys(project_id: int, principal: CurrentUser, pool: PoolDep) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        keys = await project_store.list_api_keys(conn, project_id)
    return [_key(k) for k in keys]


@router.post(
    "/{project_id}/keys",
    response_model=NewApiKeyOut,
    status_code=201,
    summary="Create an API key; the key is shown once.",
)
async def create_key(
    project_id: int, body: NewKey, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        try:
            key, plaintext = await project_store.create_api_key(conn, project_id, name=body.name)
        except LookupError:
            raise not_found("project") from None
        except ValueError as error:
            raise unprocessable("name", str(error), where="body") from None
    return {**_key(key), "key": plaintext}


@router.delete("/{project_id}/keys/{key_id}", status_code=204, summary="Revoke an API key.")
async def revoke_key(
    project_id: int, key_id: int, principal: CurrentUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        if not await project_store.revoke_api_key(conn, key_id, project_id=project_id):
            raise not_found("key")
    return Response(status_code=204)


@router.get(
    "/{project_id}/members",
    response_model=list[MemberOut],
    summary="The project's members and their roles.",
)
async def list_members(
    project_id: int, principal: CurrentUser, pool: PoolDep
) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        members = await user_store.list_members(conn, project_id)
    return [{"user_id": m.user_id, "email": m.email, "role": m.role} for m in members]


@router.put(
    "/{project_id}/members/{user_id}",
    response_model=MemberOut,
    summary="Add a member or change a role (admins).",
)
async def put_member(
    project_id: int, user_id: int, body: MemberRole, principal: AdminUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        user = await user_store.get_user(conn, user_id)
        if user is None:
            raise not_found("user")
        try:
            await user_store.set_membership(conn, project_id, user_id, body.role)
        except LookupError:
            raise not_found("project or user") from None
    return {"user_id": user.id, "email": user.email, "role": body.role}


@router.delete(
    "/{project_id}/members/{user_id}", status_code=204, summary="Remove a member (admins)."
)
async def delete_member(
    project_id: int, user_id: int, principal: AdminUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        if not await user_store.remove_membership(conn, project_id, user_id):
            raise not_found("member")
    return Response(status_code=204)
