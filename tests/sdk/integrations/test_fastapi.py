"""The pure ASGI middleware with real FastAPI/Starlette apps, clients and a local receiver."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

pytest.importorskip("starlette")
fastapi = pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi import FastAPI  # noqa: E402
from fastapi.responses import PlainTextResponse, StreamingResponse  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Route, WebSocketRoute  # noqa: E402
from starlette.websockets import WebSocket  # noqa: E402

from tracehub import TraceHubLogger  # noqa: E402
from tracehub.enricher import get_trace_id  # noqa: E402
from tracehub.integrations.fastapi import TraceHubMiddleware  # noqa: E402

HEX32 = re.compile(r"[0-9a-f]{32}")
W3C_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def make_app(logger: TraceHubLogger | None, **options: Any) -> FastAPI:
    """A FastAPI app with the middleware and endpoints exercising every behaviour."""
    app = FastAPI()
    app.add_middleware(TraceHubMiddleware, logger=logger, **options)

    @app.get("/hello")
    async def hello(n: int = 0) -> PlainTextResponse:
        for _ in range(3):
            await asyncio.sleep(0)  # let the other concurrent requests interleave
        if logger is not None:
            logger.info("hello", extra={"n": n})
        return PlainTextResponse(get_trace_id() or "")

    @app.get("/sync")
    def sync_hello(n: int = 0) -> PlainTextResponse:
        if logger is not None:
            logger.info("sync", extra={"n": n})
        return PlainTextResponse(get_trace_id() or "")

    @app.get("/thread")
    def in_thread() -> PlainTextResponse:
        seen: list[str | None] = []
        ctx = contextvars.copy_context()
        worker = threading.Thread(target=ctx.run, args=(lambda: seen.append(get_trace_id()),))
        worker.start()
        worker.join(timeout=10)
        return PlainTextResponse(seen[0] or "")

    @app.get("/items/{item_id}")
    async def boom(item_id: int) -> None:
        raise ValueError(f"item {item_id} exploded")

    @app.get("/own-header")
    async def own_header() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"X-Trace-ID": "spoofed"})

    return app


async def call(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request through httpx's in-process ASGI transport (the test's own event loop)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers=headers)


async def test_incoming_x_trace_id_reaches_logs_and_response(
    th_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """A valid X-Trace-ID is bound for the handler, logged with and echoed back."""
    response = await call(make_app(th_logger), "/hello", {"X-Trace-ID": "req-42"})
    assert response.text == "req-42"
    assert response.headers["x-trace-id"] == "req-42"
    [entry] = [e for e in delivered() if e["message"] == "hello"]
    assert entry["trace_id"] == "req-42"


async def test_traceparent_trace_id_is_used_without_x_trace_id(th_logger: TraceHubLogger) -> None:
    """Without X-Trace-ID the W3C traceparent's trace-id is the request's id."""
    headers = {"traceparent": f"00-{W3C_TRACE_ID}-00f067aa0ba902b7-01"}
    response = await call(make_app(th_logger), "/hello", headers)
    assert response.text == W3C_TRACE_ID
    assert response.headers["x-trace-id"] == W3C_TRACE_ID


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Trace-ID": "has spaces"},
        {"X-Trace-ID": "x" * 5000},
        {"X-Trace-ID": "<script>", "traceparent": "00-zz-zz-01"},
    ],
)
async def test_missing_or_invalid_ids_get_a_generated_one(headers: dict[str, str]) -> None:
    """Absent, malformed and oversized ids are replaced by a fresh 32-hex id."""
    response = await call(make_app(None), "/hello", headers)
    assert HEX32.fullmatch(response.headers["x-trace-id"])
    assert response.text == response.headers["x-trace-id"]


async def test_raw_header_injection_is_refused() -> None:
    """CRLF and non-ASCII bytes in raw ASGI headers never reach the response header."""
    app = make_app(None)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope(
        "/hello", [(b"x-trace-id", b"a\r\nSet-Cookie: s=1"), (b"traceparent", b"\xff")]
    )
    await app(scope, receive, send)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    values = [v for k, v in start["headers"] if k == b"x-trace-id"]
    assert len(values) == 1
    assert HEX32.fullmatch(values[0].decode())


async def test_hundred_concurrent_requests_on_one_loop_never_mix_ids(
    th_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """100 interleaved requests each see, log and get back only their own id."""
    app = make_app(th_logger)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def one(n: int) -> tuple[int, httpx.Response]:
            return n, await client.get(f"/hello?n={n}", headers={"X-Trace-ID": f"req-{n}"})

        results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(100))), 60)
    for n, response in results:
        assert response.text == f"req-{n}"
        assert response.headers["x-trace-id"] == f"req-{n}"
    logged = {e["extra"]["n"]: e["trace_id"] for e in delivered() if e["message"] == "hello"}
    assert logged == {n: f"req-{n}" for n in range(100)}
    assert get_trace_id() == ""


async def test_hundred_concurrent_sync_endpoints_in_the_thread_pool_never_mix_ids(
    th_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """Sync endpoints run in Starlette's thread pool still see only their request's id."""
    transport = httpx.ASGITransport(app=make_app(th_logger))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def one(n: int) -> httpx.Response:
            return await client.get(f"/sync?n={n}", headers={"X-Trace-ID": f"sync-{n}"})

        responses = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(100))), 60)
    assert [r.text for r in responses] == [f"sync-{n}" for n in range(100)]
    assert [r.headers["x-trace-id"] for r in responses] == [f"sync-{n}" for n in range(100)]
    logged = {e["extra"]["n"]: e["trace_id"] for e in delivered() if e["message"] == "sync"}
    assert logged == {n: f"sync-{n}" for n in range(100)}


async def test_threads_started_with_copied_context_see_the_id() -> None:
    """A thread started via contextvars.copy_context().run inherits the request's id."""
    response = await call(make_app(None), "/thread", {"X-Trace-ID": "threaded"})
    assert response.text == "threaded"


