"""Benchmark of the integrations: per-request middleware overhead and the logging bridge.

Prints medians and ratios measured in one run; nothing here asserts on time.

    .venv/bin/python bench/bench_integrations.py [--quick] [--only fastapi|starlette|...]

* per-request cost of a minimal "hello" endpoint with and without each middleware,
  driving the framework in-process (ASGI call for FastAPI/Starlette, the WSGI callable
  for Flask and Django) with a browser's usual request headers; measured with an
  incoming ``X-Trace-ID`` and with one generated;
* per-call cost of ``logging.getLogger(...).info(...)`` through ``TraceHubHandler`` vs
  through a stdlib ``QueueHandler`` on a ``SimpleQueue`` (the baseline).

Made for a noisy, shared machine: bare and traced rounds alternate (ABAB, many short
rounds), every call is timed on its own, and the figures are medians of per-round
medians, plus the median of the per-round traced/bare ratios. The TraceHub logger sends
to a transport that discards, so no network is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import logging
import logging.handlers
import queue
import statistics
import sys
from collections.abc import Callable, Sequence
from time import perf_counter_ns
from typing import Any, NamedTuple

from tracehub import TraceHubLogger
from tracehub.integrations.logging import TraceHubHandler
from tracehub.models import SendResult
from tracehub.transport import Transport

#: What a browser or HTTP client typically sends; the middleware scans all of it.
COMMON_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-GB,en;q=0.9",
    "Connection": "keep-alive",
}
HEADERS_WITH_ID = {**COMMON_HEADERS, "X-Trace-ID": "4bf92f3577b34da6a3ce929d0e0e4736"}


class _Discard(Transport):
    """Accepts every batch without I/O."""

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        return SendResult(delivered=len(batch))


def idle_logger(max_buffer: int) -> TraceHubLogger:
    """A logger whose worker stays asleep during a round: only the caller's cost counts."""
    logger = TraceHubLogger(
        api_key="bench",
        service="bench",
        environment="bench",
        batch_size=1000,
        flush_interval=3600.0,
        max_buffer=max_buffer,
        dlq_path=None,
        transport=_Discard(),
    )
    logger.info("warm-up")  # starts the worker once
    if hasattr(logger, "_threshold"):
        logger._threshold = 1 << 62  # never wake the worker mid-round (same as bench_sdk)
    return logger


def clear_buffer(logger: TraceHubLogger) -> None:
    """Empty the logger's buffer between rounds (benchmark-only reach into internals)."""
    buffer = getattr(logger, "_buffer", None)
    if buffer is not None:
        buffer.queue.clear()


class Paired(NamedTuple):
    """Medians of per-round medians (µs per request) and the median per-round ratio."""

    bare: float
    traced: float
    ratio: float


def paired_rounds(
    bare: Callable[[int], list[int]],
    traced: Callable[[int], list[int]],
    calls: int,
    rounds: int,
) -> Paired:
    """Per-request cost of ``bare`` and ``traced`` over interleaved (ABAB) rounds.

    Each round times every call on its own and keeps the round's median, so a call that
    was preempted by another process or hit a GC pause cannot move the figure. The two
    sides alternate round by round, and which goes first alternates too, so load from
    other processes on a shared machine lands on both alike. The cyclic GC is paused
    while a round runs (as ``timeit`` does) and collected between rounds.
    """
    bare(calls)
    traced(calls)  # warm both paths
    b: list[float] = []
    t: list[float] = []
    for i in range(rounds):
        order = ((t, traced), (b, bare)) if i % 2 else ((b, bare), (t, traced))
        for results, run in order:
            gc.disable()
            try:
                results.append(statistics.median(run(calls)) / 1000.0)
            finally:
                gc.enable()
        gc.collect(0)
    ratios = [tr / br for br, tr in zip(b, t, strict=True)]
    return Paired(statistics.median(b), statistics.median(t), statistics.median(ratios))


# -- FastAPI / Starlette -----------------------------------------------------------------


def asgi_runner(app: Any, headers: dict[str, str]) -> Callable[[int], list[int]]:
    """A function timing each of ``n`` GET /hello calls straight through the ASGI app (ns)."""
    raw_headers = [(b"host", b"bench")] + [
        (k.lower().encode(), v.encode()) for k, v in headers.items()
    ]
    scope_template = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/hello",
        "raw_path": b"/hello",
        "root_path": "",
        "query_string": b"",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1234),
        "server": ("bench", 80),
    }
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        return None

    async def loop_calls(n: int) -> list[int]:
        times = []
        for _ in range(n):
            scope = dict(scope_template)
            start = perf_counter_ns()
            await app(scope, receive, send)
            times.append(perf_counter_ns() - start)
        return times

    loop = asyncio.new_event_loop()
    return lambda n: loop.run_until_complete(loop_calls(n))


def fastapi_apps() -> tuple[Any, Any]:
    """A bare FastAPI hello app and the same app with the middleware."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from tracehub.integrations.fastapi import TraceHubMiddleware

    def build(traced: bool) -> Any:
        app = FastAPI()
        if traced:
            app.add_middleware(TraceHubMiddleware)

        @app.get("/hello")
        async def hello() -> PlainTextResponse:
            return PlainTextResponse("hello")

        return app

    return build(False), build(True)


def starlette_apps() -> tuple[Any, Any]:
    """A bare Starlette hello app and the same app with the middleware."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from tracehub.integrations.fastapi import TraceHubMiddleware

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    routes = [Route("/hello", hello)]
    return Starlette(routes=routes), Starlette(
        routes=routes, middleware=[Middleware(TraceHubMiddleware)]
    )


