"""The ``tracehub`` command: server, worker, migrations, projects, keys, users, the DLQ, and
the optional full-text search index.

Every command reads ``TRACEHUB_*`` settings (flags override them), prints errors as one
``error: ...`` line and exits non-zero: 2 for configuration and start-up problems, 1 when
the command could not do what was asked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracehub_server.cli.accounts import user
from tracehub_server.cli.demo import demo
from tracehub_server.cli.dlq import dlq
from tracehub_server.cli.projects import apikey, project
from tracehub_server.cli.search_index import search_index
from tracehub_server.cli.serve import migrate, server, worker
from tracehub_server.cli.tokens import token


@click.group()
@click.option("--database-url", default=None, help="PostgreSQL URL (TRACEHUB_DATABASE_URL).")
@click.option("--amqp-url", default=None, help="RabbitMQ URL (TRACEHUB_AMQP_URL).")
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Embedded data directory (TRACEHUB_DATA_DIR, ~/.tracehub).",
)
@click.version_option(package_name="tracehub-server", prog_name="tracehub")
def cli(database_url: str | None, amqp_url: str | None, data_dir: Path | None) -> None:
    """TraceHub: self-hosted log ingestion and error tracking."""


for _command in (server, worker, migrate, project, apikey, user, token, dlq, search_index, demo):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point; usage errors too are one ``error:`` line."""
    try:
        cli.main(prog_name="tracehub", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)


__all__ = ["cli", "main"]
