"""Benchmark of the integrations: per-request middleware overhead and the logging bridge.

Prints medians and ratios measured in one run; nothing here asserts on time.

    .venv/bin/python bench/bench_integrations.py [--quick] [--only fastapi|starlette|...]
        [--before DIR] [--floor] [--mode in-process|served|both]

* per-request cost of a minimal "hello" endpoint with and without each middleware,
  driving the framework in-process (ASGI call for FastAPI/Starlette, the WSGI callable
  for Flask and Django) with a browser's usual request headers; measured with an
  incoming ``X-Trace-ID`` and with one generated;
* per-call cost of ``logging.getLogger(...).info(...)`` through ``TraceHubHandler`` vs
  through a stdlib ``QueueHandler`` on a ``SimpleQueue`` (the baseline).

Made for a noisy, shared machine: bare and traced rounds alternate (ABAB, many short
rounds), every call is timed on its own, and the figures are medians of per-round
medians, plus the median of the per-round traced/bare ratios.

``--mode served`` (or ``both``) measures the same apps behind real servers instead (or
as well): uvicorn for FastAPI/Starlette, gunicorn's sync worker for Flask/Django, each in
a subprocess on 127.0.0.1, bare and traced side by side, giving the round trip a client
sees and the server's CPU time per request, in the same interleaved rounds (see
``served.py``). The in-process figures stay the strict ones, the app alone; the served
ones add what a deployment pays around it. ``--before`` applies to the in-process mode.

The issue's target (<= +5 % of a hello's time) is judged on the served round trip, the
endpoint's time as a client sees it; the in-process figures break the cost down.

``--floor`` adds, for FastAPI and Starlette, a third variant in the same rounds: the least
an ASGI middleware doing this job can do (bind one fixed id, echo it in one header; see
``FloorMiddleware``), so the report shows how much of a hello's time the job itself needs
before any of TraceHub's own work, in-process and served.

``--before DIR`` measures a second copy of the integrations in the same rounds, so a
change is compared with what it replaced on the same machine at the same moment. DIR
holds an older ``tracehub`` package, e.g. ``git archive <rev> src | tar -x -C DIR``
gives ``DIR/src/tracehub``, so pass ``DIR/src``. Its framework modules and the helpers
they import (``_trace``, ``_report``) are loaded from there; everything else, such as
the context variable the logger reads, is shared. The TraceHub logger sends
to a transport that discards, so no network is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import io
import logging
import logging.handlers
import queue
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter_ns
from types import ModuleType, SimpleNamespace
from typing import Any, NamedTuple

# Run as a script, bench/ is on sys.path: the SDK bench owns the idle-logger recipe, and
# served.py the servers and client of the served mode.
import served
from bench_sdk import idle_logger
from tracehub import TraceHubLogger
from tracehub.enricher import _trace_id
from tracehub.integrations.logging import TraceHubHandler

#: What a browser or HTTP client typically sends; the middleware scans all of it.
COMMON_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-GB,en;q=0.9",
    "Connection": "keep-alive",
}
HEADERS_WITH_ID = {**COMMON_HEADERS, "X-Trace-ID": "4bf92f3577b34da6a3ce929d0e0e4736"}


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


Runner = Callable[[int], list[int]]


def interleaved_rounds(
    runs: Sequence[Runner], calls: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Per-request cost of each of ``runs`` over interleaved rounds, and ratios to ``runs[0]``.

    Each round times every call on its own and keeps the round's median, so a call that
    was preempted by another process or hit a GC pause cannot move the figure. The
    variants take turns round by round, and which goes first rotates too, so load from
    other processes on a shared machine lands on all alike. The cyclic GC is paused
    while a round runs (as ``timeit`` does) and collected between rounds. Returns the
    median of the per-round medians of each variant (µs) and the median of its
    per-round ratios to the first variant.
    """
    for run in runs:
        run(calls)  # warm every path
    per_round: list[list[float]] = [[] for _ in runs]
    for i in range(rounds):
        start = i % len(runs)
        for k in [*range(start, len(runs)), *range(start)]:
            gc.disable()
            try:
                per_round[k].append(statistics.median(runs[k](calls)) / 1000.0)
            finally:
                gc.enable()
        gc.collect(0)
    medians = [statistics.median(r) for r in per_round]
    base = per_round[0]
    ratios = [statistics.median(x / b for b, x in zip(base, r, strict=True)) for r in per_round]
    return medians, ratios


def paired_rounds(bare: Runner, traced: Runner, calls: int, rounds: int) -> Paired:
    """Per-request cost of ``bare`` and ``traced`` over interleaved (ABAB) rounds."""
    (b, t), (_, ratio) = interleaved_rounds([bare, traced], calls, rounds)
    return Paired(b, t, ratio)


