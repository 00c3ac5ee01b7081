"""The Django middleware with Django's real test clients (sync and async) and a receiver.

This module is its own minimal settings and URLconf: Django is configured once for the
test process with nothing but this middleware, so no database or app registry is needed.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

django = pytest.importorskip("django")

from asgiref.sync import iscoroutinefunction  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tracehub-integration-tests",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=["tracehub.integrations.django.TraceHubMiddleware"],
        INSTALLED_APPS=[],
        DATABASES={},
        LOGGING_CONFIG=None,  # leave the test process's logging alone
    )
    django.setup()

from django.http import (  # noqa: E402
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.test import AsyncClient, Client, RequestFactory, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from tracehub import TraceHubLogger  # noqa: E402
from tracehub.enricher import get_trace_id  # noqa: E402
from tracehub.integrations.django import TraceHubMiddleware  # noqa: E402

HEX32 = re.compile(r"[0-9a-f]{32}")
W3C_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
MIDDLEWARE = "tracehub.integrations.django.TraceHubMiddleware"
Delivered = Callable[[], list[dict[str, Any]]]

# The views log through whichever logger the running test installs here.
_current: dict[str, TraceHubLogger | None] = {"logger": None}


def _log(message: str, **extra: Any) -> None:
    logger = _current["logger"]
    if logger is not None:
        logger.info(message, extra=extra or None)


def hello(request: HttpRequest) -> HttpResponse:
    _log("hello", n=int(request.GET.get("n", "0")))
    return HttpResponse(get_trace_id() or "")


async def async_hello(request: HttpRequest) -> HttpResponse:
    for _ in range(3):
        await asyncio.sleep(0)  # let the other concurrent requests interleave
    _log("async hello", n=int(request.GET.get("n", "0")))
    return HttpResponse(get_trace_id() or "")


def in_thread(request: HttpRequest) -> HttpResponse:
    seen: list[str | None] = []
    ctx = contextvars.copy_context()
    worker = threading.Thread(target=ctx.run, args=(lambda: seen.append(get_trace_id()),))
    worker.start()
    worker.join(timeout=10)
    return HttpResponse(seen[0] or "")


def boom(request: HttpRequest, item_id: int) -> HttpResponse:
    raise ValueError(f"item {item_id} exploded")


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such thing")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:
        yield b"first;"
        _log("while streaming")
        yield (get_trace_id() or "").encode()

    return StreamingHttpResponse(body())


def async_stream(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first;"
        _log("while async streaming")
        yield (get_trace_id() or "").encode()

    return StreamingHttpResponse(body())


def own_header(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("own")
    response["x-TRACE-id"] = "set-by-the-app"
    return response


urlpatterns = [
    path("own-header", own_header),
    path("hello", hello),
    path("async-hello", async_hello),
    path("thread", in_thread),
    path("items/<int:item_id>", boom),
    path("missing", missing),
    path("stream", stream),
    path("async-stream", async_stream),
]


@pytest.fixture(autouse=True)
def _this_module_is_the_site() -> Iterator[None]:
    """Route requests to this module's views through the middleware.

    Overridden per test, so it holds even if another test module configured Django first.
    """
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[MIDDLEWARE], ALLOWED_HOSTS=["*"]):
        yield


@pytest.fixture
def use_logger(th_logger: TraceHubLogger) -> Iterator[TraceHubLogger]:
    """Point the middleware (via the TRACEHUB setting) and the views at ``th_logger``."""
    _current["logger"] = th_logger
    try:
        with override_settings(TRACEHUB={"LOGGER": th_logger}):
            yield th_logger
    finally:
        _current["logger"] = None


def test_incoming_x_trace_id_reaches_logs_and_response(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """A valid X-Trace-ID is bound for the view, logged with and echoed back."""
    response = Client().get("/hello", headers={"X-Trace-ID": "dj-1"})
    assert response.content == b"dj-1"
    assert response["X-Trace-ID"] == "dj-1"
    [entry] = [e for e in delivered() if e["message"] == "hello"]
    assert entry["trace_id"] == "dj-1"
    assert get_trace_id() == ""


def test_traceparent_and_generated_ids() -> None:
    """traceparent supplies the id when X-Trace-ID is absent; otherwise one is generated."""
    client = Client()
    tp = {"traceparent": f"00-{W3C_TRACE_ID}-00f067aa0ba902b7-01"}
    assert client.get("/hello", headers=tp)["X-Trace-ID"] == W3C_TRACE_ID
    for headers in ({}, {"X-Trace-ID": "bad\tid"}, {"X-Trace-ID": "z" * 4096}):
        response = client.get("/hello", headers=headers)
        assert HEX32.fullmatch(response["X-Trace-ID"])
        assert response.content.decode() == response["X-Trace-ID"]


def test_hundred_concurrent_sync_requests_never_mix_ids(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """100 requests on 16 threads each see and log only their own id."""

    def one(n: int) -> tuple[int, HttpResponse]:
        return n, Client().get(f"/hello?n={n}", headers={"X-Trace-ID": f"s-{n}"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(100), timeout=120))
    for n, response in results:
        assert response.content.decode() == f"s-{n}"
        assert response["X-Trace-ID"] == f"s-{n}"
    logged = {e["extra"]["n"]: e["trace_id"] for e in delivered() if e["message"] == "hello"}
    assert logged == {n: f"s-{n}" for n in range(100)}


async def test_hundred_concurrent_async_requests_on_one_loop_never_mix_ids(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """100 interleaved requests through the async middleware path keep their own ids."""
    client = AsyncClient()

    async def one(n: int) -> tuple[int, HttpResponse]:
        return n, await client.get(f"/async-hello?n={n}", headers={"X-Trace-ID": f"a-{n}"})

    results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(100))), 120)
    for n, response in results:
        assert response.content.decode() == f"a-{n}"
        assert response["X-Trace-ID"] == f"a-{n}"
    entries = delivered()
    logged = {e["extra"]["n"]: e["trace_id"] for e in entries if e["message"] == "async hello"}
    assert logged == {n: f"a-{n}" for n in range(100)}
    assert get_trace_id() == ""


def test_threads_started_with_copied_context_see_the_id() -> None:
    """A thread started via contextvars.copy_context().run inherits the request's id."""
    assert Client().get("/thread", headers={"X-Trace-ID": "thr"}).content == b"thr"


