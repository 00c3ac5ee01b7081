"""Response shapes of the JSON query API, as published in the OpenAPI schema at ``/docs``.

Each route declares one of these as its ``response_model``, so the schema documents what a
client receives and FastAPI checks every answer against it (a field a model lacks is never
sent, which also keeps a future column from leaking by accident). Times are ISO 8601
strings with an offset, exactly as the storage layer formats them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

IsoTime = Annotated[
    str, Field(description="ISO 8601 time with offset", json_schema_extra={"format": "date-time"})
]


class ErrorOut(BaseModel):
    """Every refusal other than a 422: ``{"detail": "what was wrong"}``."""

    detail: str


#: 401/403/404 answers every authenticated route can give (422 is FastAPI's own).
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid session or token"},
    403: {"model": ErrorOut, "description": "Not allowed (role, or a missing CSRF token)"},
    404: {"model": ErrorOut, "description": "Not found, or not readable by you"},
}


class LogSummary(BaseModel):
    """A log as listed (``stack_trace`` left out; ``has_stack_trace`` says if it has one)."""

    id: str = Field(description="The event id (a UUID)")
    project_id: int
    timestamp: IsoTime
    received_at: IsoTime
    level: str = Field(description="DEBUG, INFO, WARN, ERROR or FATAL")
    service: str
    environment: str
    host: str | None
    pid: int | None
    thread_id: str | None = Field(
        description="The thread as the client sent it: a name, or an integer ident as text"
    )
    sdk_version: str | None
    message: str
    module: str | None
    trace_id: str | None
    error_type: str | None
    error_message: str | None
    has_stack_trace: bool
    extra: Any = Field(description="The entry's JSON `extra` object, as sent")
    original_timestamp: str | None = Field(
        description="The timestamp the SDK sent, when the server replaced an unusable one"
    )
    issue_id: int | None


class LogDetail(LogSummary):
    """One log with every field."""

    stack_trace: str | None = None


class LogList(BaseModel):
    """A page of logs, newest first."""

    logs: list[LogSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when the range is exhausted"
    )
    since: IsoTime
    until: IsoTime | None
    scanned_until: IsoTime | None = Field(
        description="Set when the search spent its scan budget before filling the page: the"
        " range from here to the top was searched, older entries not yet (follow next_cursor)"
    )


class IssueOut(BaseModel):
    id: int
    project_id: int
    fingerprint: str
    title: str
    error_type: str | None
    error_message: str | None
    level: str
    status: str = Field(description="OPEN, IN_PROGRESS, RESOLVED or IGNORED")
    is_regression: bool
    first_seen: IsoTime
    last_seen: IsoTime
    event_count: int
    sample_stack_trace: str | None
    sample_event_id: str | None
    service: str | None
    resolved_at: IsoTime | None
    assignee_id: int | None
    assignee_email: str | None
    created_at: IsoTime
    updated_at: IsoTime
    grouping_version: str = Field(default="th1", description="The grouping algorithm's version")
    merged_into: int | None = Field(default=None, description="The issue this was merged into")


class IssueList(BaseModel):
    issues: list[IssueOut]
    next_cursor: str | None


class HourCount(BaseModel):
    hour: IsoTime
    count: int


class IssueDetail(BaseModel):
    issue: IssueOut
    events: list[LogSummary] = Field(description="Recent events, newest first")
    hourly_counts: list[HourCount] = Field(description="Hours without events are absent")


class StatsRange(BaseModel):
    """The range and projects a stats answer covers (widened to whole hours when read)."""

    since: IsoTime
    until: IsoTime
    projects: list[int]


class OverviewOut(StatsRange):
    logs: int
    errors: int = Field(description="ERROR and FATAL entries")
    open_issues: int = Field(description="OPEN or IN_PROGRESS issues seen in the range")


class SeverityOut(StatsRange):
    counts: dict[str, int] = Field(description="Entries per level")


class TimelinePointOut(BaseModel):
    start: IsoTime
    counts: dict[str, int]


class TimelineOut(StatsRange):
    bucket: str = Field(description="hour or day")
    points: list[TimelinePointOut]


class ProjectOut(BaseModel):
    id: int
    name: str
    created_at: IsoTime
    role: str | None = Field(description="admin, member or viewer: your role in it")


class ApiKeyOut(BaseModel):
    id: int
    project_id: int
    name: str
    prefix: str = Field(description="The key's first characters; the key itself is not stored")
    created_at: IsoTime
    last_used_at: IsoTime | None
    revoked_at: IsoTime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The key, shown only in this answer")


class MemberOut(BaseModel):
    user_id: int
    email: str
    role: str


class UserOut(BaseModel):
    id: int
    email: str
    is_admin: bool
    created_at: IsoTime
    last_login_at: IsoTime | None


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: IsoTime
    expires_at: IsoTime | None
    last_used_at: IsoTime | None
    revoked_at: IsoTime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The token, shown only in this answer")


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send as X-CSRF-Token on POST/PUT/PATCH/DELETE")


class MeOut(BaseModel):
    user: UserOut
    roles: dict[str, str] = Field(description="Your role per project id")
    csrf_token: str | None = Field(description="This session's CSRF token; null with a token")
