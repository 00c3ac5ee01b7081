"""``/api/v1/projects/{id}/scrubbing``: a project's PII scrubbing rules and their history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import (
    CurrentUser,
    readable_project,
    unprocessable,
    writable_project,
)
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS
from tracehub_server.storage import scrubbing
from tracehub_server.web_deps import PoolDep

router = APIRouter(tags=["projects"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS)


class ScrubRules(BaseModel):
    """What is replaced by ``[Filtered]`` at ingest (docs/errors.md says exactly what)."""

    model_config = ConfigDict(extra="forbid")

    defaults_enabled: bool = Field(default=True, description="The default keys and patterns")
    extra_keys: list[str] = Field(default_factory=list, description="More keys to scrub")
    safe_keys: list[str] = Field(default_factory=list, description="Keys never scrubbed")


class ScrubChangeOut(BaseModel):
    changed_at: str
    changed_by_email: str | None
    before: ScrubRules
    after: ScrubRules


class ScrubRulesOut(BaseModel):
    rules: ScrubRules
    default_keys: list[str]
    changes: list[ScrubChangeOut]


async def _answer(conn: Any, project_id: int) -> dict[str, Any]:
    rules = await scrubbing.get_scrub_settings(conn, project_id)
    changes = await scrubbing.list_scrub_changes(conn, project_id)
    return {
        "rules": rules.as_dict(),
        "default_keys": list(scrubbing.DEFAULT_KEYS),
        "changes": [
            {
                "changed_at": c.changed_at.isoformat(),
                "changed_by_email": c.changed_by_email,
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ],
    }


@router.get(
    "/projects/{project_id}/scrubbing",
    response_model=ScrubRulesOut,
    summary="A project's scrubbing rules, the default keys, and the latest changes.",
)
async def get_rules(project_id: int, principal: CurrentUser, pool: PoolDep) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await readable_project(conn, principal.access, project_id)
        return await _answer(conn, project_id)


@router.put(
    "/projects/{project_id}/scrubbing",
    response_model=ScrubRulesOut,
    summary="Replace a project's scrubbing rules (applies to data received from now on).",
)
async def put_rules(
    project_id: int, body: ScrubRules, principal: CurrentUser, pool: PoolDep
) -> dict[str, Any]:
    try:
        rules = scrubbing.ScrubSettings(
            defaults_enabled=body.defaults_enabled,
            extra_keys=scrubbing.clean_keys(body.extra_keys),
            safe_keys=scrubbing.clean_keys(body.safe_keys),
        )
    except ValueError as exc:
        raise unprocessable("keys", str(exc), where="body") from None
    async with pool.acquire() as conn:
        await writable_project(conn, principal.access, project_id)
        await scrubbing.save_scrub_settings(conn, project_id, rules, user_id=principal.user.id)
        return await _answer(conn, project_id)
