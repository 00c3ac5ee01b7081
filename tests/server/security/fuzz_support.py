"""The two-team world the fuzzers attack: project A (the fuzzer's, as a member) and project B
(another team's), and a snapshot of everything B owns."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg
from hypothesis import HealthCheck, settings

from tracehub_server.auth.passwords import hash_password
from tracehub_server.auth.tokens import create_token
from tracehub_server.storage.projects import create_api_key, create_project
from tracehub_server.storage.users import create_user, set_membership


@dataclass(frozen=True)
class TwoTeams:
    project_a: int
    project_b: int
    token_a: str  # a member of A, nothing in B
    key_a: str


async def _make(dsn: str) -> TwoTeams:
    conn = await asyncpg.connect(dsn)
    try:
        a = await create_project(conn, f"fuzz-a-{secrets.token_hex(4)}")
        b = await create_project(conn, f"fuzz-b-{secrets.token_hex(4)}")
        hashed = hash_password(secrets.token_urlsafe(16))
        user_a = await create_user(conn, f"fuzz-a-{secrets.token_hex(4)}@example.com", hashed)
        user_b = await create_user(conn, f"fuzz-b-{secrets.token_hex(4)}@example.com", hashed)
        await set_membership(conn, a.id, user_a.id, "member")
        await set_membership(conn, b.id, user_b.id, "member")
        _, token_a = await create_token(conn, user_a.id, name="fuzz")
        _, key_a = await create_api_key(conn, a.id, name="fuzz")
        await create_api_key(conn, b.id, name="b's key")
        await conn.execute(
            "INSERT INTO issues (project_id, fingerprint, title, error_type, error_message, level,"
            " first_seen, last_seen, event_count) VALUES ($1, 'f', 'B fails', 'E', 'm', 'ERROR',"
            " now(), now(), 3)",
            b.id,
        )
        return TwoTeams(project_a=a.id, project_b=b.id, token_a=token_a, key_a=key_a)
    finally:
        await conn.close()


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings of the fuzzers: the same examples every run (derandomized, no
    example database), and no deadline or health checks, as each example is an HTTP call."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


def two_teams(dsn: str) -> TwoTeams:
    return asyncio.run(_make(dsn))


_SNAPSHOT = (
    "SELECT (SELECT row_to_json(p)::text FROM projects p WHERE id = $1),"
    " (SELECT json_agg(k ORDER BY k.id)::text FROM api_keys k WHERE project_id = $1),"
    " (SELECT json_agg(i ORDER BY i.id)::text FROM issues i WHERE project_id = $1),"
    " (SELECT json_agg(m ORDER BY m.user_id)::text FROM project_members m WHERE project_id = $1),"
    " (SELECT count(*) FROM logs WHERE project_id = $1)"
)


def snapshot(dsn: str, project_id: int) -> tuple[Any, ...]:
    """Everything the project owns, as comparable values."""

    async def take() -> tuple[Any, ...]:
        conn = await asyncpg.connect(dsn)
        try:
            return tuple(await conn.fetchrow(_SNAPSHOT, project_id))
        finally:
            await conn.close()

    return asyncio.run(take())
