"""SDK -> API -> RabbitMQ -> worker -> PostgreSQL with real processes: exactly once, always."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import httpx
import pytest
from e2e_helpers import TcpProxy, env_for, free_port, query, start, stop, wait_healthy, wait_until

from tracehub import TraceHubLogger

pytestmark = pytest.mark.slow

LEVELS = ("debug", "info", "warn", "error", "fatal")


def _logger(endpoint: str, key: str, tmp_path: Path, **options) -> TraceHubLogger:
    return TraceHubLogger(
        api_key=key,
        service="e2e",
        environment="test",
        endpoint=endpoint,
        flush_interval=0.2,
        dlq_path=tmp_path / "dlq",
        **options,
    )


def _send(logger: TraceHubLogger, count: int, *, offset: int = 0) -> None:
    for i in range(offset, offset + count):
        level = LEVELS[i % len(LEVELS)]
        if level in ("error", "fatal"):
            kind = i % 3
            getattr(logger, level)(
                f"failure {i}",
                error_message=f"bad thing number {i} happened",
                stack_trace=f'Traceback (most recent call last):\n  File "app{kind}.py", '
                f"line {10 + i % 7}, in handler{kind}\nError{kind}: bad thing",
                extra={"i": i},
            )
        else:
            getattr(logger, level)(f"entry {i}", module="e2e", extra={"i": i})


def _close_delivering(
    logger: TraceHubLogger, endpoint: str, key: str, tmp_path: Path, count: int
) -> int:
    """Close ``logger`` and return how many entries reach the server in all.

    A server slowed past the SDK's ``timeout`` (a loaded machine) makes the logger
    dead-letter what it holds, and ``close()`` leaves that on disk for the application's
    next process. So does this: a successor on the same dead-letter directory logs one
    entry, whose delivery starts the replay, and is closed once it has replayed the rest.
    """
    logger.close(timeout=120)
    stats = logger.stats()
    assert stats.lost == 0, stats
    left = stats.dead_lettered - stats.replayed
    if stats.sent + stats.replayed == count and not left:
        return count
    successor = _logger(endpoint, key, tmp_path)
    try:
        successor.info("the next process")
        wait_until(lambda: successor.stats().replayed >= left, timeout=120, what="the dead letters")
    finally:
        successor.close(timeout=60)
    assert stats.sent + stats.replayed + successor.stats().replayed == count, stats
    return count + 1


def _stored(dsn: str, project_id: int) -> tuple[int, int]:
    total = query(dsn, "SELECT count(*) FROM logs WHERE project_id = $1", project_id)
    distinct = query(
        dsn, "SELECT count(DISTINCT event_id) FROM logs WHERE project_id = $1", project_id
    )
    return total, distinct


def _errors_counted(dsn: str, project_id: int) -> int:
    return query(
        dsn, "SELECT coalesce(sum(event_count), 0) FROM issues WHERE project_id = $1", project_id
    )


def test_ten_thousand_entries_are_stored_exactly_once(
    tmp_path, pipeline_env, project_key, api_server, migrated_database_url
) -> None:
    """10,000 entries of every level arrive once each, and every error is counted once."""
    project_id, key = project_key
    worker = start(["worker"], pipeline_env, tmp_path / "worker.log")
    try:
        logger = _logger(api_server, key, tmp_path, max_buffer=20_000)
        _send(logger, 10_000)
        total = _close_delivering(logger, api_server, key, tmp_path, 10_000)
        wait_until(
            lambda: _stored(migrated_database_url, project_id) == (total, total),
            timeout=120,
            what="10,000 rows",
        )
        levels = query(
            migrated_database_url,
            "SELECT count(DISTINCT level) FROM logs WHERE project_id = $1",
            project_id,
        )
        assert levels == 5
        assert _errors_counted(migrated_database_url, project_id) == 4_000
    finally:
        stop(worker)


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    tmp_path, pipeline_env, project_key, api_server, migrated_database_url
) -> None:
    """SIGKILL a worker mid-batch and restart it: exact row and issue counts."""
    project_id, key = project_key
    logger = _logger(api_server, key, tmp_path, max_buffer=30_000)
    _send(logger, 20_000)
    # Everything is queued (202) before any worker runs.
    total = _close_delivering(logger, api_server, key, tmp_path, 20_000)

    worker = start(["worker"], pipeline_env, tmp_path / "worker1.log")
    wait_until(
        lambda: _stored(migrated_database_url, project_id)[0] > 0,
        timeout=60,
        what="the first committed batch",
    )
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(30)
    replacement = start(["worker"], pipeline_env, tmp_path / "worker2.log")
    try:
        wait_until(
            lambda: _stored(migrated_database_url, project_id) == (total, total),
            timeout=180,
            what="20,000 rows after the restart",
        )
        assert _errors_counted(migrated_database_url, project_id) == 8_000
        issues = query(
            migrated_database_url, "SELECT count(*) FROM issues WHERE project_id = $1", project_id
        )
        assert issues == 3
    finally:
        stop(replacement)


def test_broker_outage_answers_503_and_the_sdk_delivers_later(
    tmp_path, pipeline_env, project_key, migrated_database_url, amqp_url
) -> None:
    """With RabbitMQ unreachable the API answers 503; the SDK pauses, spills to disk and
    replays once the broker is back; nothing is lost."""
    project_id, key = project_key
    proxy = TcpProxy(5672)
    proxy.start()
    env = dict(pipeline_env, TRACEHUB_AMQP_URL=amqp_url.replace(":5672", f":{proxy.port}"))
    port = free_port()
    server = start(["server", "--port", str(port)], env, tmp_path / "server.log")
    worker = start(["worker"], pipeline_env, tmp_path / "worker.log")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(port, server, tmp_path / "server.log")
        proxy.stop()
        response = httpx.post(
            f"{endpoint}/api/v1/ingest",
            json=[{"level": "INFO", "message": "x"}],
            headers={"X-API-Key": key},
            timeout=30,
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert httpx.get(f"{endpoint}/readyz", timeout=30).status_code == 503

        logger = _logger(
            endpoint, key, tmp_path, max_retries=50, retry_backoff=0.1, max_backoff=0.5
        )
        _send(logger, 1_000)
        wait_until(
            lambda: logger.stats().dead_lettered > 0, timeout=30, what="a spill during the 503s"
        )
        proxy.start()
        wait_until(
            lambda: _stored(migrated_database_url, project_id) == (1_000, 1_000),
            timeout=120,
            what="1,000 rows after the outage",
        )
        logger.close(timeout=30)
        assert logger.stats().lost == 0
    finally:
        stop(server)
        stop(worker)
        proxy.stop()


def test_embedded_default_receives_from_the_sdk(tmp_path: Path) -> None:
    """`tracehub server` with no configuration stores what the SDK sends (202 = committed)."""
    pgserver = pytest.importorskip("pgserver")
    # As root, pgserver runs PostgreSQL as its own user, which cannot enter pytest's
    # private tmp_path; a fresh world-traversable directory works for both cases.
    scratch = Path(tempfile.mkdtemp(prefix="tracehub-embedded-"))
    scratch.chmod(0o755)
    data_dir = scratch / "data"
    env = env_for(tmp_path, TRACEHUB_DATA_DIR=str(data_dir))
    port = free_port()
    log = tmp_path / "embedded.log"
    server = start(["server", "--port", str(port)], env, log)
    handle = None
    try:
        wait_healthy(port, server, log, timeout=180)
        from e2e_helpers import create_project

        project_id, key = create_project(tmp_path, env, "embedded")
        logger = _logger(f"http://127.0.0.1:{port}", key, tmp_path)
        _send(logger, 500)
        logger.close(timeout=60)
        assert logger.stats().sent == 500
        handle = pgserver.get_server(data_dir / "pgdata")
        assert _stored(handle.get_uri(), project_id) == (500, 500)
    finally:
        stop(server)
        if handle is not None:
            handle.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
