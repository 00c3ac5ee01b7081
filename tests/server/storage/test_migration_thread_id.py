"""Migration 0200: ``logs.thread_id`` becomes text, each stored ident reading as it was sent."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import asyncpg
import pytest

from tracehub_server.storage import db

THREAD_ID_TEXT = 200


async def test_stored_idents_become_the_text_the_client_sent(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signed ident stays, an unsigned one (stored with the same bits, negative) is
    restored, null stays null; afterwards a thread name is storable."""
    every = db._migration_files()
    monkeypatch.setattr(db, "_migration_files", lambda: [m for m in every if m[0] < THREAD_ID_TEXT])
    conn = await asyncpg.connect(empty_database_url)
    try:
        await db.migrate(conn)
        now = datetime.now(timezone.utc)
        insert = (
            "INSERT INTO logs (project_id, timestamp, event_id, received_at, level, service,"
            " environment, message, thread_id) VALUES (1, $1, $2, $1, 'INFO', 's', 'e', $3, $4)"
        )
        for message, ident in (("signed", 140245), ("unsigned", -1), ("none", None)):
            await conn.execute(insert, now, uuid.uuid4(), message, ident)
        monkeypatch.setattr(db, "_migration_files", lambda: every)
        assert [name for name in await db.migrate(conn) if name.startswith("0200")]
        # A new statement: the cached one was prepared for a bigint parameter.
        await conn.execute(insert + " -- text", now, uuid.uuid4(), "named", "MainThread")
        rows = dict(await conn.fetch("SELECT message, thread_id FROM logs"))
    finally:
        await conn.close()
    assert rows == {
        "signed": "140245",
        "unsigned": "18446744073709551615",
        "none": None,
        "named": "MainThread",
    }
