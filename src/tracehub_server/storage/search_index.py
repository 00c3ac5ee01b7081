"""The opt-in trigram index for full-text search (``tracehub search-index enable|disable``).

By default no text index exists: full-text search is a budgeted walk (``scan_budget``), and
ingest keeps its throughput. A read-heavy install can trade write speed for instant rare-term
searches with a ``pg_trgm`` GIN index on message, error type and error message. The benchmark
measured inserts at about half the rate with it (74,612 → 35,394 rows/s into one partition).

The index is built so that ingest never stops: an index on the partitioned parent is created
``ON ONLY`` (empty, not yet valid), each daily partition gets its own index with ``CREATE
INDEX CONCURRENTLY`` (no write lock), and each is then attached. Once all are attached the
parent index is valid, and partitions created later get theirs automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

INDEX_NAME = "logs_text_trgm"
_COLUMNS = "(message gin_trgm_ops, error_type gin_trgm_ops, error_message gin_trgm_ops)"


@dataclass(frozen=True, slots=True)
class IndexState:
    """Whether the parent index exists and how many partitions are covered."""

    exists: bool
    valid: bool
    partitions: int
    covered: int


async def _partitions(conn: asyncpg.Connection) -> list[str]:
    """The daily partitions of ``logs``, newest first (names from the catalog, quoted in SQL)."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'logs'::regclass ORDER BY c.relname DESC"
    )
    return [row["relname"] for row in rows]


async def index_state(conn: asyncpg.Connection) -> IndexState:
    """What is built so far (``valid`` is true once every partition's index is attached)."""
    parent = await conn.fetchrow(
        "SELECT x.indisvalid FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid"
        " WHERE c.relname = $1",
        INDEX_NAME,
    )
    parts = await _partitions(conn)
    covered = await conn.fetchval(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass($1)", INDEX_NAME
    )
    return IndexState(
        exists=parent is not None,
        valid=bool(parent and parent["indisvalid"]),
        partitions=len(parts),
        covered=covered or 0,
    )


async def enable(
    conn: asyncpg.Connection, *, progress: Callable[[str], None] = lambda _: None
) -> IndexState:
    """Create the index partition by partition, newest first, without blocking writes.

    Must run outside a transaction (``CONCURRENTLY`` requires it). Safe to re-run after an
    interruption: finished partitions are skipped, and an invalid leftover from a cancelled
    build is dropped and rebuilt.
    """
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    await conn.execute(f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON ONLY logs USING gin {_COLUMNS}")
    for part in await _partitions(conn):
        name = f"{part}_text_trgm"
        attached = await conn.fetchval(
            "SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1)"
            " AND inhparent = to_regclass($2)",
            name,
            INDEX_NAME,
        )
        if attached:
            continue
        invalid = await conn.fetchval(
            "SELECT NOT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass($1)", name
        )
        if invalid:
            await conn.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        progress(f"indexing {part}")
        await conn.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{part}" USING gin {_COLUMNS}'
        )
        await conn.execute(f'ALTER INDEX {INDEX_NAME} ATTACH PARTITION "{name}"')
    return await index_state(conn)


async def disable(conn: asyncpg.Connection) -> bool:
    """Drop the index and every partition's copy; False when it did not exist.

    A partitioned index cannot be dropped ``CONCURRENTLY``: this takes a brief exclusive lock
    on ``logs`` (a catalog change, no table scan).
    """
    existed = (await index_state(conn)).exists
    await conn.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")
    return existed
