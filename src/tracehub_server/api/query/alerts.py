"""``/api/v1/projects/{id}/alerts``: alert rules, channels, the test button, history, mutes.

Rights: everyone who reads the project reads its rules, channels (never a webhook's
secret) and history; members and admins change them and send test notifications;
viewers get 403 on every change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.alerts import config
from tracehub_server.alerts.channels import senders_from_settings
from tracehub_server.alerts.config import AlertConfigError, RuleInput
from tracehub_server.api.query.deps import (
    CurrentUser,
    not_found,
    readable_project,
    unprocessable,
    writable_project,
)
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, IsoTime
from tracehub_server.storage import alert_outbox as outbox
from tracehub_server.storage import alerts as store
from tracehub_server.storage.alerts import Channel, Rule
from tracehub_server.web_deps import PoolDep, SettingsDep

router = APIRouter(
    prefix="/projects/{project_id}/alerts",
    tags=["alerts"],
    route_class=LimitedBodyRoute,
    responses=AUTH_ERRORS,
)

ChannelKind = Literal["email", "webhook", "slack"]
RuleKind = Literal["new_issue", "regression", "frequency", "volume"]


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=400)
    kind: ChannelKind
    target: str = Field(max_length=4000, description="Email addresses or the webhook URL")
    secret: str | None = Field(
        default=None,
        max_length=400,
        description="Webhook signing key; on update, omit it to keep the stored one",
    )


class ChannelOut(BaseModel):
    id: int
    project_id: int
    name: str
    kind: ChannelKind
    target: str
    has_secret: bool
    created_at: IsoTime


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=400)
    kind: RuleKind
    enabled: bool = True
    environments: list[str] = Field(default_factory=list, max_length=20)
    services: list[str] = Field(default_factory=list, max_length=20)
    levels: list[str] = Field(default_factory=list, max_length=5)
    min_level: str | None = Field(default=None, description="Sets levels to this and above")
    threshold: int | None = Field(default=None, description="frequency/volume: N events")
    window_minutes: int | None = Field(default=None, description="frequency/volume: M minutes")
    query: str = Field(
        default="", max_length=4000, description="volume: the logs explorer's query string"
    )
    channel_ids: list[int] = Field(default_factory=list, max_length=50)
    interval_minutes: int = Field(default=60, description="At most one message per issue per")


class RuleOut(BaseModel):
    id: int
    project_id: int
    name: str
    kind: RuleKind
    enabled: bool
    environments: list[str]
    services: list[str]
    levels: list[str]
    threshold: int | None
    window_minutes: int | None
    query: str
    channel_ids: list[int]
    interval_minutes: int
    created_at: IsoTime
    updated_at: IsoTime


class TestResultOut(BaseModel):
    ok: bool
    answer: str = Field(description="The receiver's answer, or the error")


class AttemptOut(BaseModel):
    attempt: int
    at: IsoTime
    ok: bool
    answer: str


class NotificationOut(BaseModel):
    id: str = Field(description="The notification id receivers see")
    rule_id: int | None
    rule_name: str | None
    channel_id: int | None
    channel_name: str
    kind: str
    title: str | None
    status: Literal["pending", "sent", "failed"]
    attempts: list[AttemptOut]
    last_result: str | None
    created_at: IsoTime
    finished_at: IsoTime | None
    next_attempt_at: IsoTime | None


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: datetime | None = Field(default=None, description="Snooze until; omit to mute")


class MuteOut(BaseModel):
    issue_id: int
    muted: bool
    until: IsoTime | None


def _channel(c: Channel) -> dict[str, Any]:
    return {
        "id": c.id,
        "project_id": c.project_id,
        "name": c.name,
        "kind": c.kind,
        "target": c.target,
        "has_secret": bool(c.secret),
        "created_at": c.created_at.isoformat(),
    }


def _rule(r: Rule) -> dict[str, Any]:
    out = {name: getattr(r, name) for name in RuleOut.model_fields if hasattr(r, name)}
    out["query"] = config.query_text(r.query)
    out["created_at"] = r.created_at.isoformat()
    out["updated_at"] = r.updated_at.isoformat()
    return out


def _invalid(error: AlertConfigError) -> Exception:
    return unprocessable(error.field, error.message, where="body")


@router.get("/channels", response_model=list[ChannelOut], summary="The project's channels.")
async def list_channels(project_id: int, principal: CurrentUser, pool: PoolDep) -> list[Any]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        return [_channel(c) for c in await store.list_channels(conn, project_id)]


@router.post(
    "/channels", response_model=ChannelOut, status_code=201, summary="Add a channel (members)."
)
async def create_channel(
    project_id: int, body: ChannelIn, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    try:
        fields = config.channel_fields(name=body.name, kind=body.kind, target=body.target)
    except AlertConfigError as error:
        raise _invalid(error) from None
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        channel = await store.create_channel(
            conn,
            project_id,
            name=fields.name,
            kind=fields.kind,
            target=fields.target,
            secret=body.secret or None,
        )
    return _channel(channel)


@router.put("/channels/{channel_id}", response_model=ChannelOut, summary="Change a channel.")
async def update_channel(
    project_id: int, channel_id: int, body: ChannelIn, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        current = await store.get_channel(conn, project_id, channel_id)
        if current is None:
            raise not_found("channel")
        try:
            fields = config.channel_fields(name=body.name, kind=current.kind, target=body.target)
        except AlertConfigError as error:
            raise _invalid(error) from None
        channel = await store.update_channel(
            conn,
            project_id,
            channel_id,
            name=fields.name,
            target=fields.target,
            secret=body.secret or None,
            keep_secret=body.secret is None,
        )
    if channel is None:
        raise not_found("channel")
    return _channel(channel)


@router.delete("/channels/{channel_id}", status_code=204, summary="Delete a channel.")
async def delete_channel(
    project_id: int, channel_id: int, principal: CurrentUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        if not await store.delete_channel(conn, project_id, channel_id):
            raise not_found("channel")
    return Response(status_code=204)


@router.post(
    "/channels/{channel_id}/test",
    response_model=TestResultOut,
    summary="Send a test notification now; the answer says whether the settings work.",
)
async def test_channel(
    request: Request,
    project_id: int,
    channel_id: int,
    principal: CurrentUser,
    pool: PoolDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        project = await writable_project(conn, principal.access, project_id)
        channel = await store.get_channel(conn, project_id, channel_id)
    if channel is None:
        raise not_found("channel")
    senders = getattr(request.app.state, "alert_senders", None) or senders_from_settings(settings)
    outcome = await config.send_test(
        channel, senders, project_name=project.name, public_url=settings.public_url
    )
    return {"ok": outcome.ok, "answer": outcome.answer}


@router.get("/rules", response_model=list[RuleOut], summary="The project's alert rules.")
async def list_rules(project_id: int, principal: CurrentUser, pool: PoolDep) -> list[Any]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        return [_rule(r) for r in await store.list_rules(conn, project_id)]


async def _fields(conn: Any, project_id: int, body: RuleIn) -> store.RuleFields:
    channels = {c.id for c in await store.list_channels(conn, project_id)}
    try:
        return config.rule_fields(RuleInput(**body.model_dump()), project_channels=channels)
    except AlertConfigError as error:
        raise _invalid(error) from None


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Add a rule (members).")
async def create_rule(
    project_id: int, body: RuleIn, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        rule = await store.create_rule(conn, project_id, await _fields(conn, project_id, body))
    return _rule(rule)


@router.put("/rules/{rule_id}", response_model=RuleOut, summary="Replace a rule's settings.")
async def update_rule(
    project_id: int, rule_id: int, body: RuleIn, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        fields = await _fields(conn, project_id, body)
        rule = await store.update_rule(conn, project_id, rule_id, fields)
    if rule is None:
        raise not_found("rule")
    return _rule(rule)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule.")
async def delete_rule(
    project_id: int, rule_id: int, principal: CurrentUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        if not await store.delete_rule(conn, project_id, rule_id):
            raise not_found("rule")
    return Response(status_code=204)


@router.get(
    "/history",
    response_model=list[NotificationOut],
    summary="The newest notifications with their attempts and the receivers' answers.",
)
async def history(
    project_id: int,
    principal: CurrentUser,
    pool: PoolDep,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        rows = await outbox.list_history(conn, project_id, limit=limit)
    return [_notification(r) for r in rows]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _notification(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "rule_id": row["rule_id"],
        "rule_name": row["rule_name"],
        "channel_id": row["channel_id"],
        "channel_name": row["channel_name"],
        "kind": row["kind"],
        "title": row["title"],
        "status": row["status"],
        "attempts": row["attempt_list"],
        "last_result": row["last_result"],
        "created_at": row["created_at"].isoformat(),
        "finished_at": _iso(row["finished_at"]),
        "next_attempt_at": _iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
    }


@router.put(
    "/mutes/{issue_id}", response_model=MuteOut, summary="Mute an issue, or snooze it until a time."
)
async def mute_issue(
    project_id: int, issue_id: int, body: MuteIn, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        if not await store.set_mute(conn, project_id, issue_id, body.until):
            raise not_found("issue")
    return {"issue_id": issue_id, "muted": True, "until": _iso(body.until)}


@router.get("/mutes/{issue_id}", response_model=MuteOut, summary="Whether an issue is muted.")
async def get_mute(
    project_id: int, issue_id: int, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        muted, until = await store.get_mute(conn, project_id, issue_id)
    return {"issue_id": issue_id, "muted": muted, "until": _iso(until)}


@router.delete("/mutes/{issue_id}", status_code=204, summary="Unmute an issue.")
async def unmute_issue(
    project_id: int, issue_id: int, principal: CurrentUser, pool: PoolDep
) -> Response:
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        await store.clear_mute(conn, project_id, issue_id)
    return Response(status_code=204)
