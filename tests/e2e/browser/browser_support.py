"""Browser test harness: a real TraceHub server process, real PostgreSQL, real Chromium.

One server (``uvicorn --factory`` on a free 127.0.0.1 port, embedded queue so a 202 from
ingest means the rows are committed) per session and one browser per module; each test gets
a fresh browser context, so cookies never leak between tests. Users, the project and its API key
are created with the storage functions; every log is sent through ``POST /api/v1/ingest``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tracehub_server.auth.passwords import hash_password
from tracehub_server.storage import projects as project_store
from tracehub_server.storage import users as user_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-pass-123"
STARTUP_TIMEOUT = 60.0
_REPO = Path(__file__).resolve().parents[3]
# The docs' screenshots are refreshed only on request (TRACEHUB_SCREENSHOTS=1), so an
# ordinary test run never leaves the working tree dirty; otherwise they go to an ignored folder.
SCREENSHOTS = (
    _REPO / "docs" / "screenshots"
    if os.environ.get("TRACEHUB_SCREENSHOTS") == "1"
    else _REPO / "test-artifacts" / "screenshots"
)
XSS_VALUES = {
    "script": "<script>window.__xss=1</script>",
    "img": '"><img src=x onerror="window.__xss=1">',
    "js_link": "javascript:window.__xss=1//",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class World:
    """The server and what the harness created in it."""

    base_url: str
    admin: str
    member: str
    viewer: str
    project_id: int
    api_key: str
    trace_id: str
    error_event: str = ""
    hostile_event: str = ""
    issue_id: int = 0
    events: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def server_url(
    migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real server process on a free port; stopped (and its log shown on failure) after."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    env = {
        **os.environ,
        "TRACEHUB_DATABASE_URL": migrated_database_url,
        "TRACEHUB_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "TRACEHUB_SECRET_KEY": uuid.uuid4().hex,
    }
    env.pop("TRACEHUB_AMQP_URL", None)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "tracehub_server.app:app_from_environment",
             "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "3"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited:\n" + log_path.read_text(errors="replace"))
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def ingest(world_or_url: World | str, api_key: str, entries: list[dict[str, Any]]) -> None:
    """Send entries through the real ingest endpoint; asserts every one was accepted."""
    base = world_or_url.base_url if isinstance(world_or_url, World) else world_or_url
    resp = httpx.post(
        base + "/api/v1/ingest", json=entries, headers={"X-API-Key": api_key}, timeout=30
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["accepted"] == len(entries), resp.text


def entry(**fields: Any) -> dict[str, Any]:
    """A log entry as the SDK would send it (now, INFO, service "web")."""
    return {
        "event_id": str(uuid.uuid4()),
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "level": "INFO",
        "service": "web",
        "environment": "production",
        "message": "hello",
        **fields,
    }


async def _create_accounts(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        hashed = hash_password(PASSWORD)
        await user_store.create_user(conn, "b-admin@example.com", hashed, is_admin=True)
        member = await user_store.create_user(conn, "b-member@example.com", hashed)
        viewer = await user_store.create_user(conn, "b-viewer@example.com", hashed)
        project = await project_store.create_project(conn, "browser-shop")
        await user_store.set_membership(conn, project.id, member.id, "member")
        await user_store.set_membership(conn, project.id, viewer.id, "viewer")
        _key, plaintext = await project_store.create_api_key(conn, project.id, name="harness")
        return project.id, plaintext
    finally:
        await conn.close()


async def issue_of(url: str, event_id: str) -> int:
    """The issue the entry with ``event_id`` was grouped into."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT issue_id FROM logs WHERE event_id = $1", uuid.UUID(event_id)
        )
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def world(server_url: str, migrated_database_url: str) -> World:
    """An admin, a member and a viewer; a project with a key; logs sent through ingest."""
    project_id, key = asyncio.run(_create_accounts(migrated_database_url))
    w = World(
        base_url=server_url,
        admin="b-admin@example.com",
        member="b-member@example.com",
        viewer="b-viewer@example.com",
        project_id=project_id,
        api_key=key,
        trace_id="trace-" + uuid.uuid4().hex[:12],
    )
    now = datetime.now(timezone.utc)
    routine = []
    services = ("web", "checkout", "worker")
    for i in range(80):
        routine.append(entry(
            timestamp=(now - timedelta(minutes=5 + i * 7)).isoformat(),
            level=("DEBUG", "INFO", "INFO", "WARN")[i % 4],
            service=services[i % 3], module=f"shop.{services[i % 3]}",
            message=f"GET /api/cart/{i} 200 in {10 + i} ms",
            extra={"request_id": f"req_{i}", "user_id": f"usr_{i % 5}"},
        ))  # fmt: skip
    ingest(w, key, routine)
    w.events = [e["event_id"] for e in routine]
    start = entry(timestamp=(now - timedelta(minutes=3)).isoformat(), trace_id=w.trace_id,
                  message="checkout started for order 1042", service="checkout",
                  module="shop.checkout")  # fmt: skip
    error = entry(
        timestamp=(now - timedelta(minutes=2)).isoformat(), level="ERROR", service="checkout",
        module="shop.payments", trace_id=w.trace_id,
        message="Payment failed for order 1042",
        error_type="CardDeclinedError", error_message="card declined: insufficient funds",
        stack_trace='Traceback (most recent call last):\n  File "shop/payments.py", line 88,'
        " in charge\n    gateway.charge(order)\n  File \"shop/gateway.py\", line 41, in charge\n"
        "    raise CardDeclinedError(reason)\nCardDeclinedError: card declined: insufficient funds",
        extra={"user_id": "usr_42", "order": {"id": 1042, "total": 99.5, "items": ["book", "pen"]},
               "retry": False},
    )  # fmt: skip
    hostile = entry(
        timestamp=(now - timedelta(minutes=1)).isoformat(), level="ERROR",
        message=f"{XSS_VALUES['script']} {XSS_VALUES['img']} {XSS_VALUES['js_link']}",
        service=XSS_VALUES["img"], module=XSS_VALUES["script"],
        error_type="XssProbe", error_message=XSS_VALUES["img"],
        trace_id=XSS_VALUES["js_link"], stack_trace=XSS_VALUES["script"],
        extra={XSS_VALUES["img"]: XSS_VALUES["js_link"], "link": XSS_VALUES["js_link"],
               "nested": {"html": XSS_VALUES["script"]}},
    )  # fmt: skip
    ingest(w, key, [start, error, hostile])
    w.error_event, w.hostile_event = error["event_id"], hostile["event_id"]
    w.issue_id = asyncio.run(issue_of(migrated_database_url, w.error_event))
    assert w.issue_id, "the ERROR entry was not grouped into an issue"
    return w


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    """One headless Chromium per test module (a second or so to start).

    Not session-scoped on purpose: Playwright's sync API runs an event loop in this thread
    while it is alive, which would break the asyncio tests of other packages collected after
    this one; module scope stops it as soon as the browser tests are done.

    Started after ``world``: Playwright's sync API keeps an event loop running in this
    thread, so the harness's own ``asyncio.run`` calls must happen before it starts (tests
    needing the database afterwards use :func:`run_async`, which runs in another thread).
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def run_async(coro: Any) -> Any:
    """Run a coroutine to completion in a helper thread (Playwright owns this thread's loop)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


@dataclass
class Dialogs:
    """Every alert/confirm/prompt a page opened (an XSS payload would open one)."""

    seen: list[str] = field(default_factory=list)


@pytest.fixture
def dialogs() -> Dialogs:
    return Dialogs()


@pytest.fixture
def context(browser: Any, dialogs: Dialogs) -> Iterator[Any]:
    """A fresh browser context (own cookies) with a 1280x800 laptop viewport."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(15_000)

    def on_page(page: Any) -> None:
        def on_dialog(dialog: Any) -> None:
            dialogs.seen.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

    ctx.on("page", on_page)
    try:
        yield ctx
    finally:
        ctx.close()


def login(context: Any, world: World, email: str) -> Any:
    """Log in through the form; returns the page, now on the projects list or, for a user
    with one project, on that project's overview."""
    page = context.new_page()
    page.goto(world.url("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot, of the whole page or of the window (docs/screenshots/ when
    TRACEHUB_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
