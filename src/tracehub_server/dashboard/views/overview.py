"""The project picker (``/``) and a project's overview: totals, volume chart, top issues."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tracehub_server.dashboard import onboarding
from tracehub_server.dashboard.context import (
    Page,
    PageContext,
    PageError,
    ProjectPage,
    ProjectPageContext,
    not_found,
    require_write,
)
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.series import DEFAULT_RANGE, RANGES, bucket_starts, fill
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import issue_queries, stats, team
from tracehub_server.storage import projects as project_store
from tracehub_server.web_deps import PoolDep, SettingsDep

router = APIRouter()
TOP_ISSUES = 8


async def _home(
    request: Request, page: PageContext, pool: PoolDep, *, error: str = "", status: int = 200
) -> HTMLResponse:
    page.nav = "home"
    since = datetime.now(timezone.utc) - timedelta(hours=24)
    async with pool.acquire() as conn:
        totals = {p.id: await stats.overview(conn, [p.id], since=since) for p in page.projects}
        descriptions = await team.project_descriptions(conn)
    return render(
        request,
        "home.html",
        {
            "flashes": flashes(request),
            "totals": totals,
            "error": error,
            "descriptions": descriptions,
        },
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
    """Target of the project switcher (works without JavaScript).

    No project chosen goes home; anything but a project id is a 400, never int()'s crash.
    """
    if not project:
        return see_other("/")
    if not (project.isascii() and project.isdigit()):
        raise PageError(400, "Bad request", "project must be a project id (digits 0-9).")
    if any(p.id == int(project) for p in page.projects):
        return see_other(f"/projects/{int(project)}")
    raise not_found()


def _onboarding(
    request: Request, page: ProjectPageContext, endpoint: str | None, *, key: str | None = None
) -> HTMLResponse:
    endpoint = (endpoint or str(request.base_url)).rstrip("/")
    return render(
        request,
        "onboarding.html",
        {
            "endpoint": endpoint,
            "new_key": key,
            "snippets": onboarding.snippets(
                endpoint=endpoint,
                key=key,
                project_id=page.project.id,
                project_name=page.project.name,
            ),
        },
    )


@router.get("/projects/{project_id}/first-event")
async def first_event(page: ProjectPage, pool: PoolDep) -> JSONResponse:
    """Whether the project has received anything yet (polled by the onboarding page)."""
    async with pool.acquire() as conn:
        ready = await stats.has_logs(conn, page.project.id)
    return JSONResponse({"ready": ready}, headers={"Cache-Control": "no-store"})


@router.post("/projects/{project_id}/first-key")
async def first_key(
    request: Request, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    """Make an API key from the onboarding page and show the snippets with it, once."""
    require_write(page)
    await read_csrf_form(request, page)
    page.nav = "overview"
    async with pool.acquire() as conn:
        _key, plaintext = await project_store.create_api_key(
            conn, page.project.id, name="first key"
        )
    return _onboarding(request, page, settings.public_url, key=plaintext)


@router.get("/projects/{project_id}")
async def overview(
    request: Request,
    page: ProjectPage,
    pool: PoolDep,
    settings: SettingsDep,
    range: str = DEFAULT_RANGE,
) -> HTMLResponse:
    """Totals and log volume by level over the chosen range, and the top open issues; a
    project that has never received an event shows how to send the first one instead."""
    page.nav = "overview"
    async with pool.acquire() as conn:
        if not await stats.has_logs(conn, page.project.id):
            return _onboarding(request, page, settings.public_url)
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
            "by_level": by_level,
            "top_issues": top.issues,
            "logs_since": {"24h": "24h", "7d": "7d", "30d": "30d"}[range],
        },
    )
