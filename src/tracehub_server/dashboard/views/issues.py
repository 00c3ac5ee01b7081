"""Issues: the list with status tabs and sparklines, and an issue's detail with its actions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tracehub_server.auth.secret import secret_key
from tracehub_server.dashboard.context import (
    ProjectPage,
    ProjectPageContext,
    not_found,
    require_write,
)
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.series import bucket_starts, fill, hourly_counts
from tracehub_server.dashboard.templating import query_string, render
from tracehub_server.dashboard.traces import error_detail
from tracehub_server.storage import issue_events, issue_queries, log_queries, preferences
from tracehub_server.storage import users as user_store
from tracehub_server.storage.issue_queries import ISSUE_STATUSES, UNCHANGED, Issue
from tracehub_server.storage.log_filters import FilterError
from tracehub_server.web_deps import PoolDep, SettingsDep
from tracehub_server.web_params import ISSUE_CURSOR, parse_issue_filter, sign_cursor

router = APIRouter()

#: Tabs of the list: (label, status parameter); "" lists every status.
TABS = (("Open", "OPEN"), ("In progress", "IN_PROGRESS"), ("Resolved", "RESOLVED"),
        ("Ignored", "IGNORED"), ("All", ""))  # fmt: skip
SPARK_HOURS = 24
DETAIL_HOURS = 24 * 7
#: Issues offered on an issue's page to merge into it.
MERGE_CANDIDATES = 50
#: The status buttons offered from each status (the issue's workflow).
NEXT_STATUSES = {
    "OPEN": ("IN_PROGRESS", "RESOLVED", "IGNORED"),
    "IN_PROGRESS": ("RESOLVED", "OPEN", "IGNORED"),
    "RESOLVED": ("OPEN",),
    "IGNORED": ("OPEN",),
}
STATUS_BUTTONS = {
    "OPEN": "Reopen",
    "IN_PROGRESS": "Start progress",
    "RESOLVED": "Resolve",
    "IGNORED": "Ignore",
}


@router.get("/projects/{project_id}/issues")
async def issue_list(request: Request, page: ProjectPage, pool: PoolDep) -> HTMLResponse:
    """Issues of one status tab, filtered by level, sorted, with 24-hour sparklines."""
    page.nav = "issues"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "project"][:50]
    if not any(k == "status" for k, _ in params):
        params.append(("status", "OPEN"))
    params = [(k, v) for k, v in params if not (k == "status" and v == "")]
    error, result = "", issue_queries.IssuePage(issues=[], next_cursor=None)
    now = datetime.now(timezone.utc)
    starts = bucket_starts(now - timedelta(hours=SPARK_HOURS - 1), now, "hour")
    sparks: dict[int, list[int]] = {}
    try:
        flt = parse_issue_filter(params, cursor_key=secret_key(request))
        async with pool.acquire() as conn:
            result = await issue_queries.list_issues(conn, [page.project.id], flt)
            for issue in result.issues:
                series = await issue_queries.issue_hourly_series(conn, issue.id, since=starts[0])
                sparks[issue.id] = hourly_counts(series, starts)
    except FilterError as exc:
        error = str(exc)
    status = request.query_params.get("status", "OPEN")
    keep = [(k, v) for k, v in params if k not in ("cursor",)]
    base = f"/projects/{page.project.id}/issues"
    next_cursor = sign_cursor(secret_key(request), ISSUE_CURSOR, result.next_cursor)
    return render(
        request,
        "issues.html",
        {
            "tabs": TABS,
            "status": status.upper(),
            "level": request.query_params.get("level", ""),
            "sort": request.query_params.get("sort", "last_seen"),
            "issues": result.issues,
            "sparks": sparks,
            "error": error,
            "next_url": base + query_string(keep, cursor=next_cursor) if next_cursor else None,
            "base": base,
        },
        status_code=422 if error else 200,
    )


async def _assignees(conn: asyncpg.Connection, page: ProjectPageContext) -> list[tuple[int, str]]:
    """Users who may be assigned: the project's members and the admins."""
    members = await user_store.list_members(conn, page.project.id)
    admins = [u for u in await user_store.list_users(conn) if u.is_admin]
    found = {m.user_id: m.email for m in members if m.role == "member"}
    found.update({u.id: u.email for u in admins})
    return sorted(found.items(), key=lambda item: item[1])


