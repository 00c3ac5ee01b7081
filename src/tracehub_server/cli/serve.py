"""``tracehub server``, ``tracehub worker`` and ``tracehub migrate``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from datetime import timezone
from typing import TYPE_CHECKING, Any

import click

from tracehub_server.cli._checks import check_broker
from tracehub_server.cli._common import (
    CommandError,
    database_url,
    one_line_errors,
    settings_from,
    setup_logging,
    with_connection,
)
from tracehub_server.settings import ConfigError, Settings

if TYPE_CHECKING:
    import asyncpg

    from tracehub_server.storage.db import AppliedMigration

#: Seconds uvicorn lets requests in flight finish after SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 30
#: Allocations between young-generation collections (Python's default is 700). Ingest
#: makes hundreds of thousands of short-lived dicts and strings a second and almost no
#: reference cycles; at the default, the cyclic collector took ~15 % of the worker's
#: decode-and-convert time.
GC_THRESHOLDS = (50_000, 20, 20)


def _tune_gc() -> None:
    """Collect cycles less often, and never re-scan what start-up allocated."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _check_broker(settings: Settings) -> None:
    if settings.amqp_url:
        asyncio.run(
            check_broker(
                settings.amqp_url,
                queue_name=settings.queue_name,
                queue_type=settings.queue_type,
                attempts=settings.max_delivery_attempts,
            )
        )


def _export(settings: Settings, url: str) -> None:
    """Hand the resolved settings to uvicorn's worker processes through the environment."""
    for name, value in settings.model_dump(exclude_none=True).items():
        os.environ[f"TRACEHUB_{name.upper()}"] = str(value)
    os.environ["TRACEHUB_DATABASE_URL"] = url


@click.command()
@click.option("--host", default=None, help="Interface to bind (TRACEHUB_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (TRACEHUB_PORT, 8000).")
@click.option("--workers", default=None, type=int, help="HTTP processes (TRACEHUB_WORKERS, 1).")
@click.pass_context
@one_line_errors
def server(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the HTTP API (ingest, query API, dashboard)."""
    import uvicorn

    settings = settings_from(ctx, host=host, port=port, workers=workers)
    setup_logging(settings)
    url = database_url(settings)
    _check_broker(settings)
    with_connection(settings.model_copy(update={"database_url": url}), _noop)
    settings = settings.model_copy(update={"database_url": url})
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        # One line per request is thousands of lines a second under ingest load; requests
        # are counted in /metrics instead.
        "access_log": False,
        # uvicorn trusts 127.0.0.1's X-Forwarded-For by default; only the listed proxies here.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
    }
    _exit_cleanly_after_sigterm()
    if settings.workers == 1:
        from tracehub_server.app import create_app

        app = create_app(settings)
        _tune_gc()
        uvicorn.run(app, **common)
        return
    _export(settings, url)
    with _shared_metrics_dir():
        uvicorn.run(
            "tracehub_server.cli.serve:tuned_app_from_environment",
            factory=True,
            workers=settings.workers,
            **common,
        )


@contextlib.contextmanager
def _shared_metrics_dir() -> Iterator[None]:
    """A directory where every ``--workers`` process writes its metrics, removed at exit.

    prometheus_client's multiprocess mode: a scrape answered by any process then reports
    the sum over all of them, not that one process's share. A ``PROMETHEUS_MULTIPROC_DIR``
    the operator set is used as it is (and kept).
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    path = tempfile.mkdtemp(prefix="tracehub-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


def tuned_app_from_environment() -> Any:
    """The app factory each ``--workers N`` process runs: the app, then the GC tuning."""
    from tracehub_server.app import app_from_environment

    app = app_from_environment()
    _tune_gc()
    return app


def _exit_cleanly_after_sigterm() -> None:
    """Make the re-raised SIGTERM after uvicorn's graceful shutdown a normal exit.

    uvicorn drains requests in flight, runs the lifespan shutdown, restores the previous
    handler and re-raises the signal. With this handler that ends in ``sys.exit``, so
    ``atexit`` hooks run -- the embedded PostgreSQL is stopped when its last user exits.
    """
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


async def _noop(conn: object) -> None:
    """Nothing: ``with_connection`` has applied the migrations already."""


@click.command()
@click.option("--metrics-port", default=None, type=int, help="Serve Prometheus metrics here.")
@click.pass_context
@one_line_errors
def worker(ctx: click.Context, metrics_port: int | None) -> None:
    """Consume ingest batches from RabbitMQ into PostgreSQL (run any number)."""
    from tracehub_server.worker.runner import run_worker

    settings = settings_from(ctx, metrics_port=metrics_port)
    if not settings.amqp_url:
        raise ConfigError(
            "tracehub worker needs TRACEHUB_AMQP_URL (without it, tracehub server digests "
            "batches itself and no worker is needed)"
        )
    setup_logging(settings)
    url = database_url(settings)
    _check_broker(settings)
    _tune_gc()
    _run_fast(run_worker(settings.model_copy(update={"database_url": url})))


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when installed (uvicorn[standard] installs it), else asyncio.

    The worker's time is largely socket I/O with RabbitMQ and PostgreSQL, which uvloop's
    transports do in C; the API already runs on uvloop through uvicorn.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    run = getattr(uvloop, "run", None)  # uvloop >= 0.18
    if run is None:
        asyncio.run(main)
        return
    run(main)


async def _migrate_and_list(conn: asyncpg.Connection) -> tuple[list[str], list[AppliedMigration]]:
    from tracehub_server.storage.db import migrate as apply
    from tracehub_server.storage.db import migration_history

    applied = await apply(conn)
    return applied, await migration_history(conn)


@click.command()
@click.pass_context
@one_line_errors
def migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations (safe while other processes start).

    Lists every migration with the time it was applied, so a database that ``tracehub
    server`` had already migrated at start-up still shows what was done and when.
    """
    applied, history = with_connection(settings_from(ctx), _migrate_and_list, migrate_first=False)
    width = max((len(m.name) for m in history), default=0)
    for m in history:
        when = f"{m.applied_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
        now = " (now)" if m.name in applied else ""
        click.echo(f"{m.name:<{width}}  applied {when}{now}")
    if applied:
        click.echo(f"applied {len(applied)} migration(s) now; the schema is up to date")
    else:
        click.echo("nothing to apply: the schema is up to date")


__all__ = ["CommandError", "migrate", "server", "worker"]
