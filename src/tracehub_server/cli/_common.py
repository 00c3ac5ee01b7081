"""Shared plumbing of the CLI commands: settings, one-line errors, database access."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import click

from tracehub_server.settings import ConfigError, Settings, load_settings

T = TypeVar("T")

#: Exit status for configuration and start-up errors (bad URL, unreachable service).
EXIT_CONFIG = 2
#: Exit status for a command that could not do what was asked (unknown project...).
EXIT_FAILED = 1


class CommandError(Exception):
    """The command failed for a reason the user can act on; printed as one line."""


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def one_line_errors(func: Callable[..., T]) -> Callable[..., T]:
    """Print ``error: ...`` and exit non-zero instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), EXIT_CONFIG)
        except CommandError as exc:
            fail(str(exc), EXIT_FAILED)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            fail(f"{type(exc).__name__}: {exc}", EXIT_FAILED)
        raise AssertionError("unreachable")

    return wrapper


def settings_from(ctx: click.Context, **flags: Any) -> Settings:
    """Settings from the environment, the root group's flags and this command's flags."""
    root = ctx.find_root().params
    return load_settings(
        database_url=root.get("database_url"),
        amqp_url=root.get("amqp_url"),
        data_dir=root.get("data_dir"),
        **flags,
    )


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pgserver narrates every pg_ctl call at INFO; its problems still show at WARNING.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, logging.getLogger().level))


def database_url(settings: Settings) -> str:
    """The checked (reachable) database URL, embedded PostgreSQL started if needed."""
    from tracehub_server.cli._checks import check_database
    from tracehub_server.embedded import resolve_database_url

    url = resolve_database_url(settings)
    asyncio.run(check_database(url))
    return url


def with_connection(
    settings: Settings,
    action: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    migrate_first: bool = True,
) -> T:
    """Run ``action`` on a migrated connection to the configured (or embedded) database.

    ``migrate_first=False`` is for ``tracehub migrate`` itself, which must see (and report)
    what it applies.
    """
    from tracehub_server.storage.db import migrate

    url = database_url(settings)

    async def run() -> T:
        conn = await asyncpg.connect(url)
        try:
            if migrate_first:
                await migrate(conn)
            return await action(conn)
        finally:
            await conn.close()

    return asyncio.run(run())
