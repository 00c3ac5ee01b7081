"""The real ``@sentry/browser`` in Chromium reports to TraceHub from another origin.

A page on a second 127.0.0.1 origin loads the SDK (from npm, bundled by esbuild into the
ignored ``.sentry-browser/``: ``make sentry-browser``, part of ``make test``), calls
``Sentry.init({dsn})``, ``captureException`` and ``captureMessage``, and flushes; the
entries are then read from the database. The browser enforces CORS, so this proves the
answers are readable cross-origin -- the SDK's own fetch and a preflighted one -- and, with
the SDK's ``tunnel`` option, that the DSN inside the envelope authenticates it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from browser_support import World, run_async

from tracehub_server.grouping.fingerprint import fingerprint_parts
from tracehub_server.storage.projects import create_api_key

_REPO = Path(__file__).resolve().parents[3]
_BUNDLES = list((_REPO / ".sentry-browser").glob("sentry-browser-*.js"))

#: The application: named functions, so the trace has frames to group on.
APP_JS = b"""
function chargeCard(order) {
  throw new Error("card declined for order " + order);
}
function checkout(order) {
  try {
    chargeCard(order);
  } catch (error) {
    return Sentry.captureException(error);
  }
}
"""
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shop</title>
<script src="/sentry.js"></script><script src="/app.js"></script>
</head><body><h1>shop</h1></body></html>
"""
#: Init with a transport that records each answer's status (a CORS failure is an error).
REPORT = """async ([dsn, tunnel]) => {
  const statuses = [];
  Sentry.init({
    dsn,
    tunnel: tunnel || undefined,
    transport: (options) => {
      const inner = Sentry.makeFetchTransport(options);
      return {
        send: (envelope) => inner.send(envelope).then(
          (answer) => { statuses.push(answer.statusCode); return answer; },
          (error) => { statuses.push(String(error)); throw error; }),
        flush: (timeout) => inner.flush(timeout),
      };
    },
  });
  const errorId = checkout(1042);
  const messageId = Sentry.captureMessage("checkout slow", "warning");
  const flushed = await Sentry.flush(10000);
  return {errorId, messageId, flushed, statuses};
}"""


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The SDK bundle ``make sentry-browser`` built last (its name holds the version)."""
    if not _BUNDLES:
        reason = "no .sentry-browser/sentry-browser-*.js: run `make sentry-browser` (needs npm)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return max(_BUNDLES, key=lambda path: path.stat().st_mtime)


class _Shop(BaseHTTPRequestHandler):
    """The application's origin: the page, its script, the SDK and a Sentry tunnel."""

    files: dict[str, tuple[str, bytes]]
    upstream: str  # TraceHub's envelope URL the tunnel forwards to

    def do_GET(self) -> None:
        kind, body = self.files.get(self.path, ("text/plain", b""))
        self._answer(200 if body else 404, kind, body)

    def do_POST(self) -> None:
        """The tunnel: forwards the envelope as it came, without a key."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = httpx.post(self.upstream, content=body, timeout=30)
        self._answer(answer.status_code, "application/json", answer.content)

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop(world: World, bundle: Path) -> Iterator[str]:
    """The shop's origin (another port than TraceHub's): its base URL."""
    files = {
        "/": ("text/html", PAGE),
        "/app.js": ("text/javascript", APP_JS),
        "/sentry.js": ("text/javascript", bundle.read_bytes()),
    }
    upstream = world.url(f"/api/{world.project_id}/envelope/")
    handler = type("Shop", (_Shop,), {"files": files, "upstream": upstream})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def dsn(world: World, migrated_database_url: str) -> str:
    """The project's DSN with a new key (letters and digits: every Sentry SDK takes it)."""

    async def create() -> str:
        conn = await asyncpg.connect(migrated_database_url)
        try:
            _, key = await create_api_key(conn, world.project_id, name="browser sdk")
            return key
        finally:
            await conn.close()

    key = run_async(create())
    return world.base_url.replace("http://", f"http://{key}@") + f"/{world.project_id}"