# -- WSGI (Flask, Django) ----------------------------------------------------------------


def wsgi_runner(app: Any, headers: dict[str, str]) -> Callable[[int], list[int]]:
    """A function timing each of ``n`` GET /hello calls through a WSGI callable (ns)."""
    environ_template = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/hello",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "bench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for key, value in headers.items():
        environ_template["HTTP_" + key.upper().replace("-", "_")] = value

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    def calls(n: int) -> list[int]:
        times = []
        for _ in range(n):
            environ = dict(environ_template)
            environ["wsgi.input"] = io.BytesIO(b"")
            start = perf_counter_ns()
            body = app(environ, start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
            times.append(perf_counter_ns() - start)
        return times

    return calls


def flask_apps() -> tuple[Any, Any]:
    """A bare Flask hello app and the same app with init_tracehub."""
    from flask import Flask

    from tracehub.integrations.flask import init_tracehub

    def build(traced: bool) -> Any:
        app = Flask(f"bench_{traced}")
        if traced:
            init_tracehub(app)

        @app.get("/hello")
        def hello() -> str:
            return "hello"

        return app

    return build(False), build(True)


def hello_view(request: Any) -> Any:
    """The Django hello view."""
    from django.http import HttpResponse

    return HttpResponse("hello")


urlpatterns: list[Any] = []


def django_apps() -> tuple[Any, Any]:
    """Django WSGI handlers without and with the middleware (this module is the URLconf)."""
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import path

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",  # noqa: S106 - benchmark-only settings
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        LOGGING_CONFIG=None,
    )
    django.setup()
    urlpatterns[:] = [path("hello", hello_view)]
    bare = WSGIHandler()
    settings.MIDDLEWARE = ["tracehub.integrations.django.TraceHubMiddleware"]
    traced = WSGIHandler()
    return bare, traced


# -- logging bridge ----------------------------------------------------------------------


def bench_bridge(calls: int, rounds: int) -> Paired:
    """Median per-call µs: stdlib QueueHandler on a SimpleQueue vs TraceHubHandler."""
    sink: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    std = logging.getLogger("bench.queue")
    std.handlers[:] = [logging.handlers.QueueHandler(sink)]
    std.propagate = False
    std.setLevel(logging.INFO)

    th = idle_logger(max_buffer=calls + 10)
    bridged = logging.getLogger("bench.bridge")
    bridged.handlers[:] = [TraceHubHandler(th)]
    bridged.propagate = False
    bridged.setLevel(logging.INFO)

    extra = {"user_id": 42, "ip": "10.0.0.1"}

    def timed(log: logging.Logger, reset: Callable[[], None]) -> Callable[[int], list[int]]:
        def run(n: int) -> list[int]:
            reset()
            times = []
            for _ in range(n):
                start = perf_counter_ns()
                log.info("user %s logged in", "bob", extra=extra)
                times.append(perf_counter_ns() - start)
            return times

        return run

    def drain() -> None:
        while not sink.empty():
            sink.get_nowait()

    result = paired_rounds(
        timed(std, drain), timed(bridged, lambda: clear_buffer(th)), calls, rounds
    )
    clear_buffer(th)
    th.close(timeout=0)
    return result


# -- report ------------------------------------------------------------------------------


def report_middleware(
    name: str, apps: tuple[Any, Any], runner: Callable[..., Any], calls: int, rounds: int
) -> None:
    """Print bare vs traced medians for one framework, with and without an incoming id."""
    bare_app, traced_app = apps
    print(f"{name}: GET /hello per request, median of {rounds} paired rounds x {calls} calls")
    cases = (("incoming X-Trace-ID", HEADERS_WITH_ID), ("generated id", COMMON_HEADERS))
    for label, headers in cases:
        m = paired_rounds(runner(bare_app, headers), runner(traced_app, headers), calls, rounds)
        print(
            f"  {label:20}: bare {m.bare:7.2f} µs, traced {m.traced:7.2f} µs, "
            f"overhead {m.traced - m.bare:+5.2f} µs, ratio {m.ratio - 1:+.1%} (target <= +5%)"
        )


def main() -> None:
    """Run every benchmark and print a small report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (CI smoke run)")
    parser.add_argument("--only", help="run one part: fastapi, starlette, flask, django, bridge")
    args = parser.parse_args()
    calls, rounds = (50, 20) if args.quick else (50, 400)
    parts: dict[str, Callable[[], None]] = {
        "fastapi": lambda: report_middleware("FastAPI", fastapi_apps(), asgi_runner, calls, rounds),
        "starlette": lambda: report_middleware(
            "Starlette", starlette_apps(), asgi_runner, calls, rounds
        ),
        "flask": lambda: report_middleware("Flask", flask_apps(), wsgi_runner, calls, rounds),
        "django": lambda: report_middleware("Django", django_apps(), wsgi_runner, calls, rounds),
        "bridge": lambda: report_bridge(calls, rounds // 4),
    }
    for key, run in parts.items():
        if args.only in (None, key):
            run()


def report_bridge(calls: int, rounds: int) -> None:
    """Print the logging bridge's per-call cost next to a stdlib QueueHandler."""
    m = bench_bridge(calls, rounds)
    print(f"logging bridge: log.info('user %s logged in', 'bob', extra={{...}}), {rounds} rounds")
    print(f"  stdlib QueueHandler : {m.bare:7.2f} µs")
    ratio = f"{m.ratio:.1%} of QueueHandler, target <= 100%"
    print(f"  TraceHubHandler     : {m.traced:7.2f} µs   ({ratio})")


if __name__ == "__main__":
    main()
