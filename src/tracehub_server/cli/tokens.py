"""``tracehub token create EMAIL``: a personal access token for the JSON API.

The token is printed once, alone on stdout (so ``TOKEN=$(tracehub token create me@x.io)``
works); only its SHA-256 digest is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
import click

from tracehub_server.cli._common import (
    CommandError,
    one_line_errors,
    settings_from,
    with_connection,
)


@click.group()
def token() -> None:
    """Manage personal access tokens (Authorization: Bearer thp_...)."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label shown in listings.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Expire the token after this many days (default: 90).",
)
@click.pass_context
@one_line_errors
def token_create(ctx: click.Context, email: str, name: str, expires_in_days: int | None) -> None:
    """Create a token acting as user EMAIL and print it (shown only this once)."""
    from tracehub_server.auth.tokens import create_token
    from tracehub_server.storage.users import get_user_by_email

    expires_at = (
        datetime.now(timezone.utc) + timedelta(days=expires_in_days) if expires_in_days else None
    )

    async def create(conn: asyncpg.Connection) -> str:
        user = await get_user_by_email(conn, email)
        if user is None:
            raise CommandError(f"no user with email {email!r}; create it with tracehub user create")
        try:
            _, plaintext = await create_token(conn, user.id, name=name, expires_at=expires_at)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return plaintext

    click.echo(with_connection(settings_from(ctx), create))
