"""``tracehub demo``: fill a project with a realistic week, so a newcomer sees TraceHub work.

The entries go through the same validation and digest as ingested ones (issues, rollups,
regressions), straight into the database: no server or API key is needed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import asyncpg
import click

from tracehub_server.cli._common import (
    CommandError,
    database_url,
    one_line_errors,
    settings_from,
)

#: Entries handed to the digest at once (one transaction each).
BATCH = 500


async def _digest(url: str, project_id: int, entries: list[dict[str, Any]], days: int) -> int:
    from tracehub_server.api.validation import EntryValidator
    from tracehub_server.queue.messages import IngestBatch
    from tracehub_server.storage.db import create_pool
    from tracehub_server.worker.digest import digest

    validator = EntryValidator(retention_days=days)
    pool = await create_pool(url, max_size=2)
    stored = 0
    try:
        for i in range(0, len(entries), BATCH):
            valid, rejected = validator.validate(entries[i : i + BATCH], datetime.now(timezone.utc))
            if rejected:
                raise CommandError(f"demo entry rejected: {rejected[0]['error']}")
            await digest(pool, [IngestBatch(project_id=project_id, entries=valid)])
            stored += len(valid)
    finally:
        await pool.close()
    return stored


@click.command()
@click.option("--project", "name", default="demo", show_default=True, help="Project to fill.")
@click.option("--seed", default=16, show_default=True, help="Another seed, another week.")
@click.pass_context
@one_line_errors
def demo(ctx: click.Context, name: str, seed: int) -> None:
    """Fill project NAME (created if missing) with a realistic week of logs and errors."""
    from tracehub_server.cli.demo_data import build_week
    from tracehub_server.storage import demo as demo_store
    from tracehub_server.storage import projects as project_store
    from tracehub_server.storage.db import migrate

    settings = settings_from(ctx)
    url = database_url(settings)
    week = build_week(datetime.now(timezone.utc), seed=seed)

    async def run() -> tuple[int, bool, int]:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
            project = await project_store.get_project_by_name(conn, name)
            created = project is None
            if project is None:
                try:
                    project = await project_store.create_project(conn, name)
                except ValueError as exc:
                    raise CommandError(str(exc)) from None
            days = settings.retention_days
            stored = await _digest(url, project.id, week.before_fix, days)
            await demo_store.resolve_issue_at(conn, project.id, week.regression, week.fixed_at)
            stored += await _digest(url, project.id, week.after_fix, days)
            return project.id, created, stored
        finally:
            await conn.close()

    project_id, created, stored = asyncio.run(run())
    click.echo(f"project {name!r} (id {project_id}){' created' if created else ''}")
    click.echo(f"stored {stored:,} entries over the last 7 days, from 4 services")
    click.echo(f"open it at /projects/{project_id} (a {week.regression} came back: a regression)")