async def test_handler_exception_is_reported_with_request_context_and_500_still_returned(
    th_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """A crash is logged as ERROR with context and no secrets; the framework still 500s."""
    headers = {
        "X-Trace-ID": "crash-1",
        "Authorization": "Bearer top-secret-token",
        "Cookie": "session=top-secret-cookie",
    }
    response = await call(make_app(th_logger), "/items/7?token=top-secret-query", headers)
    assert response.status_code == 500
    assert get_trace_id() == ""
    [entry] = [e for e in delivered() if e["level"] == "ERROR"]
    assert entry["trace_id"] == "crash-1"
    assert entry["error_type"] == "ValueError"
    assert "item 7 exploded" in entry["error_message"]
    assert 'raise ValueError(f"item {item_id} exploded")' in entry["stack_trace"]
    assert entry["module"] == __name__
    extra = entry["extra"]
    assert extra["method"] == "GET"
    assert extra["path"] == "/items/7"
    assert extra["route"] == "/items/{item_id}"
    assert extra["status"] == 500
    assert extra["client_ip"] == "10.1.2.3"
    assert extra["duration_ms"] >= 0
    assert "top-secret" not in json.dumps(entry)


async def test_capture_can_be_turned_off(
    th_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """With capture_exceptions=False a crash is left entirely to the framework."""
    response = await call(make_app(th_logger, capture_exceptions=False), "/items/1")
    assert response.status_code == 500
    assert [e for e in delivered() if e["level"] == "ERROR"] == []


async def test_default_logger_is_used_when_none_is_passed(
    default_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """Without a logger argument the crash goes to tracehub's default logger."""
    response = await call(make_app(None), "/items/3", {"X-Trace-ID": "dflt"})
    assert response.status_code == 500
    [entry] = [e for e in delivered() if e["level"] == "ERROR"]
    assert entry["trace_id"] == "dflt"


async def test_crash_without_any_logger_is_harmless() -> None:
    """No logger passed and no default set: the request still gets its 500."""
    response = await call(make_app(None), "/items/3")
    assert response.status_code == 500


async def test_app_set_trace_header_is_replaced_not_duplicated() -> None:
    """An X-Trace-ID the app sets itself is replaced by the request's id, once."""
    response = await call(make_app(None), "/own-header", {"X-Trace-ID": "real"})
    assert response.headers.get_list("x-trace-id") == ["real"]


async def test_streaming_response_streams_and_keeps_the_id(
    th_logger: TraceHubLogger, delivered: Callable[[], list[dict[str, Any]]]
) -> None:
    """Chunks leave one by one (the first before the body finishes) and logs carry the id."""
    first_chunk_sent = asyncio.Event()
    app = FastAPI()
    app.add_middleware(TraceHubMiddleware, logger=th_logger)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"first;"
            # Only a middleware that really streams lets the client see chunk one first.
            await asyncio.wait_for(first_chunk_sent.wait(), 10)
            th_logger.info("while streaming")
            yield b"second"

        return StreamingResponse(body(), media_type="text/plain")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the client never disconnects during the test
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body") == b"first;":
            first_chunk_sent.set()

    scope = http_scope("/stream", [(b"x-trace-id", b"streamed")])
    await asyncio.wait_for(app(scope, receive, send), 20)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert bodies == [b"first;", b"second"]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert (b"x-trace-id", b"streamed") in start["headers"]
    [entry] = [e for e in delivered() if e["message"] == "while streaming"]
    assert entry["trace_id"] == "streamed"


async def test_websockets_and_lifespan_pass_through_untouched() -> None:
    """Websocket and lifespan scopes reach the app unchanged and bind no trace id."""
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append(f"startup:{get_trace_id()}")
        yield
        events.append("shutdown")

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(get_trace_id() or "no-id")
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/ws", ws)], lifespan=lifespan)
    app.add_middleware(TraceHubMiddleware)

    lifespan_in = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    lifespan_out = await drive(app, {"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan_in)
    assert [m["type"] for m in lifespan_out] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert events == ["startup:", "shutdown"]

    scope = http_scope("/ws", [(b"x-trace-id", b"w")]) | {"type": "websocket", "scheme": "ws"}
    ws_out = await drive(app, scope, [{"type": "websocket.connect"}])
    assert ws_out[0] == {"type": "websocket.accept", "subprotocol": None, "headers": []}
    assert ws_out[1]["text"] == "no-id"
    assert ws_out[2]["type"] == "websocket.close"


async def test_plain_starlette_app_works() -> None:
    """The middleware needs only Starlette: a bare Starlette app gets ids too."""

    async def root(request: Any) -> PlainTextResponse:
        return PlainTextResponse(get_trace_id() or "")

    app = Starlette(routes=[Route("/", root)])
    app.add_middleware(TraceHubMiddleware)
    response = await call(app, "/", {"X-Trace-ID": "bare"})
    assert response.text == "bare"
    assert response.headers["x-trace-id"] == "bare"


async def drive(app: Any, scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[Any]:
    """Run one raw ASGI connection: feed ``incoming`` messages, return what the app sent."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in incoming:
        queue.put_nowait(message)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, queue.get, send), 10)
    return sent


def http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """A minimal ASGI HTTP scope for driving the app directly."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }


_SHARED_HEADERS = [(b"content-type", b"text/plain"), (b"X-Other", b"1")]
_SHARED_START = {"type": "http.response.start", "status": 200, "headers": _SHARED_HEADERS}


async def _reusing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app that sends the same module-level start message every time."""
    await send(_SHARED_START)
    await send({"type": "http.response.body", "body": b"ok"})


async def _generator_headers_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app whose headers are a one-shot iterable (ASGI allows any iterable)."""
    headers = ((name, value) for name, value in [(b"content-type", b"text/plain")])
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_reused_start_message_never_accumulates_ids() -> None:
    """Fifty concurrent requests through an app reusing one message: one id each.

    The middleware may rebind the message's ``"headers"`` (as Starlette's own middlewares
    do) but never changes the app's header list.
    """
    app = TraceHubMiddleware(_reusing_app)
    before = [tuple(h) for h in _SHARED_HEADERS]
    responses = await asyncio.gather(
        *(call(app, "/", {"X-Trace-ID": f"req-{i}"}) for i in range(50))
    )
    for i, response in enumerate(responses):
        assert response.headers.get_list("x-trace-id") == [f"req-{i}"]
        assert response.headers["x-other"] == "1"
    assert [tuple(h) for h in _SHARED_HEADERS] == before


async def test_one_shot_header_iterables_keep_every_header() -> None:
    """Headers given as a generator are all sent, plus the trace id."""
    response = await call(TraceHubMiddleware(_generator_headers_app), "/", {"X-Trace-ID": "gen"})
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-trace-id"] == "gen"
