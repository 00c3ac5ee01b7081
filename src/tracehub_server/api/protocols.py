"""Which open-protocol view answers a path (OTLP logs, the Sentry ingestion endpoints).

:class:`~tracehub_server.app.TraceHubApp` asks before FastAPI routes a request: these views
are plain ASGI callables like native ingest, for the same reason (the framework's routing
and dependency machinery cost more per request than the entries' validation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tracehub_server.api.ingest import IngestService
from tracehub_server.api.intake import Receive, Send
from tracehub_server.api.otlp import routes as otlp
from tracehub_server.api.sentry import routes as sentry

View = Callable[[IngestService, MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def view_for(path: str) -> View | None:
    """The view serving ``path``, or None for FastAPI's routes."""
    if path == otlp.OTLP_LOGS_PATH:
        return otlp.serve
    if sentry.is_sentry_path(path):
        return sentry.serve
    return None
