"""Fixtures for the JSON query API and auth tests: a real app (lifespan run) on the run's database,
two projects with seeded logs, issues and hourly counts, and one user per role."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import pytest
from query_api_support import Seat, World

from tracehub_server.app import create_app
from tracehub_server.auth import sessions, tokens
from tracehub_server.auth.passwords import hash_password
from tracehub_server.settings import Settings
from tracehub_server.storage.projects import create_project
from tracehub_server.storage.users import create_user, set_membership

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
async def client(migrated_database_url: str, amqp_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real app, lifespan run (pool opened, migrations applied)."""
    settings = Settings(
        database_url=migrated_database_url,
        amqp_url=amqp_url,
        queue_name=f"query_api_{secrets.token_hex(6)}",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def _seat(conn: asyncpg.Connection, tag: str, *, admin: bool = False) -> Seat:
    email = f"{tag}-{secrets.token_hex(4)}@example.com"
    user = await create_user(conn, email, _HASH, is_admin=admin)
    _, token = await tokens.create_token(conn, user.id, name=tag)
    session, csrf = await sessions.create_session(conn, user.id)
    return Seat(id=user.id, email=email, token=token, session=session, csrf=csrf)


async def insert_log(conn: asyncpg.Connection, project_id: int, **fields: object) -> uuid.UUID:
    """One row in ``logs`` (partition ensured); keyword arguments override the defaults."""
    row: dict[str, object] = {
        "project_id": project_id,
        "timestamp": NOW - timedelta(minutes=5),
        "event_id": uuid.uuid4(),
        "level": "INFO",
        "service": "api",
        "environment": "prod",
        "message": "request served",
    }
    row.update(fields)
    row.setdefault("received_at", row["timestamp"])
    ts = row["timestamp"]
    assert isinstance(ts, datetime)
    await conn.execute(
        "SELECT tracehub_ensure_log_partitions($1::date[])", [ts.astimezone(timezone.utc).date()]
    )
    columns = ", ".join(f'"{name}"' for name in row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO logs ({columns}) VALUES ({params})", *row.values())
    return row["event_id"]  # type: ignore[return-value]


async def insert_issue(
    conn: asyncpg.Connection, project_id: int, title: str, *, count: int, minutes_ago: int
) -> int:
    """One issue with ``count`` events, last seen ``minutes_ago``."""
    last = NOW - timedelta(minutes=minutes_ago)
    return await conn.fetchval(
        "INSERT INTO issues (project_id, fingerprint, title, error_type, error_message, level,"
        " first_seen, last_seen, event_count) VALUES ($1, $2, $3, 'ValueError', $3, 'ERROR',"
        " $4, $5, $6) RETURNING id",
        project_id,
        secrets.token_hex(16),
        title,
        last - timedelta(hours=2),
        last,
        count,
    )


@pytest.fixture
async def world(pool: asyncpg.Pool) -> World:
    """Projects A and B, users admin/member/viewer (of A)/outsider (member of B), data in both."""
    async with pool.acquire() as conn:
        a_name = f"alpha-{secrets.token_hex(4)}"
        a = (await create_project(conn, a_name)).id
        b = (await create_project(conn, f"beta-{secrets.token_hex(4)}")).id
        w = World(
            a=a,
            b=b,
            a_name=a_name,
            admin=await _seat(conn, "admin", admin=True),
            member=await _seat(conn, "member"),
            viewer=await _seat(conn, "viewer"),
            outsider=await _seat(conn, "outsider"),
        )
        await set_membership(conn, a, w.member.id, "member")
        await set_membership(conn, a, w.viewer.id, "viewer")
        await set_membership(conn, b, w.outsider.id, "member")

        crash = await insert_issue(conn, a, "ValueError: bad input", count=40, minutes_ago=3)
        old = await insert_issue(conn, a, "KeyError: 'x'", count=900, minutes_ago=600)
        other = await insert_issue(conn, b, "B's secret failure", count=5, minutes_ago=1)
        w.issues = {"crash": crash, "old": old, "other": other}
        w.logs["error"] = await insert_log(
            conn, a, level="ERROR", service="billing", module="billing.charge",
            message="payment failed for order 42", error_type="CardDeclined",
            error_message="insufficient funds", stack_trace="Traceback...\nCardDeclined",
            trace_id="trace-abc", extra={"user_id": "usr_42", "amount": 99, "vip": True},
            issue_id=crash, timestamp=NOW - timedelta(minutes=3),
        )  # fmt: skip
        w.logs["info"] = await insert_log(
            conn, a, trace_id="trace-abc", module="api.views", environment="staging",
            extra={"user_id": 42, "path": "/cart"}, timestamp=NOW - timedelta(minutes=4),
        )  # fmt: skip
        w.logs["warn"] = await insert_log(
            conn, a, level="WARN", message="disk 91% full (100_000 blocks)",
            extra={"nested": {"k": "v"}}, timestamp=NOW - timedelta(hours=30),
        )  # fmt: skip
        w.logs["b"] = await insert_log(
            conn, b, message="B's private log line", trace_id="trace-abc"
        )
        for level, n in (("INFO", 100), ("ERROR", 7), ("WARN", 3)):
            await conn.execute(
                "INSERT INTO hourly_counts VALUES ($1, date_trunc('hour', $2::timestamptz),"
                " $3, 'api', 'prod', $4)",
                a,
                NOW - timedelta(hours=1),
                level,
                n,
            )
        await conn.execute(
            "INSERT INTO hourly_counts VALUES ($1, date_trunc('hour', $2::timestamptz),"
            " 'INFO', 'api', 'prod', 1000)",
            b,
            NOW - timedelta(hours=1),
        )
        await conn.execute(
            "INSERT INTO issue_hourly_counts VALUES ($1, date_trunc('hour', $2::timestamptz), 40)",
            crash,
            NOW - timedelta(hours=1),
        )
    return w