def test_view_exception_is_reported_and_django_still_returns_500(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """A crash is logged as ERROR with context and no secrets; Django still renders a 500."""
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "top-secret-cookie"
    response = client.post(
        "/items/4?token=top-secret-query",
        data={"password": "top-secret-body"},
        headers={"X-Trace-ID": "boom", "Authorization": "Bearer top-secret"},
        REMOTE_ADDR="10.4.4.4",
    )
    assert response.status_code == 500
    assert response["X-Trace-ID"] == "boom"
    [entry] = [e for e in delivered() if e["level"] == "ERROR"]
    assert entry["trace_id"] == "boom"
    assert entry["error_type"] == "ValueError"
    assert "item 4 exploded" in entry["stack_trace"]
    assert entry["module"] == __name__
    assert entry["extra"] | {"duration_ms": 0} == {
        "integration": "django",
        "method": "POST",
        "path": "/items/4",
        "route": "items/<int:item_id>",
        "status": 500,
        "duration_ms": 0,
        "client_ip": "10.4.4.4",
    }
    assert "top-secret" not in json.dumps(entry)


async def test_async_chain_reports_crashes_too(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Under the async handler a crash is reported with its id and still becomes a 500."""
    client = AsyncClient(raise_request_exception=False)
    response = await client.get("/items/8", headers={"X-Trace-ID": "async-boom"})
    assert response.status_code == 500
    [entry] = [e for e in delivered() if e["level"] == "ERROR"]
    assert entry["trace_id"] == "async-boom"
    assert entry["error_type"] == "ValueError"


def test_http404_and_disabled_capture_are_not_reported(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Http404 is not a crash, and CAPTURE_EXCEPTIONS=False reports nothing."""
    with override_settings(TRACEHUB={"LOGGER": th_logger}):
        assert Client().get("/missing").status_code == 404
    with override_settings(TRACEHUB={"LOGGER": th_logger, "CAPTURE_EXCEPTIONS": False}):
        assert Client(raise_request_exception=False).get("/items/1").status_code == 500
    assert [e for e in delivered() if e["level"] == "ERROR"] == []


def test_requests_the_middleware_never_saw_are_not_reported(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Without the middleware installed, crashes are left entirely to Django."""
    with override_settings(TRACEHUB={"LOGGER": th_logger}, MIDDLEWARE=[]):
        assert Client(raise_request_exception=False).get("/items/1").status_code == 500
    assert [e for e in delivered() if e["level"] == "ERROR"] == []


def test_default_logger_is_used_without_a_setting(
    default_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Without TRACEHUB["LOGGER"] the crash goes to tracehub's default logger."""
    assert Client(raise_request_exception=False).get("/items/2").status_code == 500
    assert len([e for e in delivered() if e["level"] == "ERROR"]) == 1


def test_streaming_response_keeps_the_id_while_it_is_produced(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """A streaming body is produced after the middleware returns and still sees the id."""
    response = Client().get("/stream", headers={"X-Trace-ID": "flow"})
    chunks = list(response.streaming_content)
    assert chunks == [b"first;", b"flow"]
    [entry] = [e for e in delivered() if e["message"] == "while streaming"]
    assert entry["trace_id"] == "flow"
    assert get_trace_id() == ""


async def test_async_streaming_response_keeps_the_id(
    use_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """An async streaming body is wrapped asynchronously and keeps the id."""
    response = await AsyncClient().get("/async-stream", headers={"X-Trace-ID": "aflow"})
    chunks = [chunk async for chunk in response.streaming_content]
    assert chunks == [b"first;", b"aflow"]
    [entry] = [e for e in delivered() if e["message"] == "while async streaming"]
    assert entry["trace_id"] == "aflow"


def test_logger_setting_accepts_a_dotted_path(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """TRACEHUB["LOGGER"] may name the logger by dotted path, resolved at start-up."""
    _current["logger"] = th_logger
    try:
        with override_settings(TRACEHUB={"LOGGER": f"{__name__}.dotted_logger"}):
            globals()["dotted_logger"] = th_logger
            assert Client(raise_request_exception=False).get("/items/6").status_code == 500
    finally:
        _current["logger"] = None
        globals().pop("dotted_logger", None)
    assert len([e for e in delivered() if e["level"] == "ERROR"]) == 1


def test_app_set_trace_header_is_replaced_once_whatever_its_case() -> None:
    """A view's own x-TRACE-id is replaced by the request's id, sent once as X-Trace-ID."""
    response = Client().get("/own-header", headers={"X-Trace-ID": "req-7"})
    names = [name for name, _ in response.items() if name.lower() == "x-trace-id"]
    assert names == ["X-Trace-ID"]
    assert response["X-Trace-ID"] == "req-7"


def test_sync_or_async_is_decided_once_at_construction() -> None:
    """An async chain gets an awaitable middleware, a sync chain a plain one, both working."""

    class Subclassed(TraceHubMiddleware):
        """A user's subclass must keep working under either chain."""

    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("a")

    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("s")

    async_mw = TraceHubMiddleware(async_view)
    sync_mw = TraceHubMiddleware(sync_view)
    assert isinstance(async_mw, TraceHubMiddleware)
    assert iscoroutinefunction(async_mw)
    assert not iscoroutinefunction(sync_mw)
    request = RequestFactory().get("/", HTTP_X_TRACE_ID="decided")
    assert sync_mw(request)["X-Trace-ID"] == "decided"
    assert asyncio.run(async_mw(request))["X-Trace-ID"] == "decided"
    assert iscoroutinefunction(Subclassed(async_view))
    assert asyncio.run(Subclassed(async_view)(request))["X-Trace-ID"] == "decided"
    assert Subclassed(sync_view)(request)["X-Trace-ID"] == "decided"
