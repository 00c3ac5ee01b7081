"""Project settings → Alerts: rules, channels, the test button and the alert history.

Members and admins change rules and channels; viewers see the same page without forms.
Input is validated by :mod:`tracehub_server.alerts.config`, the same code the JSON API
uses; a refused field is shown on the page with what was typed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tracehub_server.alerts import config
from tracehub_server.alerts.channels import senders_from_settings
from tracehub_server.alerts.config import AlertConfigError, RuleInput
from tracehub_server.dashboard.context import (
    ProjectPage,
    ProjectPageContext,
    not_found,
    require_write,
)
from tracehub_server.dashboard.forms import Form, read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import alert_outbox as outbox
from tracehub_server.storage import alerts as store
from tracehub_server.web_deps import PoolDep, SettingsDep

router = APIRouter()

RULE_KIND_LABELS = {
    "new_issue": "New issue",
    "regression": "Regression",
    "frequency": "Issue frequency",
    "volume": "Log volume",
}
CHANNEL_KIND_LABELS = {"email": "Email", "webhook": "Webhook", "slack": "Slack-compatible"}
#: ``?done=`` codes of this page (fixed texts: a link cannot inject a message).
NOTICES = {
    "channel-added": "Channel added.",
    "channel-deleted": "Channel deleted; rules no longer send to it.",
    "rule-saved": "Rule saved.",
    "rule-deleted": "Rule deleted.",
    "rule-enabled": "Rule enabled.",
    "rule-disabled": "Rule disabled.",
    "issue-muted": "Issue muted: its alerts are not sent.",
    "issue-unmuted": "Issue unmuted.",
}
#: Snooze choices of the mute form: label -> hours (None: until unmuted).
MUTE_CHOICES = {"1h": 1, "24h": 24, "7d": 168, "forever": None}


async def _write_form(request: Request, page: ProjectPageContext) -> tuple[int, Form]:
    """The project in view and the posted form, once the user may change its alerts."""
    require_write(page)
    form = await read_csrf_form(request, page)
    return page.project.id, form


def _done(project_id: int, notice: str) -> RedirectResponse:
    """Back to the page after a change, saying what was done (one of :data:`NOTICES`)."""
    if notice not in NOTICES:
        raise ValueError(f"no notice {notice!r}")
    return see_other(f"/projects/{project_id}/settings/alerts?done={notice}")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _rule_input(form: Form) -> RuleInput:
    interval = _int(form.get("interval_minutes"))
    return RuleInput(
        name=form.get("name"),
        kind=form.get("kind"),
        enabled=form.get("enabled") == "on",
        environments=_split(form.get("environments")),
        services=_split(form.get("services")),
        min_level=form.get("min_level") or None,
        threshold=_int(form.get("threshold")),
        window_minutes=_int(form.get("window_minutes")),
        query=form.get("query"),
        channel_ids=[i for i in (_int(v) for v in form.getlist("channel_ids")) if i is not None],
        interval_minutes=60 if interval is None else interval,
    )


def _form_values(rule: store.Rule | None) -> dict[str, Any]:
    """What the rule form shows: a rule being edited, or the defaults of a new one."""
    if rule is None:
        return {"id": None, "name": "", "kind": "new_issue", "enabled": True, "environments": "",
                "services": "", "min_level": "", "threshold": "", "window_minutes": "",
                "query": "", "channel_ids": [], "interval_minutes": 60}  # fmt: skip
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "enabled": rule.enabled,
        "environments": ", ".join(rule.environments),
        "services": ", ".join(rule.services),
        "min_level": rule.levels[0] if rule.levels else "",
        "threshold": rule.threshold or "",
        "window_minutes": rule.window_minutes or "",
        "query": config.query_text(rule.query),
        "channel_ids": rule.channel_ids,
        "interval_minutes": rule.interval_minutes,
    }


async def _page(
    request: Request,
    page: ProjectPageContext,
    pool: PoolDep,
    *,
    error: str = "",
    test_result: tuple[str, bool, str] | None = None,
    rule_form: dict[str, Any] | None = None,
    channel_form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    page.nav = "settings"
    async with pool.acquire() as conn:
        rules = await store.list_rules(conn, page.project.id)
        channels = await store.list_channels(conn, page.project.id)
        history = await outbox.list_history(conn, page.project.id, limit=50)
        mutes = await store.list_mutes(conn, page.project.id, datetime.now(timezone.utc))
    editing = _int(request.query_params.get("edit", ""))
    if rule_form is None:
        rule_form = _form_values(next((r for r in rules if r.id == editing), None))
    done = request.query_params.get("done", "")
    return render(
        request,
        "alerts.html",
        {
            "notice": NOTICES.get(done, ""),
            "error": error,
            "test_result": test_result,
            "rules": rules,
            "channels": channels,
            "channel_names": {c.id: c.name for c in channels},
            "history": history,
            "mutes": mutes,
            "mute_choices": MUTE_CHOICES,
            "rule_form": rule_form,
            "channel_form": channel_form or {"name": "", "kind": "webhook", "target": ""},
            "rule_kinds": RULE_KIND_LABELS,
            "channel_kinds": CHANNEL_KIND_LABELS,
            "query_text": config.query_text,
        },
        status_code=status,
    )


@router.get("/projects/{project_id}/settings/alerts")
async def alerts_page(request: Request, page: ProjectPage, pool: PoolDep) -> HTMLResponse:
    """Rules, channels and history; forms only for members and admins."""
    return await _page(request, page, pool)


@router.post("/projects/{project_id}/settings/alerts/channels", response_model=None)
async def add_channel(
    request: Request, page: ProjectPage, pool: PoolDep
) -> HTMLResponse | RedirectResponse:
    project_id, form = await _write_form(request, page)
    typed = {"name": form.get("name"), "kind": form.get("kind"), "target": form.get("target")}
    try:
        fields = config.channel_fields(**typed)
    except AlertConfigError as exc:
        return await _page(request, page, pool, error=str(exc), channel_form=typed, status=400)
    async with pool.acquire() as conn:
        await store.create_channel(
            conn,
            project_id,
            name=fields.name,
            kind=fields.kind,
            target=fields.target,
            secret=form.raw("secret") or None,
        )
    return _done(project_id, "channel-added")


@router.post("/projects/{project_id}/settings/alerts/channels/{channel_id}/delete")
async def delete_channel(
    request: Request, channel_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    project_id, _ = await _write_form(request, page)
    async with pool.acquire() as conn:
        if not await store.delete_channel(conn, project_id, channel_id):
            raise not_found()
    return _done(project_id, "channel-deleted")


@router.post("/projects/{project_id}/settings/alerts/channels/{channel_id}/test")
async def test_channel(
    request: Request, channel_id: int, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    """Send a test notification now and show the receiver's answer or the error."""
    project_id, _ = await _write_form(request, page)
    async with pool.acquire() as conn:
        channel = await store.get_channel(conn, project_id, channel_id)
    if channel is None:
        raise not_found()
    senders = getattr(request.app.state, "alert_senders", None) or senders_from_settings(settings)
    outcome = await config.send_test(
        channel, senders, project_name=page.project.name, public_url=settings.public_url
    )
    result = (channel.name, outcome.ok, outcome.answer)
    return await _page(request, page, pool, test_result=result)


