"""JSON query API under /api/v1 (logs, issues, stats, projects, keys, tokens).

``router`` is included by :func:`tracehub_server.api.app.create_app`.
"""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