async def _load_issue(conn: asyncpg.Connection, page: ProjectPageContext, issue_id: int) -> Issue:
    issue = await issue_queries.get_issue(conn, issue_id, [page.project.id])
    if issue is None:
        raise not_found()
    return issue


@router.get("/projects/{project_id}/issues/{issue_id}")
async def issue_detail(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    """Title, one event's exception chain (``?event=``, default the newest) with older/newer
    navigation, why it was grouped, the 7-day chart, recent events, triage and merging."""
    page.nav = "issues"
    now = datetime.now(timezone.utc)
    starts = bucket_starts(now - timedelta(hours=DETAIL_HOURS - 1), now, "hour")
    wanted = request.query_params.get("event")
    event_id = log_queries.parse_event_id(wanted) if wanted else None
    if wanted and event_id is None:
        raise not_found()
    retention = settings.retention_days
    async with pool.acquire() as conn:
        issue = await _load_issue(conn, page, issue_id)
        event = await issue_events.issue_event(conn, issue, event_id, retention_days=retention)
        if wanted and event is None:
            raise not_found()
        older = newer = None
        if event is not None:
            older, newer = await issue_events.event_neighbours(
                conn, issue, event, retention_days=retention
            )
        events = await log_queries.issue_events(conn, issue, limit=20, retention_days=retention)
        series = await issue_queries.issue_hourly_series(conn, issue.id, since=starts[0])
        assignees = await _assignees(conn, page) if page.can_write else []
        order = await preferences.get_frame_order(conn, page.user.id)
        merge_candidates = await _merge_candidates(conn, page, issue) if page.can_write else []
        target = await issue_queries.get_issue(
            conn, issue.merged_into, [page.project.id]
        ) if issue.merged_into else None  # fmt: skip
    detail = error_detail(issue, event, newest_first=order == "newest")
    return render(
        request,
        "issue_detail.html",
        {
            "flashes": flashes(request),
            "issue": issue,
            "event": event,
            "older": older,
            "newer": newer,
            "frame_order": order,
            "trace_since": f"{retention}d",
            "trace": detail.trace,
            "grouping": detail.grouping,
            "events": events,
            "buckets": fill(((hour, {issue.level: n}) for hour, n in series), starts),
            "next_statuses": NEXT_STATUSES.get(issue.status, ISSUE_STATUSES),
            "status_buttons": STATUS_BUTTONS,
            "assignees": assignees,
            "merge_candidates": merge_candidates,
            "merged_target": target,
        },
    )


async def _merge_candidates(
    conn: asyncpg.Connection, page: ProjectPageContext, issue: Issue
) -> list[Issue]:
    """Other unresolved issues of the project, offered to merge into this one."""
    if issue.merged_into is not None:
        return []
    flt = issue_queries.IssueFilter(statuses=("OPEN", "IN_PROGRESS"), limit=MERGE_CANDIDATES)
    found = await issue_queries.list_issues(conn, [page.project.id], flt)
    return [other for other in found.issues if other.id != issue.id]


@router.post("/projects/{project_id}/issues/{issue_id}/status")
async def set_status(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Move the issue to another status (members and admins; viewers get 403)."""
    require_write(page)
    form = await read_csrf_form(request, page)
    status = form.get("status").upper()
    if status not in ISSUE_STATUSES:
        raise not_found()
    async with pool.acquire() as conn:
        await _load_issue(conn, page, issue_id)
        await issue_queries.update_issue(conn, issue_id, [page.project.id], status=status)
    return see_other(f"/projects/{page.project.id}/issues/{issue_id}?done=issue-updated")


@router.post("/projects/{project_id}/issues/{issue_id}/assignee")
async def set_assignee(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Assign the issue to a member or admin of the project, or to nobody."""
    require_write(page)
    form = await read_csrf_form(request, page)
    raw = form.get("assignee")
    async with pool.acquire() as conn:
        await _load_issue(conn, page, issue_id)
        assignee: int | None = UNCHANGED
        if raw == "":
            assignee = None
        elif raw.isascii() and raw.isdigit() and int(raw) in dict(await _assignees(conn, page)):
            assignee = int(raw)
        else:
            raise not_found()
        await issue_queries.update_issue(conn, issue_id, [page.project.id], assignee_id=assignee)
    return see_other(f"/projects/{page.project.id}/issues/{issue_id}?done=issue-updated")
