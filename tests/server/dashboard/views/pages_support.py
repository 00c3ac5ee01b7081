"""Helpers and fixtures for the dashboard page tests (imported by this folder's conftest).

The app under test is a bare FastAPI app with only the dashboard mounted on a real pool, so
these tests exercise the pages (sessions, roles, CSRF, escaping) against real PostgreSQL
without depending on the ingest path. Rows are written with plain INSERTs here (test data
only; the product's SQL lives in ``storage/``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI

from tracehub_server import dashboard
from tracehub_server.auth.passwords import hash_password
from tracehub_server.settings import Settings
from tracehub_server.storage import projects as project_store
from tracehub_server.storage import users as user_store

PASSWORD = "correct horse battery"
HOSTILE = {
    "script": "<script>window.__xss=1</script>",
    "img": '"><img src=x onerror="window.__xss=1">',
    "js_link": "javascript:window.__xss=1",
}


@dataclass
class Seed:
    """What the seeded database holds: ids tests refer to."""

    admin: str = "admin@example.com"
    member: str = "member@example.com"
    viewer: str = "viewer@example.com"
    outsider: str = "outsider@example.com"
    project_id: int = 0
    other_project_id: int = 0
    issue_id: int = 0
    other_issue_id: int = 0
    error_event: str = ""
    hostile_event: str = ""
    other_event: str = ""
    trace_id: str = "trace-abc-123"
    key_id: int = 0
    events: list[str] = field(default_factory=list)


async def insert_log(conn: asyncpg.Connection, project_id: int, **fields: object) -> str:
    """One log row (test data), returning its event id."""
    now = datetime.now(timezone.utc)
    row = {
        "project_id": project_id,
        "timestamp": now,
        "event_id": uuid.uuid4(),
        "received_at": now,
        "level": "INFO",
        "service": "checkout",
        "environment": "production",
        "message": "hello",
        **fields,
    }
    if "extra" in row and row["extra"] is not None:
        row["extra"] = orjson.dumps(row["extra"]).decode()
    columns = ", ".join(f'"{k}"' for k in row)
    marks = ", ".join(f"${i}::jsonb" if k == "extra" else f"${i}" for i, k in enumerate(row, 1))
    await conn.execute(f"INSERT INTO logs ({columns}) VALUES ({marks})", *row.values())
    return str(row["event_id"])


async def insert_issue(conn: asyncpg.Connection, project_id: int, **fields: object) -> int:
    """One issue row with hourly counts for the last few hours (test data)."""
    now = datetime.now(timezone.utc)
    row = {
        "project_id": project_id,
        "fingerprint": uuid.uuid4().hex,
        "title": "ValueError: bad input",
        "error_type": "ValueError",
        "error_message": "bad input",
        "level": "ERROR",
        "first_seen": now - timedelta(hours=5),
        "last_seen": now,
        "event_count": 7,
        "sample_stack_trace": 'Traceback (most recent call last):\n  File "app.py", line 1\n',
        **fields,
    }
    columns = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    issue_id = await conn.fetchval(
        f"INSERT INTO issues ({columns}) VALUES ({marks}) RETURNING id", *row.values()
    )
    hour = now.replace(minute=0, second=0, microsecond=0)
    for back, count in ((0, 3), (2, 4)):
        await conn.execute(
            "INSERT INTO issue_hourly_counts (issue_id, hour, count) VALUES ($1, $2, $3)",
            issue_id,
            hour - timedelta(hours=back),
            count,
        )
    return issue_id


async def _seed(url: str) -> Seed:
    seed = Seed()
    conn = await asyncpg.connect(url)
    try:
        hashed = hash_password(PASSWORD)
        admin = await user_store.create_user(conn, seed.admin, hashed, is_admin=True)
        member = await user_store.create_user(conn, seed.member, hashed)
        viewer = await user_store.create_user(conn, seed.viewer, hashed)
        outsider = await user_store.create_user(conn, seed.outsider, hashed)
        project = await project_store.create_project(conn, "pages-shop")
        other = await project_store.create_project(conn, "pages-secret")
        seed.project_id, seed.other_project_id = project.id, other.id
        await user_store.set_membership(conn, project.id, member.id, "member")
        await user_store.set_membership(conn, project.id, viewer.id, "viewer")
        await user_store.set_membership(conn, other.id, outsider.id, "member")
        del admin
        key, _ = await project_store.create_api_key(conn, project.id, name="seed key")
        seed.key_id = key.id
        seed.issue_id = await insert_issue(conn, project.id)
        seed.other_issue_id = await insert_issue(conn, other.id, title="SecretError: hidden")
        now = datetime.now(timezone.utc)
        for i in range(60):
            seed.events.append(
                await insert_log(
                    conn,
                    project.id,
                    message=f"routine entry {i}",
                    module="shop.cart",
                    timestamp=now - timedelta(minutes=10 + i),
                    level=("DEBUG", "INFO", "WARN")[i % 3],
                )
            )
        seed.error_event = await insert_log(
            conn,
            project.id,
            level="ERROR",
            message="payment failed for order 42",
            error_type="ValueError",
            error_message="bad input",
            trace_id=seed.trace_id,
            stack_trace='Traceback (most recent call last):\n  File "pay.py", line 9\n'
            "ValueError: bad input",
            extra={"user_id": "usr_42", "cart": {"items": [1, 2]}},
            issue_id=seed.issue_id,
            module="shop.pay",
            timestamp=now - timedelta(minutes=2),
        )
        await insert_log(
            conn,
            project.id,
            message="request started",
            trace_id=seed.trace_id,
            timestamp=now - timedelta(minutes=3),
        )
        seed.hostile_event = await insert_log(
            conn,
            project.id,
            level="ERROR",
            message=HOSTILE["script"] + " " + HOSTILE["img"],
            service=HOSTILE["img"],
            module=HOSTILE["script"],
            error_type=HOSTILE["img"],
            error_message=HOSTILE["js_link"],
            trace_id=HOSTILE["js_link"],
            stack_trace=HOSTILE["script"],
            extra={HOSTILE["img"]: HOSTILE["js_link"], "nested": {"s": HOSTILE["script"]}},
            timestamp=now - timedelta(minutes=1),
        )
        await insert_issue(
            conn,
            project.id,
            title=HOSTILE["script"],
            error_type=HOSTILE["img"],
            error_message=HOSTILE["js_link"],
            service=HOSTILE["img"],
            is_regression=True,
            sample_stack_trace=HOSTILE["script"],
        )
        seed.other_event = await insert_log(conn, other.id, message="secret entry")
        hour = now.replace(minute=0, second=0, microsecond=0)
        for level, count in (("INFO", 40), ("ERROR", 3), ("WARN", 5)):
            await conn.execute(
                "INSERT INTO hourly_counts (project_id, hour, level, service, environment, count)"
                " VALUES ($1, $2, $3, 'checkout', 'production', $4)",
                project.id,
                hour,
                level,
                count,
            )
    finally:
        await conn.close()
    return seed


@pytest.fixture(scope="session")
def seed(migrated_database_url: str) -> Seed:
    """Users of every role, two projects, logs (hostile ones too), issues and counts."""
    return asyncio.run(_seed(migrated_database_url))


@pytest.fixture
def app(pool: asyncpg.Pool, migrated_database_url: str) -> FastAPI:
    """Only the dashboard, on the test database."""
    application = FastAPI()
    application.state.pool = pool
    application.state.settings = Settings(database_url=migrated_database_url)
    dashboard.mount(application)
    return application


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client without a session."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = await client.get("/login")
    resp = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert resp.status_code == 303, resp.text
    home = await client.get("/")
    return csrf_of(home.text)


async def _client_for(app: FastAPI, email: str) -> tuple[httpx.AsyncClient, str]:
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    csrf = await login(client, email)
    return client, csrf


@pytest.fixture
async def as_admin(app: FastAPI, seed: Seed) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    client, csrf = await _client_for(app, seed.admin)
    try:
        yield client, csrf
    finally:
        await client.aclose()


@pytest.fixture
async def as_member(app: FastAPI, seed: Seed) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    client, csrf = await _client_for(app, seed.member)
    try:
        yield client, csrf
    finally:
        await client.aclose()


@pytest.fixture
async def as_viewer(app: FastAPI, seed: Seed) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    client, csrf = await _client_for(app, seed.viewer)
    try:
        yield client, csrf
    finally:
        await client.aclose()