def load_before(root: Path, names: Sequence[str]) -> dict[str, ModuleType]:
    """Import ``tracehub.integrations.<name>`` for each of ``names`` from another tree.

    Each is registered as ``tracehub_before_<name>`` (Django finds its middleware by
    dotted path). While they execute, their imports of ``_trace`` and ``_report`` are
    pointed at the other tree's copies; ``sys.modules`` is restored afterwards.
    """
    package = root / "tracehub" / "integrations"
    helpers = [n for n in ("_trace", "_report") if (package / f"{n}.py").exists()]
    saved = {
        f"tracehub.integrations.{n}": importlib.import_module(f"tracehub.integrations.{n}")
        for n in helpers
    }
    loaded: dict[str, ModuleType] = {}
    try:
        for name in [*helpers, *names]:
            alias = f"tracehub_before_{name}"
            spec = importlib.util.spec_from_file_location(alias, package / f"{name}.py")
            if spec is None or spec.loader is None:
                raise SystemExit(f"--before: no {package / name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[alias] = module
            if name in helpers:
                sys.modules[f"tracehub.integrations.{name}"] = module
            spec.loader.exec_module(module)
            loaded[name] = module
    finally:
        sys.modules.update(saved)
    return loaded


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


_FLOOR_ID = HEADERS_WITH_ID["X-Trace-ID"]
_FLOOR_HEADER = (b"x-trace-id", _FLOOR_ID.encode("ascii"))


class FloorMiddleware:
    """The least an ASGI middleware doing this job can do: a lower bound, not an integration.

    It binds one fixed id for the request and echoes it in one response header; nothing
    else. No header is read, no id is made, no crash is reported, no clock is read, no
    duplicate header is looked for, and the start message is edited in place. Whatever
    it costs, any middleware meeting the issue's contract costs at least as much.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass non-HTTP scopes through; bind, echo and unbind around an HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def send_with_header(message: Any) -> Any:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], _FLOOR_HEADER]
            return send(message)

        token = _trace_id.set(_FLOOR_ID)
        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _trace_id.reset(token)


#: Stands in for an integration module wherever an app builder takes one.
FLOOR = SimpleNamespace(__name__="floor", TraceHubMiddleware=FloorMiddleware)
#: The frameworks ``--floor`` applies to: FloorMiddleware is an ASGI middleware.
FLOORED = ("fastapi", "starlette")


def fastapi_app(module: ModuleType | None) -> Any:
    """A FastAPI hello app, with ``module``'s ``TraceHubMiddleware`` unless ``None``."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()
    if module is not None:
        app.add_middleware(module.TraceHubMiddleware)

    @app.get("/hello")
    async def hello() -> PlainTextResponse:
        return PlainTextResponse("hello")

    return app


def starlette_app(module: ModuleType | None) -> Any:
    """A bare Starlette hello app, with ``module``'s ``TraceHubMiddleware`` unless ``None``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    middleware = [] if module is None else [Middleware(module.TraceHubMiddleware)]
    return Starlette(routes=[Route("/hello", hello)], middleware=middleware)


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


def flask_app(module: ModuleType | None) -> Any:
    """A Flask hello app, with ``module``'s ``init_tracehub`` applied unless ``None``."""
    from flask import Flask

    app = Flask(f"bench_{getattr(module, '__name__', 'bare')}")
    if module is not None:
        module.init_tracehub(app)

    @app.get("/hello")
    def hello() -> str:
        return "hello"

    return app


def hello_view(request: Any) -> Any:
    """The Django hello view."""
    from django.http import HttpResponse

    return HttpResponse("hello")


urlpatterns: list[Any] = []


def django_app(module: ModuleType | None) -> Any:
    """A Django WSGI handler, with ``module``'s middleware unless ``None``.

    This module is the URLconf; settings are configured on first use.
    """
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import path

    if not settings.configured:
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
    settings.MIDDLEWARE = [] if module is None else [f"{module.__name__}.TraceHubMiddleware"]
    return WSGIHandler()


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


#: How each framework is built and driven: (title, app builder, runner, module name).
FRAMEWORKS: dict[
    str, tuple[str, Callable[[ModuleType | None], Any], Callable[..., Runner], str]
] = {
    "fastapi": ("FastAPI", fastapi_app, asgi_runner, "fastapi"),
    "starlette": ("Starlette", starlette_app, asgi_runner, "fastapi"),
    "flask": ("Flask", flask_app, wsgi_runner, "flask"),
    "django": ("Django", django_app, wsgi_runner, "django"),
}


def report_middleware(
    key: str, before: ModuleType | None, calls: int, rounds: int, *, floor: bool = False
) -> None:
    """Print bare vs traced medians for one framework, with and without an incoming id."""
    title, build, runner, module_name = FRAMEWORKS[key]
    current = importlib.import_module(f"tracehub.integrations.{module_name}")
    variants: list[tuple[str, Any]] = [("bare", None), ("traced", current)]
    if before is not None:
        variants.insert(1, ("before", before))
    if floor and key in FLOORED:
        variants.append(("floor", FLOOR))
    apps = [build(module) for _, module in variants]
    print(f"{title}: GET /hello per request, median of {rounds} interleaved rounds x {calls} calls")
    cases = (("incoming X-Trace-ID", HEADERS_WITH_ID), ("generated id", COMMON_HEADERS))
    for label, headers in cases:
        medians, ratios = interleaved_rounds([runner(a, headers) for a in apps], calls, rounds)
        parts = [f"bare {medians[0]:6.2f} µs"]
        for (name, _), median, ratio in zip(variants[1:], medians[1:], ratios[1:], strict=True):
            parts.append(
                f"{name} {median:6.2f} µs ({median - medians[0]:+5.2f} µs, {ratio - 1:+.1%})"
            )
        print(f"  {label:20}: " + ", ".join(parts))


#: The production server each framework is served by in the served mode.
SERVED_BY = {
    "fastapi": served.UVICORN,
    "starlette": served.UVICORN,
    "flask": served.GUNICORN,
    "django": served.GUNICORN,
}


def report_served(key: str, calls: int, rounds: int, *, floor: bool = False) -> None:
    """Print bare vs traced round trip and server CPU per request, behind a real server."""
    title = FRAMEWORKS[key][0]
    kind = SERVED_BY[key]
    names = ["bare", "traced", *(["floor"] if floor and key in FLOORED else [])]
    where = served.placement()  # asked before serving() pins this process to one CPU
    with served.serving(kind, [f"{key}:{name}" for name in names]) as servers:
        pinned = ""
        if where is not None:
            pinned = f"; client on CPU {where.client}, servers on {where.servers}"
        print(
            f"{title} served by {kind.title}: GET /hello per request,"
            f" median of {rounds} interleaved rounds x {calls} requests{pinned}"
        )
        cases = (("incoming X-Trace-ID", HEADERS_WITH_ID), ("generated id", COMMON_HEADERS))
        for label, headers in cases:
            runners = [
                served.RoundRunner(server, headers, traced=name != "bare", echoes=name != "floor")
                for name, server in zip(names, servers, strict=True)
            ]
            try:
                times, ratios = interleaved_rounds(runners, calls, rounds)
            finally:
                for runner in runners:
                    runner.close()
            cpu = served.cpu_figures(runners)
            for i, name in enumerate(names[1:], start=1):
                b, t, ratio = times[0], times[i], ratios[i]
                cb, ct, cpu_ratio = cpu.medians[0], cpu.medians[i], cpu.ratios[i]
                tb, tt = cpu.from_ticks[0], cpu.from_ticks[i]
                lead = f"{label:20}:" if i == 1 else " " * 21
                target = "  (target <= +5%)" if name == "traced" else ""
                print(
                    f"  {lead} round trip  bare {b:7.2f} µs,"
                    f" {name} {t:7.2f} µs ({t - b:+5.2f} µs, {ratio - 1:+.1%}){target}"
                )
                print(
                    f"  {'':20}  server CPU  bare {cb:7.2f} µs, {name} {ct:7.2f} µs"
                    f" ({ct - cb:+5.2f} µs, {cpu_ratio - 1:+.1%})"
                    f"   [utime+stime, all rounds: bare {tb:6.2f} µs, {name} {tt:6.2f} µs,"
                    f" {tt - tb:+5.2f} µs, {tt / tb - 1:+.1%}]"
                )
        for server in servers:
            server.check_alive()


def main() -> None:
    """Run every benchmark and print a small report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (CI smoke run)")
    parser.add_argument("--only", help="run one part: fastapi, starlette, flask, django, bridge")
    parser.add_argument(
        "--before", type=Path, help="also measure the integrations of the tracehub package in DIR"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the least middleware that does the job (FastAPI, Starlette)",
    )
    parser.add_argument(
        "--mode",
        choices=("in-process", "served", "both"),
        default="in-process",
        help="call the apps in-process (the default), behind real servers, or both",
    )
    args = parser.parse_args()
    in_process = args.mode in ("in-process", "both")
    if args.before is not None and not in_process:
        parser.error("--before measures the in-process mode only")
    calls, rounds = (50, 20) if args.quick else (50, 400)
    # Served: many short rounds. A round's server CPU time is read in ns (schedstat), so it
    # need not span many 10 ms ticks; and a round's cost here varies by +-20 % whatever its
    # length, so for the same requests, 50 per round gave ~3x tighter ratios than 250.
    served_calls, served_rounds = (50, 20) if args.quick else (50, 1000)
    for key in FRAMEWORKS:
        if args.only in (None, key):
            if in_process:
                before = None
                if args.before is not None:
                    module_name = FRAMEWORKS[key][3]
                    before = load_before(args.before, [module_name])[module_name]
                report_middleware(key, before, calls, rounds, floor=args.floor)
            if args.mode != "in-process":
                report_served(key, served_calls, served_rounds, floor=args.floor)
    if in_process and args.only in (None, "bridge"):
        report_bridge(calls, rounds // 4)


def report_bridge(calls: int, rounds: int) -> None:
    """Print the logging bridge's per-call cost next to a stdlib QueueHandler."""
    m = bench_bridge(calls, rounds)
    print(f"logging bridge: log.info('user %s logged in', 'bob', extra={{...}}), {rounds} rounds")
    print(f"  stdlib QueueHandler : {m.bare:7.2f} µs")
    ratio = f"{m.ratio:.1%} of QueueHandler, target <= 100%"
    print(f"  TraceHubHandler     : {m.traced:7.2f} µs   ({ratio})")


if __name__ == "__main__":
    main()
