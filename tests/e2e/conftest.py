"""Fixtures for end-to-end tests: the full pipeline's settings on this run's database/vhost."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import create_project, env_for, free_port, start, stop, wait_healthy


@pytest.fixture
def pipeline_env(tmp_path: Path, migrated_database_url: str, amqp_url: str) -> dict[str, str]:
    """Environment of API and worker processes: this run's database, vhost, a private queue."""
    return env_for(
        tmp_path,
        TRACEHUB_DATABASE_URL=migrated_database_url,
        TRACEHUB_AMQP_URL=amqp_url,
        TRACEHUB_QUEUE_NAME=f"e2e_{secrets.token_hex(6)}",
        TRACEHUB_WORKER_BATCH_SECONDS="0.02",
    )


@pytest.fixture
def project_key(tmp_path: Path, pipeline_env: dict[str, str]) -> tuple[int, str]:
    """A project created with the real CLI: (id, API key)."""
    return create_project(tmp_path, pipeline_env, f"e2e-{secrets.token_hex(4)}")


@pytest.fixture
def api_server(tmp_path: Path, pipeline_env: dict[str, str]) -> Iterator[str]:
    """A real ``tracehub server`` publishing to RabbitMQ; yields its base URL."""
    port = free_port()
    log = tmp_path / "server.log"
    process = start(["server", "--port", str(port)], pipeline_env, log)
    try:
        wait_healthy(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