def _rows(url: str, *event_ids: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT * FROM logs WHERE event_id = ANY($1::uuid[])", list(event_ids)
            )
        finally:
            await conn.close()
        return {row["event_id"].hex: dict(row) for row in rows}

    return run_async(fetch())


def _report(context: Any, shop: str, dsn: str, tunnel: str = "") -> dict[str, Any]:
    page = context.new_page()
    page.goto(shop + "/")
    result = page.evaluate(REPORT, [dsn, tunnel])
    page.close()
    assert result["flushed"] is True
    assert result["statuses"], "the SDK sent nothing"
    assert set(result["statuses"]) == {200}, result["statuses"]
    return result


def test_the_browser_sdk_reports_errors_and_messages_cross_origin(
    context: Any, dsn: str, shop: str, bundle: Path, migrated_database_url: str
) -> None:
    """captureException and captureMessage from another origin are stored: the error with
    its frames (a V8 trace, grouped on them), the SDK's name and version, the message."""
    result = _report(context, shop, dsn)
    rows = _rows(migrated_database_url, result["errorId"], result["messageId"])
    error, message = rows[result["errorId"]], rows[result["messageId"]]
    version = bundle.stem.removeprefix("sentry-browser-")
    assert (error["level"], error["error_type"], error["sdk_version"]) == (
        "ERROR", "Error", f"sentry.javascript.browser/{version}"
    )  # fmt: skip
    lines = error["stack_trace"].splitlines()
    assert lines[0] == "Error: card declined for order 1042"
    assert lines[1].startswith(f"    at chargeCard ({shop}/app.js:")
    assert lines[2].startswith(f"    at checkout ({shop}/app.js:")
    frames = orjson.loads(error["exception"])["values"][-1]["stacktrace"]["frames"]
    assert [(f["function"], f["in_app"]) for f in frames[-2:]] == [
        ("checkout", True), ("chargeCard", True)
    ]  # fmt: skip
    assert error["issue_id"] is not None
    parts = fingerprint_parts("Error", "card declined", error["stack_trace"])
    assert parts[0] == "frames"
    assert "/app.js:chargeCard" in parts
    assert (message["level"], message["message"]) == ("WARN", "checkout slow")


def test_a_tunnelled_browser_sdk_is_authenticated_by_the_envelopes_dsn(
    context: Any, dsn: str, shop: str, migrated_database_url: str
) -> None:
    """With ``tunnel``, the page posts to its own origin, which forwards the envelope without
    a key; the DSN the SDK wrote into the envelope authenticates it."""
    result = _report(context, shop, dsn, tunnel=shop + "/tunnel")
    rows = _rows(migrated_database_url, result["errorId"], result["messageId"])
    assert set(rows) == {result["errorId"], result["messageId"]}


def test_a_preflighted_request_reads_the_refusal(context: Any, world: World, shop: str) -> None:
    """A fetch with ``X-Sentry-Auth`` (preflighted) gets a readable 401 and X-Sentry-Error."""
    page = context.new_page()
    page.goto(shop + "/")
    status, error = page.evaluate(
        """async (url) => {
          const answer = await fetch(url, {method: "POST", body: "{}\\n", headers: {
            "X-Sentry-Auth": "Sentry sentry_key=th_wrong, sentry_version=7",
            "Content-Type": "application/x-sentry-envelope"}});
          return [answer.status, answer.headers.get("x-sentry-error")];
        }""",
        world.url(f"/api/{world.project_id}/envelope/"),
    )
    page.close()
    assert (status, error) == (401, "unknown API key")


def test_the_sdk_refuses_a_dsn_whose_key_holds_a_dash(
    context: Any, world: World, shop: str
) -> None:
    """The JavaScript SDKs parse a DSN's key as ``\\w+``: with a ``-`` the SDK disables itself,
    which is why TraceHub makes keys of letters and digits only."""
    page = context.new_page()
    page.goto(shop + "/")
    parsed = page.evaluate(
        "(dsn) => { Sentry.init({dsn}); return Boolean(Sentry.getClient().getDsn()); }",
        world.base_url.replace("http://", "http://th_ab-cd@") + f"/{world.project_id}",
    )
    page.close()
    assert parsed is False
