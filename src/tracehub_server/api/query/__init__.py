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
    scrubbing,
    session_routes,
    stats,
    tokens,
    users,
)

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
):
    router.include_router(_module.router)

__all__ = ["router"]
