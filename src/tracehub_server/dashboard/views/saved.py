"""Saved searches of the logs explorer: save the current filters under a name, delete one.

Picking one is a plain link to the explorer with its query string; the list is shown by
the explorer itself (``views.logs``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from tracehub_server.dashboard.context import ProjectPage, not_found, require_write
from tracehub_server.dashboard.explorer import PAGE_PARAMS
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.storage import saved_searches as store
from tracehub_server.web_deps import PoolDep

router = APIRouter()


def clean_query(text: str) -> str:
    """The filters of an explorer query string, without page-only parameters and cursors."""
    pairs = parse_qsl(text, keep_blank_values=False)
    return urlencode([(k, v) for k, v in pairs if k not in PAGE_PARAMS and k != "cursor"])


@router.post("/projects/{project_id}/logs/saved")
async def save_search(request: Request, page: ProjectPage, pool: PoolDep) -> RedirectResponse:
    """Save the explorer's current filters under a name, shared with the project."""
    require_write(page)
    form = await read_csrf_form(request, page)
    query = clean_query(form.get("query"))
    back = f"/projects/{page.project.id}/logs?" + (f"{query}&" if query else "")
    try:
        async with pool.acquire() as conn:
            await store.create_saved_search(
                conn, page.project.id, name=form.get("name"), query=query, user_id=page.user.id
            )
    except store.DuplicateSearchError:
        return see_other(back + "done=search-exists")
    except ValueError:
        return see_other(back + "done=search-invalid")
    return see_other(back + "done=search-saved")


@router.post("/projects/{project_id}/logs/saved/{search_id}/delete")
async def delete_search(
    request: Request, search_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Delete one of the project's saved searches (members and admins)."""
    require_write(page)
    await read_csrf_form(request, page)
    async with pool.acquire() as conn:
        if not await store.delete_saved_search(conn, page.project.id, search_id):
            raise not_found()
    return see_other(f"/projects/{page.project.id}/logs?done=search-deleted")
