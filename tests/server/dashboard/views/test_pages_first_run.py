"""First run: with no users at all, the login page says how to create the first admin.

These tests use their own migrated database without users (the run's shared database is
seeded with users by other page tests), created next to it and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pages_support import PASSWORD, csrf_of

from tracehub_server import dashboard
from tracehub_server.auth.passwords import hash_password
from tracehub_server.settings import Settings
from tracehub_server.storage import users as user_store
from tracehub_server.storage.db import create_pool, migrate

HINT = "No users yet. Create the first administrator with:"
COMMAND = "<code>tracehub user create you@example.com --admin</code>"


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def empty_database_url(database_url: str) -> Iterator[str]:
    """A migrated database of this run with no users, dropped after the module."""
    base, _, run_db = database_url.rpartition("/")
    name = f"{run_db}_nousers"
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    url = f"{base}/{name}"
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def empty_pool(empty_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(empty_database_url, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
async def fresh(
    empty_pool: asyncpg.Pool, empty_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of a dashboard whose database has no users."""
    app = FastAPI()
    app.state.pool = empty_pool
    app.state.settings = Settings(database_url=empty_database_url)
    dashboard.mount(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_login_page_shows_the_cli_hint_when_there_are_no_users(
    fresh: httpx.AsyncClient,
) -> None:
    """GET /login on an empty instance names the CLI command, as text and code."""
    resp = await fresh.get("/login")
    assert resp.status_code == 200
    assert HINT in resp.text
    assert COMMAND in resp.text


async def test_first_run_page_offers_no_way_to_create_a_user_from_the_web(
    fresh: httpx.AsyncClient, empty_pool: asyncpg.Pool
) -> None:
    """The only form is the login form, and an anonymous POST to user creation creates none."""
    resp = await fresh.get("/login")
    forms = re.findall(r"<form\b[^>]*>", resp.text)
    assert forms == ['<form class="card" method="post" action="/login">']
    assert "password_confirm" not in resp.text
    attempt = await fresh.post(
        "/admin/users",
        data={"email": "intruder@example.com", "password": PASSWORD, "is_admin": "on",
              "csrf_token": csrf_of(resp.text)},
    )  # fmt: skip
    assert attempt.status_code in (303, 403)
    async with empty_pool.acquire() as conn:
        assert not await user_store.has_users(conn)


async def test_failed_login_on_an_empty_instance_repeats_the_hint(
    fresh: httpx.AsyncClient,
) -> None:
    """Trying to log in before anyone exists answers the usual 400 and still shows the hint."""
    page = await fresh.get("/login")
    resp = await fresh.post(
        "/login",
        data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert resp.status_code == 400
    assert "do not match an account" in resp.text
    assert HINT in resp.text


async def test_hint_is_static_and_hostile_next_stays_escaped(fresh: httpx.AsyncClient) -> None:
    """A hostile or oversized ``next`` cannot reach the hint, and is escaped where it lands."""
    hostile = '"><script>window.__xss=1</script>' + "x" * 20_000
    resp = await fresh.get("/login", params={"next": hostile})
    assert resp.status_code == 200
    assert COMMAND in resp.text
    assert "<script>window.__xss=1</script>" not in resp.text


async def test_concurrent_first_run_loads_all_show_the_hint(fresh: httpx.AsyncClient) -> None:
    """Twenty simultaneous loads of the empty instance's login page all carry the hint."""
    responses = await asyncio.wait_for(
        asyncio.gather(*(fresh.get("/login") for _ in range(20))), 60
    )
    assert all(r.status_code == 200 and COMMAND in r.text for r in responses)


async def test_hint_disappears_once_a_user_exists(
    fresh: httpx.AsyncClient, empty_pool: asyncpg.Pool
) -> None:
    """After ``tracehub user create`` (here: the storage call it makes) the hint is gone."""
    async with empty_pool.acquire() as conn:
        user = await user_store.create_user(
            conn, "first@example.com", hash_password(PASSWORD), is_admin=True
        )
    try:
        async with empty_pool.acquire() as conn:
            assert await user_store.has_users(conn)
        resp = await fresh.get("/login")
        assert resp.status_code == 200
        assert HINT not in resp.text
        assert "tracehub user create" not in resp.text
    finally:
        async with empty_pool.acquire() as conn:
            await conn.execute("DELETE FROM users WHERE id = $1", user.id)