#: Rule form fields shown back as typed when the rule is refused.
_RULE_TEXT_FIELDS = ("name", "kind", "environments", "services", "min_level", "threshold",
                     "window_minutes", "query", "interval_minutes")  # fmt: skip


def _typed_rule_form(form: Form, given: RuleInput, rule_id: int | None) -> dict[str, Any]:
    typed = {**_form_values(None), **{k: form.get(k) for k in _RULE_TEXT_FIELDS}}
    typed.update(id=rule_id, enabled=given.enabled, channel_ids=given.channel_ids or [])
    return typed


async def _save_rule(
    request: Request, page: ProjectPageContext, pool: PoolDep, rule_id: int | None
) -> HTMLResponse | RedirectResponse:
    project_id, form = await _write_form(request, page)
    given = _rule_input(form)
    async with pool.acquire() as conn:
        channels = {c.id for c in await store.list_channels(conn, project_id)}
        try:
            fields = config.rule_fields(given, project_channels=channels)
        except AlertConfigError as exc:
            typed = _typed_rule_form(form, given, rule_id)
            return await _page(request, page, pool, error=str(exc), rule_form=typed, status=400)
        if rule_id is None:
            await store.create_rule(conn, project_id, fields)
        elif await store.update_rule(conn, project_id, rule_id, fields) is None:
            raise not_found()
    return _done(project_id, "rule-saved")


