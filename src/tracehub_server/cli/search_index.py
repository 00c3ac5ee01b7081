"""``tracehub search-index enable|disable|status``: the opt-in trigram index for ``q``.

See :mod:`tracehub_server.storage.search_index` for the trade-off: instant rare-term search
against about half the ingest throughput.
"""

from __future__ import annotations

import asyncpg
import click

from tracehub_server.cli._common import one_line_errors, settings_from, with_connection
from tracehub_server.storage.search_index import IndexState


def _describe(state: IndexState) -> str:
    if not state.exists:
        return "search index: off (full-text search uses the budgeted scan)"
    health = "valid" if state.valid else "incomplete: re-run enable"
    return f"search index: on, {state.covered}/{state.partitions} partitions ({health})"


@click.group("search-index")
def search_index() -> None:
    """The optional pg_trgm index for full-text search (faster q, slower ingest)."""


@search_index.command("enable")
@click.pass_context
@one_line_errors
def enable_cmd(ctx: click.Context) -> None:
    """Build the index partition by partition (CREATE INDEX CONCURRENTLY; writes go on)."""
    from tracehub_server.storage import search_index as store

    async def run(conn: asyncpg.Connection) -> IndexState:
        return await store.enable(conn, progress=lambda m: click.echo(m, err=True))

    click.echo(_describe(with_connection(settings_from(ctx), run)))


@search_index.command("disable")
@click.pass_context
@one_line_errors
def disable_cmd(ctx: click.Context) -> None:
    """Drop the index: ingest gets its full speed back, rare-term search is budgeted again."""
    from tracehub_server.storage import search_index as store

    existed = with_connection(settings_from(ctx), store.disable)
    click.echo("search index dropped" if existed else "search index was not enabled")


@search_index.command("status")
@click.pass_context
@one_line_errors
def status_cmd(ctx: click.Context) -> None:
    """Say whether the index exists and how many partitions it covers."""
    from tracehub_server.storage import search_index as store

    click.echo(_describe(with_connection(settings_from(ctx), store.index_state)))
