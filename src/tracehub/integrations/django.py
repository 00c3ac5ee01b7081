"""Django integration: a middleware that binds a trace id per request and reports crashes.

    MIDDLEWARE = [
        "tracehub.integrations.django.TraceHubMiddleware",  # first, so it wraps the rest
        ...
    ]

Options come from the optional ``TRACEHUB`` setting, read when Django builds the
middleware chain: ``{"LOGGER": <TraceHubLogger or dotted path>, "CAPTURE_EXCEPTIONS": True}``.
Without ``LOGGER`` the process default (``tracehub.set_default_logger``) is used.

The middleware is both sync- and async-capable, so it adds no thread hop under ASGI.
Crashes are taken from Django's ``got_request_exception`` signal, which Django sends
exactly when it is about to render a 500 (not for ``Http404``, ``PermissionDenied`` or
other exceptions it maps to a 4xx), including crashes in middleware below this one.
Django then renders its 500 as usual; the response carries ``X-Trace-ID``. Streaming
responses get the trace id bound again around each chunk, since their bodies are
produced after the middleware has returned.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django.conf import settings
    from django.core.signals import got_request_exception
    from django.http import HttpRequest, HttpResponseBase
    from django.utils.module_loading import import_string
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "tracehub.integrations.django needs Django: pip install 'tracehub-sdk[django]'"
    ) from exc

from tracehub.enricher import _trace_id
from tracehub.integrations._report import report_request_exception
from tracehub.integrations._trace import (
    TRACE_ID_HEADER,
    bind_trace_id,
    trace_id_from_environ,
    unbind_trace_id,
)

if TYPE_CHECKING:
    from tracehub.client import TraceHubLogger

__all__ = ["TraceHubMiddleware"]

# Set on the request so the (process-wide) signal receiver knows which middleware
# instance saw it and when it started; requests it never saw are not reported.
_REQUEST_STATE = "_tracehub_state"
_HEADER_KEY = TRACE_ID_HEADER.lower()
# The context variable's own methods: no wrapper call per request.
_bind = _trace_id.set
_unbind = _trace_id.reset


class TraceHubMiddleware:
    """Bind a trace id to each request, echo it in ``X-Trace-ID``, report crashes."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        # Decided once, when Django builds the chain; a request pays one attribute test.
        # (A separate async class chosen in __new__ would save even that, but would
        # silently break a user's subclass under ASGI.)
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        options: dict[str, Any] = getattr(settings, "TRACEHUB", None) or {}
        logger = options.get("LOGGER")
        self.logger: TraceHubLogger | None = (
            import_string(logger) if isinstance(logger, str) else logger
        )
        self.capture_exceptions = bool(options.get("CAPTURE_EXCEPTIONS", True))

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (returns an awaitable when the chain is async)."""
        if self._async:
            return self._acall(request)
        request._tracehub_state = (self, perf_counter_ns())  # = _REQUEST_STATE
        trace_id = trace_id_from_environ(request.META)
        token = _bind(trace_id)
        try:
            response = self.get_response(request)
        finally:
            _unbind(token)
        try:  # the common case, a buffered HttpResponse, without a further call
            response.headers._store[_HEADER_KEY] = (TRACE_ID_HEADER, trace_id)
            if response.streaming is False:
                return response
        except (AttributeError, TypeError):
            pass
        return _finish(response, trace_id)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        """The async twin of :meth:`__call__`."""
        request._tracehub_state = (self, perf_counter_ns())  # = _REQUEST_STATE
        trace_id = trace_id_from_environ(request.META)
        token = _bind(trace_id)
        try:
            response = await self.get_response(request)
        finally:
            _unbind(token)
        return _finish(response, trace_id)

    def report(self, request: HttpRequest, exc: BaseException, started_ns: int) -> None:
        """Report ``exc``, raised while Django handled ``request``, with its context."""
        match = getattr(request, "resolver_match", None)
        report_request_exception(
            self.logger,
            exc,
            integration="django",
            method=request.method or "",
            path=request.path,
            route=getattr(match, "route", None) or None,
            status=500,
            started_ns=started_ns,
            client_ip=request.META.get("REMOTE_ADDR"),
        )


def _finish(response: HttpResponseBase, trace_id: str) -> HttpResponseBase:
    """Echo the trace id and keep it bound while a streaming body is produced."""
    try:
        # Straight into Django's header store: ``response[...] = `` would re-validate
        # charset and newlines, which the id (validated or generated) can't violate.
        # That check costs more than the rest of this middleware.
        response.headers._store[_HEADER_KEY] = (TRACE_ID_HEADER, trace_id)
    except (AttributeError, TypeError):  # not an HttpResponse, or Django changed inside
        response[TRACE_ID_HEADER] = trace_id
    try:
        streaming = response.streaming
    except AttributeError:  # a bare HttpResponseBase subclass: not streaming
        return response
    if streaming:
        content = response.streaming_content
        if getattr(response, "is_async", False):
            response.streaming_content = _traced_async_chunks(content, trace_id)
        else:
            response.streaming_content = _traced_chunks(content, trace_id)
    return response


def _traced_chunks(chunks: Iterable[bytes], trace_id: str) -> Iterator[bytes]:
    """Yield ``chunks`` with ``trace_id`` bound while each one is produced."""
    iterator = iter(chunks)
    while True:
        token = bind_trace_id(trace_id)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            unbind_trace_id(token)
        yield chunk


async def _traced_async_chunks(chunks: AsyncIterator[bytes], trace_id: str) -> AsyncIterator[bytes]:
    """The async twin of :func:`_traced_chunks`."""
    iterator = aiter(chunks)
    while True:
        token = bind_trace_id(trace_id)
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        finally:
            unbind_trace_id(token)
        yield chunk


def _on_request_exception(sender: Any, request: HttpRequest | None = None, **_: Any) -> None:
    """Report the exception Django is about to render as a 500, if our middleware saw it."""
    state = getattr(request, _REQUEST_STATE, None) if request is not None else None
    exc = sys.exc_info()[1]
    if state is None or exc is None:
        return
    middleware, started = state
    if middleware.capture_exceptions:
        middleware.report(request, exc, started)


got_request_exception.connect(
    _on_request_exception, weak=False, dispatch_uid="tracehub.integrations.django"
)
