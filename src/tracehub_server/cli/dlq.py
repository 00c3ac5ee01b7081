"""``tracehub dlq redrive``: move dead-lettered messages back to the ingest queue."""

from __future__ import annotations

import asyncio

import click

from tracehub_server.cli._common import one_line_errors, settings_from
from tracehub_server.settings import ConfigError


@click.group()
def dlq() -> None:
    """Inspect and re-drive the dead-letter queue (RabbitMQ only)."""


@dlq.command("redrive")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Move at most N.")
@click.pass_context
@one_line_errors
def dlq_redrive(ctx: click.Context, limit: int | None) -> None:
    """Republish dead-lettered messages to the ingest queue (after fixing the cause)."""
    from tracehub_server.cli._checks import check_broker
    from tracehub_server.queue.rabbitmq import Topology, redrive

    settings = settings_from(ctx)
    if not settings.amqp_url:
        raise ConfigError("dlq redrive needs TRACEHUB_AMQP_URL (the embedded mode has no queue)")
    topology = Topology.from_settings(settings)
    asyncio.run(
        check_broker(
            settings.amqp_url,
            queue_name=topology.queue_name,
            queue_type=topology.queue_type,
            attempts=topology.max_delivery_attempts,
        )
    )
    moved = asyncio.run(redrive(settings.amqp_url, topology, limit=limit))
    click.echo(f"moved {moved} message(s) from {topology.dead_queue_name} to {topology.queue_name}")
