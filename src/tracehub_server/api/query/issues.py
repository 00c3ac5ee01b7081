"""``/api/v1/issues``: list, detail (recent events, hourly counts) and triage (PATCH)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import (
    CurrentUser,
    forbidden,
    not_found,
    resolve_projects,
    unprocessable,
)
from tracehub_server.api.query.logs import query_timeout
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, IssueDetail, IssueList, IssueOut
from tracehub_server.auth.secret import secret_key
from tracehub_server.storage import issue_queries, log_queries
from tracehub_server.storage import users as user_store
from tracehub_server.storage.log_filters import FilterError
from tracehub_server.storage.sql import QueryTimeoutError
from tracehub_server.web_deps import PoolDep, SettingsDep
from tracehub_server.web_params import (
    ISSUE_CURSOR,
    param_items,
    parse_issue_filter,
    sign_cursor,
    split_values,
)

router = APIRouter(tags=["issues"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS)

MAX_HOURS = 24 * 31


class IssuePatch(BaseModel):
    """Fields to change; omitted fields stay as they are (``assignee_id: null`` unassigns)."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(default=None, description="OPEN, IN_PROGRESS, RESOLVED, IGNORED")
    assignee_id: int | None = Field(default=None, description="A user who can read the project")


@router.get(
    "/issues",
    response_model=IssueList,
    summary="Issues, most recent (or first seen, or most frequent) first.",
)
async def list_issues(
    request: Request,
    principal: CurrentUser,
    pool: PoolDep,
    project: Annotated[list[str] | None, Query(description="Project id or name")] = None,
    status: Annotated[list[str] | None, Query(description="OPEN, IN_PROGRESS, ...")] = None,
    level: Annotated[list[str] | None, Query(description="ERROR, FATAL")] = None,
    sort: Annotated[str | None, Query(description="last_seen, first_seen or event_count")] = None,
    limit: Annotated[str | None, Query(description="1 to 1000, default 50")] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    try:
        flt = parse_issue_filter(request.query_params, cursor_key=secret_key(request))
        given = split_values(
            "project", [v for k, v in param_items(request.query_params) if k == "project"], 256
        )
    except FilterError as error:
        raise unprocessable(error.param, error.message) from None
    async with pool.acquire() as conn:
        project_ids = await resolve_projects(conn, principal.access, given)
        try:
            page = await issue_queries.list_issues(conn, project_ids, flt)
        except QueryTimeoutError as error:
            raise query_timeout(error) from None
    next_cursor = sign_cursor(secret_key(request), ISSUE_CURSOR, page.next_cursor)
    return {"issues": [i.as_dict() for i in page.issues], "next_cursor": next_cursor}


@router.get(
    "/issues/{issue_id}",
    response_model=IssueDetail,
    summary="An issue with its recent events and hourly counts.",
)
async def get_issue(
    issue_id: int,
    principal: CurrentUser,
    pool: PoolDep,
    settings: SettingsDep,
    hours: Annotated[int, Query(ge=1, le=MAX_HOURS, description="Hours of counts")] = 168,
    events: Annotated[int, Query(ge=0, le=100, description="Recent events to include")] = 20,
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        issue = await issue_queries.get_issue(
            conn, issue_id, principal.access.readable_project_ids()
        )
        if issue is None:
            raise not_found("issue")
        recent = (
            await log_queries.issue_events(
                conn, issue, limit=events, retention_days=settings.retention_days
            )
            if events
            else []
        )
        since = datetime.now(timezone.utc) - timedelta(hours=hours)
        series = await issue_queries.issue_hourly_series(conn, issue.id, since=since)
    return {
        "issue": issue.as_dict(),
        "events": [entry.as_dict() for entry in recent],
        "hourly_counts": [{"hour": hour.isoformat(), "count": n} for hour, n in series],
    }


@router.patch(
    "/issues/{issue_id}",
    response_model=IssueOut,
    summary="Change an issue's status and/or assignee.",
)
async def patch_issue(
    issue_id: int, patch: IssuePatch, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    access = principal.access
    changes: dict[str, Any] = {}
    if "status" in patch.model_fields_set:
        value = (patch.status or "").strip().upper()
        if value not in issue_queries.ISSUE_STATUSES:
            raise unprocessable(
                "status", f"must be one of {', '.join(issue_queries.ISSUE_STATUSES)}", where="body"
            )
        changes["status"] = value
    async with pool.acquire() as conn:
        issue = await issue_queries.get_issue(conn, issue_id, access.readable_project_ids())
        if issue is None:
            raise not_found("issue")
        if not access.can_write(issue.project_id):
            raise forbidden("your role in this project is read-only")
        if "assignee_id" in patch.model_fields_set:
            assignee = patch.assignee_id
            if assignee is not None and not await user_store.can_read_project(
                conn, assignee, issue.project_id
            ):
                raise unprocessable(
                    "assignee_id", "must be a user who can read this project", where="body"
                )
            changes["assignee_id"] = assignee
        updated = await issue_queries.update_issue(conn, issue.id, [issue.project_id], **changes)
    if updated is None:
        raise not_found("issue")
    return updated.as_dict()
