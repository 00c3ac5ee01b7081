"""Issue page actions about errors: the frame order, merging issues and unmerging."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from tracehub_server.dashboard.context import ProjectPage, not_found, require_write
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import safe_next, see_other
from tracehub_server.storage import issue_merge, issue_queries, preferences
from tracehub_server.web_deps import PoolDep

router = APIRouter()


@router.post("/projects/{project_id}/issues/{issue_id}/frame-order")
async def set_frame_order(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Remember newest-first or oldest-first frames for this user (viewers too)."""
    form = await read_csrf_form(request, page)
    order = form.get("order")
    if order not in preferences.FRAME_ORDERS:
        raise not_found()
    async with pool.acquire() as conn:
        await preferences.set_frame_order(conn, page.user.id, order)
    back = f"/projects/{page.project.id}/issues/{issue_id}"
    return see_other(safe_next(form.get("next"), back) + "#trace")


@router.post("/projects/{project_id}/issues/{issue_id}/merge")
async def merge(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Merge the selected issues into this one (members and admins)."""
    require_write(page)
    form = await read_csrf_form(request, page)
    chosen = [int(v) for v in form.getlist("issue") if v.isascii() and v.isdigit()]
    base = f"/projects/{page.project.id}/issues/{issue_id}"
    async with pool.acquire() as conn:
        if await issue_queries.get_issue(conn, issue_id, [page.project.id]) is None:
            raise not_found()
        try:
            await issue_merge.merge_issues(conn, page.project.id, issue_id, chosen)
        except issue_merge.MergeError:
            return see_other(f"{base}?done=merge-refused")
    return see_other(f"{base}?done=issues-merged")


@router.post("/projects/{project_id}/issues/{issue_id}/unmerge")
async def unmerge(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Give this merged issue its own events again (new events of its fingerprint)."""
    require_write(page)
    await read_csrf_form(request, page)
    base = f"/projects/{page.project.id}/issues/{issue_id}"
    async with pool.acquire() as conn:
        try:
            await issue_merge.unmerge_issue(conn, page.project.id, issue_id)
        except issue_merge.MergeError:
            raise not_found() from None
    return see_other(f"{base}?done=issue-unmerged")
