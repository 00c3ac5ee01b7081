"""``tracehub search-index enable|disable|status`` on a database of its own."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest
from click.testing import CliRunner
from query_api_fixtures import insert_log

from tracehub_server.cli import cli
from tracehub_server.storage import log_queries, search_index
from tracehub_server.storage.db import migrate
from tracehub_server.storage.projects import create_project
from tracehub_server.web_params import parse_log_filter

ADMIN_URL = os.environ.get("TRACEHUB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def own_db() -> AsyncIterator[str]:
    """A migrated database for this test only (the index must not slow other tests)."""
    name = f"th_test_trgm_{os.getpid()}_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rpartition("/")[0] + "/" + name
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _cli(url: str, *args: str):
    # The command runs its own event loop, so it runs in a thread beside this test's loop.
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, ["--database-url", url, *args])


async def test_enable_covers_every_partition_and_disable_drops_it(own_db: str) -> None:
    """Enable: a valid index on each partition (new ones too), same results; disable: gone."""
    conn = await asyncpg.connect(own_db)
    try:
        pid = (await create_project(conn, "trgm")).id
        needle = await insert_log(conn, pid, message="rare 50%_wombat here")
        await insert_log(conn, pid, message="common words")
        off = await _cli(own_db, "search-index", "status")
        assert off.exit_code == 0, off.output
        assert "off" in off.output
        on = await _cli(own_db, "search-index", "enable")
        assert on.exit_code == 0, on.output
        state = await search_index.index_state(conn)
        assert state.valid
        assert state.covered == state.partitions > 0
        again = await _cli(own_db, "search-index", "enable")  # idempotent
        assert again.exit_code == 0, again.output
        future = date.today() + timedelta(days=400)
        await conn.execute("SELECT tracehub_ensure_log_partitions($1::date[])", [future])
        later = await search_index.index_state(conn)
        assert later.covered == later.partitions == state.partitions + 1
        flt = parse_log_filter({"q": "50%_wombat", "since": "1h"})
        page = await log_queries.search_logs(conn, [pid], flt)
        assert [e.event_id for e in page.entries] == [needle]
        off = await _cli(own_db, "search-index", "disable")
        assert off.exit_code == 0, off.output
        assert not (await search_index.index_state(conn)).exists
        twice = await _cli(own_db, "search-index", "disable")
        assert "was not enabled" in twice.output
    finally:
        await conn.close()


async def test_unreachable_database_is_one_error_line() -> None:
    """A database that cannot be reached fails with a non-zero exit and one line."""
    result = await _cli("postgresql://postgres@127.0.0.1:1/none", "search-index", "status")
    assert result.exit_code != 0
    assert result.output.strip().count("\n") == 0
