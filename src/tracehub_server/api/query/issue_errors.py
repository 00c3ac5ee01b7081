"""``/api/v1/issues/{id}/…``: an issue's event with its exception chain and why it was
grouped, and merging/unmerging issues."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import CurrentUser, forbidden, not_found, unprocessable
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, IssueOut
from tracehub_server.grouping.explain import event_grouping_view
from tracehub_server.grouping.structure import parse_exception
from tracehub_server.storage import issue_events, issue_merge, issue_queries, log_queries
from tracehub_server.storage.issue_queries import Issue
from tracehub_server.web_deps import PoolDep, SettingsDep

router = APIRouter(tags=["issues"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS)


class MergeRequest(BaseModel):
    """Issues to merge into the one in the path."""

    model_config = ConfigDict(extra="forbid")

    issue_ids: list[int] = Field(min_length=1, max_length=100, description="Issues to merge")


class IssueEventOut(BaseModel):
    """An event of an issue, its exception chain, and the inputs of its fingerprint."""

    event: dict[str, Any] = Field(
        description="The event; ``exception`` is the chain as sent, or parsed from its text "
        "(``exception_source``: sent, parsed or null). See docs/errors.md for the shape."
    )
    grouping: dict[str, Any] = Field(description="kind, version, error_type, frames, ...")
    older_event_id: str | None
    newer_event_id: str | None


async def _issue(conn: Any, principal: CurrentUser, issue_id: int, *, write: bool) -> Issue:
    issue = await issue_queries.get_issue(conn, issue_id, principal.access.readable_project_ids())
    if issue is None:
        raise not_found("issue")
    if write and not principal.access.can_write(issue.project_id):
        raise forbidden("your role in this project is read-only")
    return issue


@router.get(
    "/issues/{issue_id}/event",
    response_model=IssueEventOut,
    summary="One event of an issue (default the newest) with its exception chain and grouping.",
)
async def get_issue_event(
    issue_id: int,
    principal: CurrentUser,
    pool: PoolDep,
    settings: SettingsDep,
    event_id: Annotated[str | None, Query(description="An event of the issue")] = None,
) -> dict[str, Any]:
    wanted = log_queries.parse_event_id(event_id) if event_id else None
    if event_id and wanted is None:
        raise unprocessable("event_id", "is not a UUID")
    retention = settings.retention_days
    async with pool.acquire() as conn:
        issue = await _issue(conn, principal, issue_id, write=False)
        event = await issue_events.issue_event(conn, issue, wanted, retention_days=retention)
        if event is None:
            raise not_found("event")
        older, newer = await issue_events.event_neighbours(
            conn, issue, event, retention_days=retention
        )
    structured = event.exception is not None
    out = event.as_dict()
    out["exception"] = event.exception if structured else parse_exception(event.stack_trace)
    out["exception_source"] = "sent" if structured else "parsed" if out["exception"] else None
    grouping = event_grouping_view(event, issue.grouping_version)
    return {
        "event": out,
        "grouping": grouping.as_dict(),
        "older_event_id": str(older) if older else None,
        "newer_event_id": str(newer) if newer else None,
    }


@router.post(
    "/issues/{issue_id}/merge",
    response_model=IssueOut,
    summary="Merge issues into this one: their events, counts and future events move here.",
)
async def merge_issues(
    issue_id: int, body: MergeRequest, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        issue = await _issue(conn, principal, issue_id, write=True)
        try:
            await issue_merge.merge_issues(conn, issue.project_id, issue.id, body.issue_ids)
        except issue_merge.MergeError as exc:
            raise unprocessable("issue_ids", str(exc), where="body") from None
        merged = await issue_queries.get_issue(conn, issue.id, [issue.project_id])
    if merged is None:  # deleted meanwhile (retention, or another admin)
        raise not_found("issue")
    return merged.as_dict()


@router.post(
    "/issues/{issue_id}/unmerge",
    response_model=IssueOut,
    summary="Give a merged issue its own new events again.",
)
async def unmerge_issue(issue_id: int, principal: CurrentUser, pool: PoolDep) -> dict[str, Any]:
    async with pool.acquire() as conn:
        issue = await _issue(conn, principal, issue_id, write=True)
        try:
            await issue_merge.unmerge_issue(conn, issue.project_id, issue.id)
        except issue_merge.MergeError as exc:
            raise unprocessable("issue_id", str(exc), where="path") from None
        unmerged = await issue_queries.get_issue(conn, issue.id, [issue.project_id])
    if unmerged is None:  # deleted meanwhile (retention, or another admin)
        raise not_found("issue")
    return unmerged.as_dict()
