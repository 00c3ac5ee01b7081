"""``tracehub user create`` and ``tracehub user set-password`` (the administrator's reset).

A reset (someone else sets the password) ends every session of the user and revokes every
personal access token: whoever knew the old password may have minted one.
"""

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


def _new_password_hash(email: str) -> str:
    """Read EMAIL's new password, check it against the policy and hash it."""
    from tracehub_server.auth.passwords import check_new_password, hash_password

    try:
        password = _read_password()
        check_new_password(password, email=email)
        return hash_password(password)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


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
    from tracehub_server.storage.users import create_user

    password_hash = _new_password_hash(email)

    async def create(conn: asyncpg.Connection) -> int:
        try:
            return (await create_user(conn, email, password_hash, is_admin=admin)).id
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    user_id = with_connection(settings_from(ctx), create)
    click.echo(f"user id: {user_id}")


@user.command("set-password")
@click.argument("email")
@click.pass_context
@one_line_errors
def user_set_password(ctx: click.Context, email: str) -> None:
    """Reset EMAIL's password (prompt, or stdin when piped); ends their sessions and tokens."""
    from tracehub_server.storage import sessions, tokens
    from tracehub_server.storage.users import get_user_by_email, set_password

    password_hash = _new_password_hash(email)

    async def reset(conn: asyncpg.Connection) -> int:
        found = await get_user_by_email(conn, email)
        if found is None:
            raise CommandError(f"no user with email {email!r}")
        async with conn.transaction():
            await set_password(conn, found.id, password_hash)
            await sessions.delete_user_sessions(conn, found.id, keep_token_hash=None)
            return await tokens.revoke_user_tokens(conn, found.id)

    revoked = with_connection(settings_from(ctx), reset)
    click.echo(f"password set; sessions ended; {revoked} access token(s) revoked")
