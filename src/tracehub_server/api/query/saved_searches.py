"""``/api/v1/projects/{id}/saved-searches``: the logs explorer's saved searches.

Rights: whoever reads the project lists them (they are shared with its members); members
and admins save and delete them; viewers only read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import (
    CurrentUser,
    not_found,
    readable_project,
    unprocessable,
    writable_project,
)
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, ErrorOut
from tracehub_server.storage import saved_searches as store
from tracehub_server.web_deps import PoolDep

router = APIRouter(
    prefix="/projects", tags=["saved searches"], route_class=LimitedBodyRoute,
    responses=AUTH_ERRORS,
)  # fmt: skip


class NewSavedSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=store.MAX_NAME * 2)
    query: str = Field(
        max_length=store.MAX_QUERY,
        description="The logs query string, as in GET /api/v1/logs (level=ERROR&q=timeout).",
    )


class SavedSearchOut(BaseModel):
    id: int
    project_id: int
    name: str
    query: str
    created_by: str | None
    created_at: str


def _out(search: store.SavedSearch) -> dict[str, Any]:
    return {
        "id": search.id,
        "project_id": search.project_id,
        "name": search.name,
        "query": search.query,
        "created_by": search.created_by,
        "created_at": search.created_at.isoformat(),
    }


@router.get(
    "/{project_id}/saved-searches",
    response_model=list[SavedSearchOut],
    summary="The project's saved log searches.",
)
async def list_searches(
    project_id: int, principal: CurrentUser, pool: PoolDep
) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        return [_out(s) for s in await store.list_saved_searches(conn, project_id)]


@router.post(
    "/{project_id}/saved-searches",
    response_model=SavedSearchOut,
    status_code=201,
    responses={409: {"model": ErrorOut, "description": "The name is already taken"}},
    summary="Save a log search under a name (members and admins).",
)
async def create_search(
    project_id: int, body: NewSavedSearch, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        try:
            search = await store.create_saved_search(
                conn, project_id, name=body.name, query=body.query, user_id=principal.user.id
            )
        except store.DuplicateSearchError as error:
            raise HTTPException(409, detail=str(error)) from None
        except ValueError as error:
            field = "query" if str(error).startswith("query") else "name"
            raise unprocessable(field, str(error), where="body") from None
    return _out(search)


@router.delete(
    "/{project_id}/saved-searches/{search_id}",
    status_code=204,
    summary="Delete a saved search (members and admins).",
)
async def delete_search(
    project_id: int, search_id: int, principal: CurrentUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        if not await store.delete_saved_search(conn, project_id, search_id):
            raise not_found("saved search")
    return Response(status_code=204)
