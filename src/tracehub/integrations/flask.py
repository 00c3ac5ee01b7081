"""Flask integration: bind a trace id per request and report unhandled exceptions.

    from tracehub.integrations.flask import init_tracehub
    init_tracehub(app)

The trace id is bound by wrapping ``app.wsgi_app`` rather than in a
``before_request`` hook, so it is already set for every other hook, error handler
and teardown function, and is removed even when Flask itself fails. A streamed body
(a generator response) is produced after ``wsgi_app`` returns, so the id is bound
again around each chunk the server pulls: logs written while streaming carry it too.

Crashes are taken from Flask's ``got_request_exception`` signal, which Flask sends only
for exceptions no error handler dealt with (not for ``abort(404)``); Flask then renders
its 500 as usual, and that response carries ``X-Trace-ID`` as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    import flask
    from flask import Flask, got_request_exception
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "tracehub.integrations.flask needs Flask: pip install 'tracehub[flask]'"
    ) from exc

from tracehub.integrations._report import report_request_exception
from tracehub.integrations._trace import (
    TRACE_ID_HEADER,
    bind_trace_id,
    resolve_trace_id,
    unbind_trace_id,
)

__all__ = ["TraceHubFlask", "init_tracehub"]

_EXTENSION_KEY = "tracehub"
_ENVIRON_TRACE_ID = "tracehub.trace_id"
_ENVIRON_STARTED = "tracehub.started"
_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def init_tracehub(
    app: Flask, *, logger: Any | None = None, capture_exceptions: bool = True
) -> TraceHubFlask:
    """Install TraceHub on ``app`` and return the installed integration.

    Calling it again on the same app returns the first installation unchanged, so an
    app factory that runs twice does not bind ids twice or report crashes twice.
    ``logger`` defaults to the process default looked up when a crash is reported.
    """
    existing = app.extensions.get(_EXTENSION_KEY)
    if isinstance(existing, TraceHubFlask):
        return existing
    integration = TraceHubFlask(app, logger=logger, capture_exceptions=capture_exceptions)
    app.extensions[_EXTENSION_KEY] = integration
    return integration


class TraceHubFlask:
    """The state :func:`init_tracehub` attaches to one Flask app."""

    def __init__(self, app: Flask, *, logger: Any | None, capture_exceptions: bool) -> None:
        self._logger = logger
        self._wsgi_app: _WSGIApp = app.wsgi_app
        app.wsgi_app = self._traced_wsgi_app  # type: ignore[method-assign]
        if capture_exceptions:
            # Weak by default in blinker: the receiver lives exactly as long as this object,
            # which app.extensions keeps alive as long as the app.
            got_request_exception.connect(self._on_exception, app)

    def _traced_wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Run the wrapped app with the request's trace id bound and echoed."""
        environ[_ENVIRON_STARTED] = time.perf_counter()
        trace_id = resolve_trace_id(environ.get("HTTP_X_TRACE_ID"), environ.get("HTTP_TRACEPARENT"))
        environ[_ENVIRON_TRACE_ID] = trace_id

        def start_response_with_trace_id(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            headers = [h for h in headers if h[0].lower() != "x-trace-id"]
            headers.append((TRACE_ID_HEADER, trace_id))
            return start_response(status, headers, exc_info)

        token = bind_trace_id(trace_id)
        try:
            body = self._wsgi_app(environ, start_response_with_trace_id)
        finally:
            unbind_trace_id(token)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            # A file body runs no user code and servers send it with sendfile() only if
            # they get their own wrapper back, so it is returned unwrapped.
            return body
        return _TracedBody(body, trace_id)

    def _on_exception(self, sender: Flask, exception: BaseException, **_: Any) -> None:
        """Report an exception Flask is about to turn into a 500."""
        request = flask.request
        rule = request.url_rule
        report_request_exception(
            self._logger,
            exception,
            integration="flask",
            method=request.method,
            path=request.path,
            route=rule.rule if rule is not None else None,
            status=500,
            started=request.environ.get(_ENVIRON_STARTED, time.perf_counter()),
            client_ip=request.remote_addr,
        )


class _TracedBody:
    """A WSGI body that binds the request's trace id while each chunk is produced."""

    __slots__ = ("_body", "_iterator", "_trace_id")

    def __init__(self, body: Iterable[bytes], trace_id: str) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._trace_id = trace_id

    def __iter__(self) -> _TracedBody:
        return self

    def __next__(self) -> bytes:
        token = bind_trace_id(self._trace_id)
        try:
            if self._iterator is None:
                self._iterator = iter(self._body)
            return next(self._iterator)
        finally:
            unbind_trace_id(token)

    def close(self) -> None:
        """Close the wrapped body (WSGI requires servers to call this) with the id bound."""
        close = getattr(self._body, "close", None)
        if close is None:
            return
        token = bind_trace_id(self._trace_id)
        try:
            close()
        finally:
            unbind_trace_id(token)