@router.post("/projects/{project_id}/settings/alerts/rules", response_model=None)
async def add_rule(
    request: Request, page: ProjectPage, pool: PoolDep
) -> HTMLResponse | RedirectResponse:
    return await _save_rule(request, page, pool, None)


@router.post("/projects/{project_id}/settings/alerts/rules/{rule_id}", response_model=None)
async def edit_rule(
    request: Request, rule_id: int, page: ProjectPage, pool: PoolDep
) -> HTMLResponse | RedirectResponse:
    return await _save_rule(request, page, pool, rule_id)


@router.post("/projects/{project_id}/settings/alerts/rules/{rule_id}/toggle")
async def toggle_rule(
    request: Request, rule_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    """Enable a disabled rule, or disable an enabled one."""
    project_id, _ = await _write_form(request, page)
    async with pool.acquire() as conn:
        rule = await store.get_rule(conn, project_id, rule_id)
        if rule is None:
            raise not_found()
        fields = store.RuleFields(
            **{k: getattr(rule, k) for k in store.RuleFields.__dataclass_fields__}
        )
        fields.enabled = not rule.enabled
        await store.update_rule(conn, project_id, rule_id, fields)
    return _done(project_id, "rule-enabled" if fields.enabled else "rule-disabled")


@router.post("/projects/{project_id}/settings/alerts/rules/{rule_id}/delete")
async def delete_rule(
    request: Request, rule_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    project_id, _ = await _write_form(request, page)
    async with pool.acquire() as conn:
        if not await store.delete_rule(conn, project_id, rule_id):
            raise not_found()
    return _done(project_id, "rule-deleted")


@router.post("/projects/{project_id}/settings/alerts/mutes", response_model=None)
async def mute_issue(
    request: Request, page: ProjectPage, pool: PoolDep
) -> HTMLResponse | RedirectResponse:
    """Mute an issue of this project for good, or snooze it for a while."""
    project_id, form = await _write_form(request, page)
    issue_id = _int(form.get("issue_id").lstrip("#"))
    choice = form.get("for")
    if issue_id is None or choice not in MUTE_CHOICES:
        return await _page(request, page, pool, error="issue: give an issue number", status=400)
    hours = MUTE_CHOICES[choice]
    until = None if hours is None else datetime.now(timezone.utc) + timedelta(hours=hours)
    async with pool.acquire() as conn:
        if not await store.set_mute(conn, project_id, issue_id, until):
            error = f"issue: #{issue_id} is not an issue of this project"
            return await _page(request, page, pool, error=error, status=400)
    return _done(project_id, "issue-muted")


@router.post("/projects/{project_id}/settings/alerts/mutes/{issue_id}/delete")
async def unmute_issue(
    request: Request, issue_id: int, page: ProjectPage, pool: PoolDep
) -> RedirectResponse:
    project_id, _ = await _write_form(request, page)
    async with pool.acquire() as conn:
        await store.clear_mute(conn, project_id, issue_id)
    return _done(project_id, "issue-unmuted")
