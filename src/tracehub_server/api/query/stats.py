"""``/api/v1/stats/*``: totals, counts by level and a timeline, from ``hourly_counts`` only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from tracehub_server.api.query.deps import CurrentUser, resolve_projects, unprocessable
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, OverviewOut, SeverityOut, TimelineOut
from tracehub_server.auth.permissions import Access
from tracehub_server.storage import stats
from tracehub_server.storage.log_filters import FilterError
from tracehub_server.web_deps import PoolDep
from tracehub_server.web_params import clean_value, param_items, parse_time, split_values

router = APIRouter(
    prefix="/stats", tags=["stats"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS
)

DEFAULT_RANGE = timedelta(hours=24)
#: Widest range per bucket: 31 days of hours (744 points), 400 days of days.
MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=400)}

ProjectParam = Annotated[list[str] | None, Query(description="Project id or name")]
SinceParam = Annotated[str | None, Query(description="ISO or relative (24h, 7d); default 24h")]
UntilParam = Annotated[str | None, Query(description="ISO or relative; default now")]


@dataclass(frozen=True, slots=True)
class _Range:
    project_ids: list[int]
    since: datetime
    until: datetime


async def _range(request: Request, access: Access, pool: Any, *, bucket: str = "day") -> _Range:
    now = datetime.now(timezone.utc)
    params = param_items(request.query_params)
    try:
        values = {k: clean_value(k, v, 64) for k, v in params if k in ("since", "until")}
        until = parse_time("until", values["until"], now) if values.get("until") else now
        since = (
            parse_time("since", values["since"], now)
            if values.get("since")
            else until - DEFAULT_RANGE
        )
        given = split_values("project", [v for k, v in params if k == "project"], 256)
    except FilterError as error:
        raise unprocessable(error.param, error.message) from None
    if since >= until:
        raise unprocessable("until", "must be after since")
    if until - since > MAX_RANGE[bucket]:
        raise unprocessable(
            "since", f"the range may span at most {MAX_RANGE[bucket].days} days for bucket={bucket}"
        )
    async with pool.acquire() as conn:
        ids = await resolve_projects(conn, access, given)
    return _Range(project_ids=ids, since=since, until=until)


def _echo(r: _Range) -> dict[str, Any]:
    return {"since": r.since.isoformat(), "until": r.until.isoformat(), "projects": r.project_ids}


@router.get(
    "/overview", response_model=OverviewOut, summary="Logs, errors and open issues in a time range."
)
async def overview(
    request: Request,
    principal: CurrentUser,
    pool: PoolDep,
    project: ProjectParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> dict[str, Any]:
    r = await _range(request, principal.access, pool)
    async with pool.acquire() as conn:
        result = await stats.overview(conn, r.project_ids, since=r.since, until=r.until)
    return {
        **_echo(r),
        "logs": result.logs,
        "errors": result.errors,
        "open_issues": result.open_issues,
    }


@router.get("/severity", response_model=SeverityOut, summary="Entries per level in a time range.")
async def severity(
    request: Request,
    principal: CurrentUser,
    pool: PoolDep,
    project: ProjectParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> dict[str, Any]:
    r = await _range(request, principal.access, pool)
    async with pool.acquire() as conn:
        counts = await stats.severity(conn, r.project_ids, since=r.since, until=r.until)
    return {**_echo(r), "counts": counts}


@router.get("/timeline", response_model=TimelineOut, summary="Entries per hour or day, by level.")
async def timeline(
    request: Request,
    principal: CurrentUser,
    pool: PoolDep,
    project: ProjectParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    bucket: Annotated[str, Query(description="hour or day")] = "hour",
) -> dict[str, Any]:
    if bucket not in MAX_RANGE:
        raise unprocessable("bucket", "must be hour or day")
    r = await _range(request, principal.access, pool, bucket=bucket)
    async with pool.acquire() as conn:
        points = await stats.timeline(
            conn,
            r.project_ids,
            since=r.since,
            until=r.until,
            bucket=bucket,  # type: ignore[arg-type]
        )
    return {
        **_echo(r),
        "bucket": bucket,
        "points": [{"start": p.start.isoformat(), "counts": p.counts} for p in points],
    }
