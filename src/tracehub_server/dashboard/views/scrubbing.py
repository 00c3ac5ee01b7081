"""A project's PII scrubbing rules: shown to everyone who can read it, changed by members."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tracehub_server.dashboard.context import ProjectPage, require_write
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.forms import read_csrf_form
from tracehub_server.dashboard.redirects import see_other
from tracehub_server.dashboard.templating import render
from tracehub_server.storage import scrubbing
from tracehub_server.web_deps import PoolDep

router = APIRouter()


def split_names(text: str) -> list[str]:
    """Key names from a text box: one per line or separated by commas."""
    return [part for line in text.splitlines() for part in line.split(",")]


@router.get("/projects/{project_id}/settings/scrubbing")
async def scrubbing_page(request: Request, page: ProjectPage, pool: PoolDep) -> HTMLResponse:
    """The rules, the default key list, and who changed the rules when."""
    page.nav = "settings"
    async with pool.acquire() as conn:
        rules = await scrubbing.get_scrub_settings(conn, page.project.id)
        changes = await scrubbing.list_scrub_changes(conn, page.project.id)
    context = {"flashes": flashes(request), "rules": rules, "changes": changes}
    return render(request, "scrubbing.html", {**context, "default_keys": scrubbing.DEFAULT_KEYS})


@router.post("/projects/{project_id}/settings/scrubbing")
async def save_scrubbing(request: Request, page: ProjectPage, pool: PoolDep) -> RedirectResponse:
    """Store new rules (members and admins); they apply to data received from now on."""
    require_write(page)
    form = await read_csrf_form(request, page)
    base = f"/projects/{page.project.id}/settings/scrubbing"
    try:
        rules = scrubbing.ScrubSettings(
            defaults_enabled=form.get("defaults") == "on",
            extra_keys=scrubbing.clean_keys(split_names(form.get("extra_keys"))),
            safe_keys=scrubbing.clean_keys(split_names(form.get("safe_keys"))),
        )
    except ValueError:
        return see_other(f"{base}?done=scrubbing-too-many")
    async with pool.acquire() as conn:
        await scrubbing.save_scrub_settings(conn, page.project.id, rules, user_id=page.user.id)
    return see_other(f"{base}?done=scrubbing-saved")
