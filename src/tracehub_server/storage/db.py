"""Connection pool and schema migrations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

import asyncpg

from tracehub_server.storage.partitions import prepare_partitions

# Any constant works; it only has to be the same in every TraceHub process.
_MIGRATION_LOCK_ID = 0x7472_6163_6568_7562  # "tracehub"


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections decode jsonb to Python objects."""
    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection
    )


async def _init_connection(conn: asyncpg.Connection) -> None:
    import orjson

    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        format="text",
    )


def _migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("tracehub_server.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied.

    Safe when several processes start at once: an advisory lock serialises them and each
    migration runs in its own transaction with its version recorded. Also creates the log
    partitions around today, so a fresh server never builds one on its first request.
    """
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in _migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
            applied.append(name)
        # Today's and the next days' partitions exist before the first batch arrives.
        await prepare_partitions(conn, datetime.now(timezone.utc))
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)
    return applied


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """One row of the schema's history: which migration, and when it ran."""

    name: str
    applied_at: datetime


async def migration_history(conn: asyncpg.Connection) -> list[AppliedMigration]:
    """Every migration applied to this database, in the order they ran."""
    rows = await conn.fetch("SELECT name, applied_at FROM schema_migrations ORDER BY version")
    return [AppliedMigration(name=row["name"], applied_at=row["applied_at"]) for row in rows]
