"""``init_tracehub`` with a real Flask app, its test client and a local receiver."""

from __future__ import annotations

import contextvars
import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

flask = pytest.importorskip("flask")

from flask import Flask, Response, abort, stream_with_context  # noqa: E402

from tracehub import TraceHubLogger  # noqa: E402
from tracehub.enricher import get_trace_id  # noqa: E402
from tracehub.integrations.flask import init_tracehub  # noqa: E402

HEX32 = re.compile(r"[0-9a-f]{32}")
W3C_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
Delivered = Callable[[], list[dict[str, Any]]]


def make_app(logger: TraceHubLogger | None, **options: Any) -> Flask:
    """A Flask app with TraceHub installed and endpoints exercising every behaviour."""
    app = Flask(__name__)
    init_tracehub(app, logger=logger, **options)
    barrier = threading.Barrier(10, timeout=30)
    app.config["barrier"] = barrier

    @app.get("/hello")
    def hello() -> str:
        n = flask.request.args.get("n", "0")
        if flask.request.args.get("together"):
            barrier.wait()  # ten requests are in flight at once before any returns
        if logger is not None:
            logger.info("hello", extra={"n": int(n)})
        return get_trace_id() or ""

    @app.get("/thread")
    def in_thread() -> str:
        seen: list[str | None] = []
        ctx = contextvars.copy_context()
        worker = threading.Thread(target=ctx.run, args=(lambda: seen.append(get_trace_id()),))
        worker.start()
        worker.join(timeout=10)
        return seen[0] or ""

    @app.get("/items/<int:item_id>")
    def boom(item_id: int) -> str:
        raise ValueError(f"item {item_id} exploded")

    @app.get("/missing")
    def missing() -> str:
        abort(404)

    @app.get("/stream")
    def stream() -> Response:
        def body() -> Iterator[str]:
            yield "first;"
            if logger is not None:
                logger.info("while streaming")
            yield get_trace_id() or ""

        return Response(body(), mimetype="text/plain")

    @app.get("/stream-with-context")
    def stream_ctx() -> Response:
        @stream_with_context
        def body() -> Iterator[str]:
            yield flask.request.path + ";"
            yield get_trace_id() or ""

        return Response(body(), mimetype="text/plain")

    return app


def test_incoming_x_trace_id_reaches_logs_and_response(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """A valid X-Trace-ID is bound for the view, logged with and echoed back."""
    response = make_app(th_logger).test_client().get("/hello", headers={"X-Trace-ID": "req-1"})
    assert response.text == "req-1"
    assert response.headers["X-Trace-ID"] == "req-1"
    [entry] = [e for e in delivered() if e["message"] == "hello"]
    assert entry["trace_id"] == "req-1"
    assert get_trace_id() == ""


def test_traceparent_and_generated_ids() -> None:
    """traceparent supplies the id when X-Trace-ID is absent; otherwise one is generated."""
    client = make_app(None).test_client()
    tp = {"traceparent": f"00-{W3C_TRACE_ID}-00f067aa0ba902b7-01"}
    assert client.get("/hello", headers=tp).headers["X-Trace-ID"] == W3C_TRACE_ID
    for headers in ({}, {"X-Trace-ID": "bad id"}, {"X-Trace-ID": "y" * 10_000}):
        response = client.get("/hello", headers=headers)
        assert HEX32.fullmatch(response.headers["X-Trace-ID"])
        assert response.text == response.headers["X-Trace-ID"]


def test_hundred_concurrent_requests_never_mix_ids(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """100 requests, ten in flight at a time, each see and log only their own id."""
    app = make_app(th_logger)

    def one(n: int) -> tuple[int, Any]:
        client = app.test_client()
        response = client.get(f"/hello?n={n}&together=1", headers={"X-Trace-ID": f"req-{n}"})
        return n, response

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(100), timeout=120))
    for n, response in results:
        assert response.text == f"req-{n}"
        assert response.headers["X-Trace-ID"] == f"req-{n}"
    logged = {e["extra"]["n"]: e["trace_id"] for e in delivered() if e["message"] == "hello"}
    assert logged == {n: f"req-{n}" for n in range(100)}


def test_threads_started_with_copied_context_see_the_id() -> None:
    """A thread started via contextvars.copy_context().run inherits the request's id."""
    response = make_app(None).test_client().get("/thread", headers={"X-Trace-ID": "thr"})
    assert response.text == "thr"


