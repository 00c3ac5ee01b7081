"""Flask integration: bind a trace id per request and report unhandled exceptions.

    from tracehub.integrations.flask import init_tracehub
    init_tracehub(app)

The trace id is bound by wrapping ``app.wsgi_app`` rather than in a
``before_request`` hook, so it is already set for every other hook, error handler
and teardown function, and is removed even when Flask itself fails. A streamed body
(a generator response) is produced after ``wsgi_app`` returns, so the finished response
is looked at once (by wrapping the app's ``process_response``, which runs after every
``after_request`` hook) and a generator body is wrapped to bind the id again around
each chunk: logs written while streaming carry it too. Buffered responses pay one
class check. (An ``after_request`` hook would do the same job at several times the
cost: Flask inspects each hook for ``async def`` on every request.)

Crashes are taken from Flask's ``got_request_exception`` signal, which Flask sends only
for exceptions no error handler dealt with (not for ``abort(404)``); Flask then renders
its 500 as usual, and that response carries ``X-Trace-ID`` as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

try:
    import flask
    from flask import Flask, Response, got_request_exception
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "tracehub.integrations.flask needs Flask: pip install 'tracehub-sdk[flask]'"
    ) from exc

from tracehub.enricher import _trace_id, get_trace_id
from tracehub.integrations._report import report_request_exception
from tracehub.integrations._trace import (
    TRACE_ID_HEADER,
    bind_trace_id,
    trace_id_from_environ,
    unbind_trace_id,
)

if TYPE_CHECKING:
    from tracehub.client import TraceHubLogger

__all__ = ["TraceHubFlask", "init_tracehub"]

_EXTENSION_KEY = "tracehub"
_ENVIRON_STARTED = "tracehub.started"
_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_HEADER_LOWER = TRACE_ID_HEADER.lower()
_HEADER_LEN = len(TRACE_ID_HEADER)
# The context variable's own methods: no wrapper call per request.
_bind = _trace_id.set
_unbind = _trace_id.reset


def init_tracehub(
    app: Flask, *, logger: TraceHubLogger | None = None, capture_exceptions: bool = True
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

    def __init__(
        self, app: Flask, *, logger: TraceHubLogger | None, capture_exceptions: bool
    ) -> None:
        self._logger = logger
        # Plain closures, not bound methods: Flask calls both on every request.
        app.wsgi_app = _traced(app.wsgi_app)  # type: ignore[method-assign,assignment]
        app.process_response = _tracing_streams(app.process_response)  # type: ignore[method-assign]
        if capture_exceptions:
            # Weak by default in blinker: the receiver lives exactly as long as this object,
            # which app.extensions keeps alive as long as the app.
            got_request_exception.connect(self._on_exception, app)

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
            started_ns=request.environ.get(_ENVIRON_STARTED, perf_counter_ns()),
            client_ip=request.remote_addr,
        )


def _traced(wsgi_app: _WSGIApp) -> _WSGIApp:
    """Wrap ``wsgi_app`` to run with the request's trace id bound and echoed."""

    def traced_wsgi_app(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        environ[_ENVIRON_STARTED] = perf_counter_ns()  # read by the crash receiver only
        trace_id = trace_id_from_environ(environ)
        header = (TRACE_ID_HEADER, trace_id)

        def start_response_with_trace_id(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            headers = [*headers]  # a copy: the app may reuse its list
            for name, _ in headers:  # an id the app set is replaced (case-insensitively)
                if len(name) == _HEADER_LEN and name.lower() == _HEADER_LOWER:
                    headers = [h for h in headers if h[0].lower() != _HEADER_LOWER]
                    break
            headers.append(header)
            return start_response(status, headers, exc_info)

        token = _bind(trace_id)
        try:
            return wsgi_app(environ, start_response_with_trace_id)
        finally:
            _unbind(token)

    return traced_wsgi_app


def _tracing_streams(process_response: Callable[[Response], Response]) -> Callable[..., Response]:
    """Wrap ``process_response`` to keep the trace id bound while a generator body runs.

    A buffered body (a list: the common case, checked first) needs nothing; a file body
    (``direct_passthrough``, e.g. ``send_file``) runs no user code and is left alone so
    servers can still sendfile() it.
    """

    def process_response_and_trace_stream(response: Response) -> Response:
        response = process_response(response)
        if response.response.__class__ is not list and (
            response.is_streamed and not response.direct_passthrough
        ):
            trace_id = get_trace_id()
            if trace_id:
                response.response = _traced_chunks(response.response, trace_id)
        return response

    return process_response_and_trace_stream


def _traced_chunks(chunks: Iterable[Any], trace_id: str) -> Iterator[Any]:
    """Yield ``chunks`` with ``trace_id`` bound while each one is produced."""
    iterator = iter(chunks)
    try:
        while True:
            token = bind_trace_id(trace_id)
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                unbind_trace_id(token)
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
