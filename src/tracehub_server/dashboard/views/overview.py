"""The project picker (``/``) and a project's overview: totals, volume chart, top issues."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tracehub_server.dashboard.context import Page, PageContext, ProjectPage, not_found
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.series import DEFAULT_RANGE, RANGES, bucket_starts, fill
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import issue_queries, stats
from tracehub_server.storage import projects as project_store
from tracehub_server.web_deps import PoolDep

router = APIRouter()
TOP_ISSUES = 8


async def _home(
    request: Request, page: PageContext, pool: PoolDep, *, error: str = "", status: int = 200
) -> HTMLResponse:
    page.nav = "home"
    since = datetime.now(timezone.utc) - timedelta(hours=24)
    async with pool.acquire() as conn:
        totals = {p.id: await stats.overview(conn, [p.id], since=since) for p in page.projects}
    return render(
        request,
        "home.html",
        {"flashes": flashes(request), "totals": totals, "error": error},
        status_code=status,
    )


@router.get("/")
async def home(request: Request, page: Page, pool: PoolDep) -> HTMLResponse:
    """Every project the user may read, with its last 24 hours at a glance."""
    return await _home(request, page, pool)


@router.post("/projects")
async def create_project(request: Request, page: Page, pool: PoolDep) -> Response:
    """Create a project (admins only) and go to its settings to make a key."""
    if not page.access.is_admin:
        raise not_found()
    form = await read_csrf_form(request, page)
    try:
        async with pool.acquire() as conn:
            project = await project_store.create_project(conn, form.get("name"))
    except (ValueError, TypeError) as exc:  # includes DuplicateProjectError
        return await _home(request, page, pool, error=str(exc), status=400)
    return see_other(f"/projects/{project.id}/settings?done=project-created")


@router.get("/go")
async def go(page: Page, project: str = "") -> RedirectResponse:
    """Target of the project switcher (works without JavaScript)."""
    if project.isascii() and project.isdigit() and any(p.id == int(project) for p in page.projects):
        return see_other(f"/projects/{int(project)}")
    return see_other("/")


@router.get("/projects/{project_id}")
async def overview(
    request: Request, page: ProjectPage, pool: PoolDep, range: str = DEFAULT_RANGE
) -> HTMLResponse:
    """Totals and log volume by level over the chosen range, and the top open issues."""
    assert page.project is not None
    page.nav = "overview"
    if range not in RANGES:
        range = DEFAULT_RANGE
    _label, span, size = RANGES[range]
    now = datetime.now(timezone.utc)
    since = now - span
    ids = [page.project.id]
    async with pool.acquire() as conn:
        totals = await stats.overview(conn, ids, since=since)
        points = await stats.timeline(conn, ids, since=since, bucket=size)  # type: ignore[arg-type]
        by_level = await stats.severity(conn, ids, since=since)
        top = await issue_queries.list_issues(
            conn,
            ids,
            issue_queries.IssueFilter(
                statuses=("OPEN", "IN_PROGRESS"), sort="event_count", limit=TOP_ISSUES
            ),
        )
    buckets = fill(((p.start, p.counts) for p in points), bucket_starts(since, now, size))
    return render(
        request,
        "overview.html",
        {
            "range": range,
            "ranges": RANGES,
            "totals": totals,
            "buckets": buckets,
            "hourly": size == "hour",
            "by_level": by_level,
            "top_issues": top.issues,
            "logs_since": {"24h": "24h", "7d": "7d", "30d": "30d"}[range],
        },
    )
