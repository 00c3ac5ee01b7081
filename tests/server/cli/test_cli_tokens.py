"""``tracehub token create``: prints a working token once; unknown users fail cleanly."""

from __future__ import annotations

import secrets

import asyncpg
from click.testing import CliRunner

from tracehub_server.auth.tokens import authenticate_token
from tracehub_server.cli import cli
from tracehub_server.storage.users import create_user


async def test_token_create_prints_a_usable_token(migrated_database_url: str) -> None:
    """The printed token authenticates as the user; an unknown email exits 1 with one line."""
    email = f"cli-{secrets.token_hex(4)}@example.com"
    conn = await asyncpg.connect(migrated_database_url)
    try:
        user = await create_user(conn, email, "x")
        runner = CliRunner()
        args = ["--database-url", migrated_database_url, "token", "create"]
        result = await _invoke(runner, [*args, email, "--name", "ci"])
        assert result.exit_code == 0, result.output
        token = result.output.strip()
        assert token.startswith("thp_")
        assert (await authenticate_token(conn, token)).id == user.id
        result = await _invoke(runner, [*args, "nobody@example.com"])
        assert result.exit_code == 1
        assert "no user" in result.output
    finally:
        await conn.close()


async def _invoke(runner: CliRunner, args: list[str]):
    # The command runs its own event loop, so it runs in a thread beside this test's loop.
    import asyncio

    return await asyncio.to_thread(runner.invoke, cli, args)
