"""``tracehub project ...`` and ``tracehub apikey ...``."""

from __future__ import annotations

import asyncpg
import click

from tracehub_server.cli._common import (
    CommandError,
    one_line_errors,
    settings_from,
    with_connection,
)
from tracehub_server.storage import projects as store


def _parse_id(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) == 0:
        raise CommandError(f"{what} must be a positive integer, got {value[:40]!r}")
    return int(value)


async def _find_project(conn: asyncpg.Connection, ref: str) -> store.Project:
    """A project by id (digits) or name."""
    project = None
    if ref.isascii() and ref.isdigit() and len(ref) <= 19:
        project = await store.get_project(conn, int(ref))
    if project is None:
        project = await store.get_project_by_name(conn, ref)
    if project is None:
        raise CommandError(f"no project with id or name {ref[:100]!r}")
    return project


@click.group()
def project() -> None:
    """Manage projects."""


@project.command("create")
@click.argument("name")
@click.pass_context
@one_line_errors
def project_create(ctx: click.Context, name: str) -> None:
    """Create project NAME and print its id and a first API key."""

    async def create(conn: asyncpg.Connection) -> tuple[store.Project, str]:
        try:
            async with conn.transaction():
                created = await store.create_project(conn, name)
                _, key = await store.create_api_key(conn, created.id, name="default")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return created, key

    created, key = with_connection(settings_from(ctx), create)
    click.echo(f"project id: {created.id}")
    click.echo(f"project name: {created.name}")
    click.echo(f"api key: {key}")
    click.echo("(the key is shown only once)", err=True)


@project.command("list")
@click.pass_context
@one_line_errors
def project_list(ctx: click.Context) -> None:
    """List projects."""
    projects = with_connection(settings_from(ctx), store.list_projects)
    if not projects:
        click.echo("no projects yet: create one with `tracehub project create NAME`", err=True)
        return
    click.echo("id\tname\tcreated")
    for item in projects:
        click.echo(f"{item.id}\t{item.name}\t{item.created_at.isoformat()}")


@click.group()
def apikey() -> None:
    """Manage API keys."""


@apikey.command("create")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--name", default="", help="A label shown in listings.")
@click.pass_context
@one_line_errors
def apikey_create(ctx: click.Context, project_ref: str, name: str) -> None:
    """Create an API key for PROJECT (id or name) and print it once."""

    async def create(conn: asyncpg.Connection) -> tuple[store.ApiKey, str]:
        found = await _find_project(conn, project_ref)
        try:
            return await store.create_api_key(conn, found.id, name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    created, key = with_connection(settings_from(ctx), create)
    click.echo(f"key id: {created.id}")
    click.echo(f"api key: {key}")


@apikey.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.pass_context
@one_line_errors
def apikey_list(ctx: click.Context, project_ref: str) -> None:
    """List PROJECT's keys (prefixes only: keys are stored as hashes)."""

    async def listing(conn: asyncpg.Connection) -> list[store.ApiKey]:
        return await store.list_api_keys(conn, (await _find_project(conn, project_ref)).id)

    click.echo("id\tprefix\tname\tcreated\tlast used\tstatus")
    for key in with_connection(settings_from(ctx), listing):
        used = key.last_used_at.isoformat() if key.last_used_at else "never"
        status = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.prefix}...\t{key.name}\t{key.created_at.isoformat()}\t{used}\t{status}"
        )


@apikey.command("revoke")
@click.argument("key_id")
@click.pass_context
@one_line_errors
def apikey_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke key KEY_ID (ingest refuses it within api_key_cache_seconds)."""
    ident = _parse_id(key_id, "KEY_ID")

    async def revoke(conn: asyncpg.Connection) -> bool:
        return await store.revoke_api_key(conn, ident)

    if not with_connection(settings_from(ctx), revoke):
        raise CommandError(f"no API key with id {ident}")
    click.echo(f"revoked key {ident}")