def test_handler_exception_is_reported_and_flask_still_returns_500(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """A crash is logged as ERROR with context and no secrets; Flask still renders a 500."""
    client = make_app(th_logger).test_client()
    response = client.get(
        "/items/9?token=top-secret-query",
        headers={"X-Trace-ID": "crash", "Authorization": "Bearer top-secret"},
        data={"password": "top-secret-body"},
        environ_base={"REMOTE_ADDR": "10.9.8.7", "HTTP_COOKIE": "s=top-secret-cookie"},
    )
    assert response.status_code == 500
    assert response.headers["X-Trace-ID"] == "crash"
    assert get_trace_id() == ""
    [entry] = [e for e in delivered() if e["level"] == "ERROR"]
    assert entry["trace_id"] == "crash"
    assert entry["error_type"] == "ValueError"
    assert "item 9 exploded" in entry["stack_trace"]
    assert entry["module"] == __name__
    assert entry["extra"] | {"duration_ms": 0} == {
        "integration": "flask",
        "method": "GET",
        "path": "/items/9",
        "route": "/items/<int:item_id>",
        "status": 500,
        "duration_ms": 0,
        "client_ip": "10.9.8.7",
    }
    assert "top-secret" not in json.dumps(entry)


def test_http_errors_and_disabled_capture_are_not_reported(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """abort(404) is not a crash, and capture_exceptions=False reports nothing."""
    assert make_app(th_logger).test_client().get("/missing").status_code == 404
    quiet = make_app(th_logger, capture_exceptions=False)
    assert quiet.test_client().get("/items/1").status_code == 500
    assert [e for e in delivered() if e["level"] == "ERROR"] == []


def test_default_logger_is_used_when_none_is_passed(
    default_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Without a logger argument the crash goes to tracehub's default logger."""
    assert make_app(None).test_client().get("/items/2").status_code == 500
    assert len([e for e in delivered() if e["level"] == "ERROR"]) == 1


def test_propagating_exceptions_are_reported_then_re_raised(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """In testing mode Flask re-raises; the crash is still reported and the id cleared."""
    app = make_app(th_logger)
    app.testing = True
    with pytest.raises(ValueError, match="exploded"):
        app.test_client().get("/items/5", headers={"X-Trace-ID": "prop"})
    assert get_trace_id() == ""
    [entry] = [e for e in delivered() if e["level"] == "ERROR"]
    assert entry["trace_id"] == "prop"


def test_streamed_body_keeps_the_id_while_it_is_produced(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Generator bodies run after the view returns and still see and log the id."""
    client = make_app(th_logger).test_client()
    response = client.get("/stream", headers={"X-Trace-ID": "flow"}, buffered=False)
    chunks = list(response.response)
    response.close()
    assert b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks) == b"first;flow"
    assert len(chunks) == 2
    assert client.get("/stream-with-context", headers={"X-Trace-ID": "c"}).text == (
        "/stream-with-context;c"
    )
    [entry] = [e for e in delivered() if e["message"] == "while streaming"]
    assert entry["trace_id"] == "flow"
    assert get_trace_id() == ""


def test_init_is_idempotent() -> None:
    """A second init_tracehub on one app returns the first and wraps nothing twice."""
    app = Flask(__name__)
    first = init_tracehub(app)
    wsgi_app = app.wsgi_app
    assert init_tracehub(app) is first
    assert app.wsgi_app == wsgi_app


def test_after_request_hooks_still_run_and_their_streamed_body_is_traced(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Wrapping process_response keeps the app's hooks, even one that swaps in a stream."""
    app = Flask(__name__)
    init_tracehub(app, logger=th_logger)

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    @app.after_request
    def swap_in_a_stream(response: flask.Response) -> flask.Response:
        def body() -> Iterator[str]:
            th_logger.info("from a hook's stream")
            yield "streamed:" + (get_trace_id() or "")

        response.headers["X-Hook"] = "ran"
        del response.headers["Content-Length"]  # the body changes
        response.response = body()
        return response

    response = app.test_client().get("/plain", headers={"X-Trace-ID": "hooked"})
    assert response.headers["X-Hook"] == "ran"
    assert response.headers["X-Trace-ID"] == "hooked"
    assert response.get_data(as_text=True) == "streamed:hooked"
    [entry] = [e for e in delivered() if e["message"] == "from a hook's stream"]
    assert entry["trace_id"] == "hooked"
