"""``tracehub user create`` (used until the dashboard's ``cli/users.py`` provides it)."""

from __future__ import annotations

import sys

import asyncpg
import click

from tracehub_server.cli._common import (
    CommandError,
    one_line_errors,
    settings_from,
    with_connection,
)


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group()
def user() -> None:
    """Manage dashboard users."""


@user.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.pass_context
@one_line_errors
def user_create(ctx: click.Context, email: str, admin: bool) -> None:
    """Create user EMAIL; the password is read from a prompt, or stdin when piped."""
    from tracehub_server.auth.passwords import hash_password
    from tracehub_server.storage.users import create_user

    try:
        password_hash = hash_password(_read_password())
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    async def create(conn: asyncpg.Connection) -> int:
        try:
            return (await create_user(conn, email, password_hash, is_admin=admin)).id
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    user_id = with_connection(settings_from(ctx), create)
    click.echo(f"user id: {user_id}")
