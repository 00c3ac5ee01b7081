"""JSON query API under /api/v1 (logs, issues, stats, projects, keys, members, users, tokens).

``router`` is included by :func:`tracehub_server.app.create_app`. Authentication and the
CSRF rule are in :mod:`.deps`; every router checks the caller's :class:`Access` before it
touches a project's data.
"""

from fastapi import APIRouter

from tracehub_server.api.query import (
    issue_errors,
    issues,
    logs,
    projects,
    saved_searches,
    scrubbing,
    session_routes,
    stats,
    team,
    tokens,
    users,
)
from tracehub_server.api.query.alerts import router as alerts_router

router = APIRouter(prefix="/api/v1")
for _module in (
    logs,
    issues,
    issue_errors,
    stats,
    projects,
    scrubbing,
    users,
    tokens,
    session_routes,
    saved_searches,
    team,
):
    router.include_router(_module.router)
router.include_router(alerts_router)

__all__ = ["router"]
