"""FastAPI / Starlette integration: a pure ASGI middleware that binds a trace id per request.

    from tracehub.integrations.fastapi import TraceHubMiddleware
    app.add_middleware(TraceHubMiddleware)

It is written as a plain ASGI callable, not on ``BaseHTTPMiddleware``: that base class
runs the endpoint in a separate task, so a trace id set in the middleware would not be
seen by the handler's context, and it buffers streaming responses. Here the handler
runs in the middleware's own context (sync endpoints in Starlette's thread pool get a
copy of it), so every log line written while handling the request carries its id.
Websocket and lifespan scopes pass straight through.

An exception escaping the app is reported (when ``capture_exceptions`` is true) and
re-raised, so Starlette's ``ServerErrorMiddleware`` still renders its 500. That 500 is
produced outside this middleware and therefore carries no ``X-Trace-ID`` header.

The per-request path is kept to what the job needs, because a bare Starlette endpoint
costs only a few microseconds: one pass over the raw header list (no dicts built), the
context variable set once and reset with its token, and a plain (not ``async``) ``send``
wrapper that hands back the inner ``send``'s awaitable instead of adding a coroutine per
message. The crash context is assembled only when a crash happens.

The response's start message gets a new header list under its ``"headers"`` key; the
message dict is updated in place, as Starlette's own ``CORSMiddleware`` and
``GZipMiddleware`` do, but the app's header list is never changed, so an app that
reuses one response (or one start message) for every request still sends exactly one
``X-Trace-ID``, its request's.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

try:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "tracehub.integrations.fastapi needs Starlette: pip install 'tracehub-sdk[fastapi]'"
    ) from exc

from tracehub.enricher import _trace_id
from tracehub.integrations._report import report_request_exception
from tracehub.integrations._trace import TRACE_ID_HEADER, asgi_trace_id

if TYPE_CHECKING:
    from tracehub.client import TraceHubLogger

__all__ = ["TraceHubMiddleware"]

_HEADER_NAME = TRACE_ID_HEADER.lower().encode("ascii")
_RESPONSE_START = "http.response.start"
# The context variable's own methods: no wrapper call per request.
_bind = _trace_id.set
_unbind = _trace_id.reset


class TraceHubMiddleware:
    """Bind a trace id to each HTTP request, echo it in ``X-Trace-ID``, report crashes.

    ``logger`` is the :class:`tracehub.TraceHubLogger` crashes are reported to; when
    ``None`` the process default (``tracehub.set_default_logger``) is looked up at report
    time, so the middleware may be added before the logger exists.
    """

    def __init__(
        self, app: ASGIApp, *, logger: TraceHubLogger | None = None, capture_exceptions: bool = True
    ) -> None:
        self.app = app
        self._logger = logger
        self._capture_exceptions = capture_exceptions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; only ``http`` scopes are touched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter_ns()  # only crash reports use it, but it must be taken now
        trace_id, value = asgi_trace_id(scope["headers"])
        header = (_HEADER_NAME, value)
        status = 0

        def send_with_trace_id(message: Message) -> Any:
            if message["type"] == _RESPONSE_START:
                nonlocal status
                status = message["status"]
                # A new list: the app may reuse its header list (a module-level response,
                # say), and ASGI allows any iterable of headers. The message itself gets
                # the list, as Starlette's own middlewares do (a copy of the message cost
                # about 1 % of a FastAPI hello).
                headers = [*message.get("headers", ())]
                for name, _ in headers:
                    if name == _HEADER_NAME:  # the app set its own: ours replaces it
                        headers = [h for h in headers if h[0] != _HEADER_NAME]
                        break
                headers.append(header)
                message["headers"] = headers
            return send(message)

        token = _bind(trace_id)
        try:
            await self.app(scope, receive, send_with_trace_id)
        except Exception as exc:
            if self._capture_exceptions:
                self._report(scope, exc, status or 500, started)
            raise
        finally:
            _unbind(token)

    def _report(self, scope: Scope, exc: Exception, status: int, started: int) -> None:
        """Hand the crash and its request context to the shared reporter."""
        route = scope.get("route")
        client = scope.get("client")
        report_request_exception(
            self._logger,
            exc,
            integration="fastapi",
            method=scope.get("method", ""),
            path=scope.get("path", ""),
            route=getattr(route, "path", None),
            status=status,
            started_ns=started,
            client_ip=client[0] if client else None,
        )
