"""The dashboard's routes, one module per area; :data:`router` collects them."""

from fastapi import APIRouter

from tracehub_server.dashboard.views import (
    account,
    admin,
    auth,
    issue_grouping,
    issues,
    logs,
    overview,
    scrubbing,
    settings,
)

router = APIRouter(include_in_schema=False)
for _module in (auth, account, admin, overview, logs, issues, issue_grouping, settings, scrubbing):
    router.include_router(_module.router)
