"""The shared query building blocks: bound parameters and the statement timeout."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tracehub_server.storage import sql
from tracehub_server.storage.sql import QueryTimeoutError, Where, fetch_bounded

HOSTILE = ("'; DROP TABLE logs; --", "$1", "\\", "%_", "\x01 \u202e", "x" * 100_000)


def test_where_numbers_parameters_in_order_and_never_inlines_values() -> None:
    """Each value becomes the next ``$n``; the SQL text holds placeholders only."""
    where = Where()
    where.add(f"a = {where.arg(HOSTILE[0])}")
    where.any_of("b", ["one"])
    where.any_of("c", ["x", "y"])
    where.any_of("d", [])
    assert where.sql() == "a = $1 AND b = $2 AND c = ANY($3::text[])"
    assert where.args == [HOSTILE[0], "one", ["x", "y"]]
    assert "DROP" not in where.sql()


def test_empty_where_matches_everything() -> None:
    """No clauses is ``true``, not an empty (invalid) WHERE."""
    assert Where().sql() == "true"


async def test_hostile_values_round_trip_as_data(pool: asyncpg.Pool) -> None:
    """Injection-like, oversized and control-character values are compared, not executed."""
    where = Where()
    where.any_of("v", list(HOSTILE))
    async with pool.acquire() as conn:
        rows = await fetch_bounded(
            conn,
            f"SELECT v FROM unnest({where.arg(list(HOSTILE))}::text[]) AS t(v)"
            f" WHERE {where.sql()} ORDER BY v",
            *where.args,
        )
        assert sorted(r["v"] for r in rows) == sorted(HOSTILE)
        assert await conn.fetchval("SELECT to_regclass('logs') IS NOT NULL")


async def test_fetch_bounded_turns_a_cancelled_statement_into_query_timeout(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limit PostgreSQL cancels the statement and the caller gets QueryTimeoutError."""
    monkeypatch.setattr(sql, "QUERY_TIMEOUT_MS", 50)
    async with pool.acquire() as conn:
        with pytest.raises(QueryTimeoutError, match="narrow since/until"):
            await fetch_bounded(conn, "SELECT pg_sleep(30)")
        assert await conn.fetchval("SELECT 1") == 1  # the connection is still usable


async def test_fetch_bounded_timeout_does_not_outlive_the_statement(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is SET LOCAL: the pooled connection keeps its own setting afterwards."""
    monkeypatch.setattr(sql, "QUERY_TIMEOUT_MS", 1234)  # PostgreSQL shows it as "1234ms"
    async with pool.acquire() as conn:
        before = await conn.fetchval("SHOW statement_timeout")
        inside = await fetch_bounded(conn, "SELECT current_setting('statement_timeout') AS t")
        assert inside[0]["t"] == "1234ms"
        assert await conn.fetchval("SHOW statement_timeout") == before


async def test_fetch_bounded_inside_a_transaction_undoes_only_itself(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the caller's transaction a timeout rolls back to a savepoint, not the whole work."""
    monkeypatch.setattr(sql, "QUERY_TIMEOUT_MS", 50)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE kept (n int) ON COMMIT DROP")
        await conn.execute("INSERT INTO kept VALUES (1)")
        with pytest.raises(QueryTimeoutError):
            await fetch_bounded(conn, "SELECT pg_sleep(30)")
        assert await conn.fetchval("SELECT count(*) FROM kept") == 1


async def test_concurrent_bounded_fetches_each_get_their_own_answer(pool: asyncpg.Pool) -> None:
    """Parallel statements on the pool return their own rows."""

    async def one(n: int) -> int:
        async with pool.acquire() as conn:
            rows = await fetch_bounded(conn, "SELECT $1::int AS n", n)
            return rows[0]["n"]

    results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(12))), 60)
    assert results == list(range(12))
