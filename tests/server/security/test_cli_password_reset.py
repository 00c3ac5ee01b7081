"""``tracehub user set-password``: an administrator's reset ends sessions and revokes tokens."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg

from tracehub_server.auth import sessions, tokens
from tracehub_server.auth.passwords import hash_password
from tracehub_server.storage.users import create_user

TRACEHUB = [sys.executable, "-c", "from tracehub_server.cli import main; main()"]


def _tracehub(home: Path, dsn: str, *args: str, stdin: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "TRACEHUB_DATABASE_URL": dsn, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [*TRACEHUB, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_a_reset_revokes_tokens_and_sessions(tmp_path: Path, migrated_database_url: str) -> None:
    """After set-password the user's token and session no longer work; a common password is
    refused."""
    email = f"reset-{secrets.token_hex(4)}@example.com"

    async def seed() -> tuple[str, str]:
        conn = await asyncpg.connect(migrated_database_url)
        try:
            user = await create_user(conn, email, hash_password("an old long phrase"))
            _, token = await tokens.create_token(conn, user.id, name="ci")
            session, _ = await sessions.create_session(conn, user.id)
            return token, session
        finally:
            await conn.close()

    async def still_valid(token: str, session: str) -> tuple[bool, bool]:
        conn = await asyncpg.connect(migrated_database_url)
        try:
            by_token = await tokens.authenticate_token(conn, token) is not None
            by_session = await sessions.load_session(conn, session) is not None
            return by_token, by_session
        finally:
            await conn.close()

    token, session = asyncio.run(seed())
    weak = _tracehub(
        tmp_path, migrated_database_url, "user", "set-password", email, stdin="password1\n"
    )
    assert weak.returncode == 1
    assert "common" in weak.stderr
    done = _tracehub(
        tmp_path, migrated_database_url, "user", "set-password", email, stdin="a new long phrase\n"
    )
    assert done.returncode == 0, done.stderr
    assert "1 access token(s) revoked" in done.stdout
    assert asyncio.run(still_valid(token, session)) == (False, False)
