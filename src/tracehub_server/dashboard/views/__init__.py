"""The dashboard's routes, one module per area; :data:`router` collects them."""

from fastapi import APIRouter

from tracehub_server.dashboard import apidocs
from tracehub_server.dashboard.views import (
    account,
    admin,
    auth,
    issue_grouping,
    issues,
    logs,
    overview,
    saved,
    scrubbing,
    settings,
    signup,
    team,
)
from tracehub_server.dashboard.views.alerts import router as alerts_router

router = APIRouter(include_in_schema=False)
for _module in (
    apidocs,
    auth,
    account,
    admin,
    team,
    signup,
    overview,
    saved,
    logs,
    issues,
    issue_grouping,
    settings,
    scrubbing,
):
    router.include_router(_module.router)
router.include_router(alerts_router)
