"""Report an exception that escaped a request handler, the same way for every framework.

The entry is an ERROR with the stack trace and a small, fixed set of request facts in
``extra``: method, path (no query string: it often carries tokens), route template,
status, duration and the peer address. Headers, cookies and bodies are never read,
so an ``Authorization`` header or a password field cannot leak into TraceHub.

Reporting must never change what the framework does next, so every failure here is
swallowed: the user's error page is worth more than our copy of the error.
"""

from __future__ import annotations

import contextlib
import time
from types import TracebackType
from typing import TYPE_CHECKING

import tracehub

if TYPE_CHECKING:
    from tracehub.client import TraceHubLogger

__all__ = ["raising_module", "report_request_exception", "resolve_logger"]


def resolve_logger(logger: TraceHubLogger | None) -> TraceHubLogger | None:
    """Return the integration's own logger, else the process default (may be ``None``)."""
    if logger is not None:
        return logger
    return tracehub.get_default_logger()


def raising_module(tb: TracebackType | None, fallback: str) -> str:
    """Name the module of the innermost frame of ``tb``: where the exception was raised."""
    if tb is None:
        return fallback
    while tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_globals.get("__name__")
    return name if isinstance(name, str) else fallback


def report_request_exception(
    logger: TraceHubLogger | None,
    exc: BaseException,
    *,
    integration: str,
    method: str,
    path: str,
    route: str | None,
    status: int,
    started_ns: int,
    client_ip: str | None,
) -> None:
    """Log ``exc`` as an ERROR carrying the request context; never raises.

    ``started_ns`` is a :func:`time.perf_counter_ns` reading taken when the request arrived
    (the cheapest clock read: an int, no float built on the request path).
    """
    with contextlib.suppress(Exception):
        target = resolve_logger(logger)
        if target is None:
            return
        extra = {
            "integration": integration,
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round((time.perf_counter_ns() - started_ns) / 1e6, 3),
            "client_ip": client_ip,
        }
        target.error(
            f"Unhandled {type(exc).__name__} in {method} {route or path}",
            exception=exc,
            module=raising_module(exc.__traceback__, integration),
            extra=extra,
        )
