"""``GET /api/v1/logs`` and ``GET /api/v1/logs/{id}``: the logs explorer's JSON side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from tracehub_server.api.query.deps import (
    CurrentUser,
    not_found,
    resolve_projects,
    unprocessable,
)
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, ErrorOut, LogDetail, LogList
from tracehub_server.auth.secret import secret_key
from tracehub_server.storage import log_queries
from tracehub_server.storage.log_filters import FilterError
from tracehub_server.storage.scan_budget import DEFAULT_BUDGET
from tracehub_server.web_deps import PoolDep, SettingsDep
from tracehub_server.web_params import LOG_CURSOR, parse_log_filter, sign_cursor

router = APIRouter(tags=["logs"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS)

_SCAN_DOC = (
    " With `q`, `level`, `service`, `environment` or `module` (filters no index serves) a"
    " request searches the range newest first for about 200 ms at most. If it stops with"
    " range left, it returns what it found (possibly fewer than `limit`, even none), the time"
    " it searched back to in `scanned_until` and a `next_cursor` to continue from there."
)
_EXTRA_DOC = (
    " Add `extra.<key>=<value>` parameters (nested keys with dots, e.g. `extra.user.id=7`) to"
    " match JSON fields of `extra`; a value that reads as a JSON number, boolean or null"
    " matches both that and the string."
)


def query_timeout(error: log_queries.QueryTimeoutError) -> HTTPException:
    return HTTPException(503, detail=str(error))


@router.get(
    "/logs",
    response_model=LogList,
    responses={503: {"model": ErrorOut, "description": "Ran past the statement timeout"}},
    summary="Search logs, newest first.",
    description=_SCAN_DOC + _EXTRA_DOC,
)
async def list_logs(
    request: Request,
    principal: CurrentUser,
    pool: PoolDep,
    settings: SettingsDep,
    project: Annotated[list[str] | None, Query(description="Project id or name")] = None,
    level: Annotated[
        list[str] | None, Query(description="DEBUG, INFO, WARN, ERROR, FATAL; repeat or a,b")
    ] = None,
    service: Annotated[list[str] | None, Query()] = None,
    environment: Annotated[list[str] | None, Query()] = None,
    module: Annotated[list[str] | None, Query()] = None,
    trace_id: Annotated[str | None, Query()] = None,
    since: Annotated[
        str | None, Query(description="ISO time or relative (15m, 24h, 7d); default 24h ago")
    ] = None,
    until: Annotated[str | None, Query(description="ISO time or relative; default none")] = None,
    q: Annotated[
        str | None, Query(description="Case-insensitive text in message/error type/message")
    ] = None,
    limit: Annotated[str | None, Query(description="1 to 1000, default 50")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    # The declared parameters document the API; one parser (shared with the dashboard)
    # reads them all, extra.* included.
    try:
        flt = parse_log_filter(
            request.query_params,
            retention_days=settings.retention_days,
            cursor_key=secret_key(request),
        )
    except FilterError as error:
        raise unprocessable(error.param, error.message) from None
    budget = getattr(request.app.state, "search_budget", DEFAULT_BUDGET)
    async with pool.acquire() as conn:
        project_ids = await resolve_projects(conn, principal.access, flt.projects)
        try:
            page = await log_queries.search_logs(conn, project_ids, flt, budget=budget)
        except log_queries.QueryTimeoutError as error:
            raise query_timeout(error) from None
        except FilterError as error:
            raise unprocessable(error.param, error.message) from None
    stopped = page.searched_back_to
    return {
        "logs": [entry.as_dict() for entry in page.entries],
        "next_cursor": sign_cursor(secret_key(request), LOG_CURSOR, page.next_cursor),
        "since": flt.since.isoformat(),
        "until": flt.until.isoformat() if flt.until else None,
        "scanned_until": stopped.isoformat() if stopped else None,
    }


@router.get(
    "/logs/{log_id}",
    response_model=LogDetail,
    summary="One log with its stack trace (id = event id).",
)
async def get_log(log_id: str, principal: CurrentUser, pool: PoolDep) -> dict[str, Any]:
    event_id = log_queries.parse_event_id(log_id)
    if event_id is None:
        raise unprocessable("log_id", "must be a UUID (the log's event id)", where="path")
    async with pool.acquire() as conn:
        entry = await log_queries.get_log(conn, event_id, principal.access.readable_project_ids())
    if entry is None:
        raise not_found("log")
    return entry.as_dict()
